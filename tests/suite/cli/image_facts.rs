//! Image facts per tag, through the binary: a tag nobody has read is said out loud (stderr,
//! GENERATED.md, the release report) and refused by `--strict`; a release's own sources beside its
//! compose folder are read; an image never moves backwards over an existing tree unless asked.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A copy of a vendored release's compose folder at `dir/docker`, with `replace` applied to its
/// compose file (image tags bumped).
fn copy_release(release: &str, dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let from = repo().join("compose").join(format!("dify-{release}"));
    let to = dir.join("docker");
    copy_dir(&from, &to);
    let file = to.join("docker-compose.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    for (old, new) in replace {
        assert!(text.contains(old), "{release}'s compose file names no {old}");
        text = text.replace(old, new);
    }
    std::fs::write(&file, text).unwrap();
    file
}

/// 1.14.1 with every one of Dify's image tags bumped: the next release, which nobody has read.
const NEXT: &[(&str, &str)] = &[
    ("langgenius/dify-api:1.14.1", "langgenius/dify-api:1.14.2"),
    ("langgenius/dify-web:1.14.1", "langgenius/dify-web:1.14.2"),
    ("langgenius/dify-sandbox:0.2.15", "langgenius/dify-sandbox:0.2.16"),
    ("langgenius/dify-plugin-daemon:0.6.0-local", "langgenius/dify-plugin-daemon:0.6.1-local"),
];

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    bin().args(args).output().expect("run compose2dify")
}

#[test]
fn the_next_release_is_said_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let compose_file = copy_release("1.14.1", dir.path(), NEXT);
    let out = dir.path().join("k8s");
    let o = run(&[compose_file.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    for (image, known) in [
        ("langgenius/dify-api:1.14.2", "1.14.1"),
        ("langgenius/dify-web:1.14.2", "1.14.1"),
        ("langgenius/dify-sandbox:0.2.16", "0.2.15"),
        ("langgenius/dify-plugin-daemon:0.6.1-local", "0.6.0-local"),
    ] {
        let said = format!("image {image} is a tag whose sources the rules have not read");
        assert!(stderr.contains(&said) && stderr.contains(&format!("the facts of {known}")), "{image}: {stderr}");
        assert!(generated.contains(&format!("Warning: {said}")), "{image}: GENERATED.md:\n{generated}");
        assert!(
            generated.contains(&format!("- `{image}`: "))
                && generated.contains(&format!("the facts of {known}, the nearest known tag")),
            "{image}: GENERATED.md:\n{generated}"
        );
    }
    // The assumption is the nearest tag's facts: the sandbox keeps 0.2.15's capabilities.
    let sandbox = std::fs::read_to_string(out.join("services/sandbox/deployment.yaml")).unwrap();
    assert!(sandbox.contains("- DAC_OVERRIDE") && sandbox.contains("- FOWNER"), "{sandbox}");

    // The release report says it too, for the reviewer of the pull request.
    let old = compose("1.14.1");
    let report = run(&["diff".as_ref(), old.as_os_str(), compose_file.as_os_str()]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("## Image facts"), "{report}");
    assert!(report.contains("⚠ image langgenius/dify-sandbox:0.2.16 is a tag whose sources"), "{report}");
    assert!(
        report.contains("| `langgenius/dify-api:1.14.2` | user 1001:1001; celery-healthcheck | **assumed**"),
        "{report}"
    );

    // --strict refuses it, and writes nothing.
    let strict_out = dir.path().join("strict");
    let strict = run(&[compose_file.as_os_str(), "-o".as_ref(), strict_out.as_os_str(), "--strict".as_ref()]);
    assert_eq!(strict.status.code(), Some(2), "{}", String::from_utf8_lossy(&strict.stderr));
    assert!(!strict_out.exists(), "--strict wrote a tree");
}

#[test]
fn known_tags_are_read_from_the_table_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let stderr = generated("1.14.1", &out, &[]);
    assert!(!stderr.contains("have not read"), "{stderr}");
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    assert!(
        generated.contains("- `langgenius/dify-sandbox:0.2.15`: user root; chowns-code; passwd-entries; python-uid-pool; uid-pool; unpacks-node; read from that tag's sources (mappings/dify-images.yaml)"),
        "{generated}"
    );
    assert!(!generated.contains("**assumed**"), "{generated}");
}

/// A Dify checkout: `docker/` beside `api/` and `web/`. The release's own sources are read when
/// their version is the image's tag, and say which facts they gave.
#[test]
fn a_checkout_s_own_sources_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let compose_file = copy_release("1.14.1", dir.path(), NEXT);
    let api = dir.path().join("api");
    std::fs::create_dir_all(&api).unwrap();
    std::fs::write(api.join("pyproject.toml"), "[project]\nname = \"dify-api\"\nversion = \"1.14.2\"\n").unwrap();
    // This release's api image went back to root (no USER) and dropped the health-check module.
    std::fs::write(api.join("Dockerfile"), "FROM python:3.12-slim-bookworm AS base\nFROM base AS production\nWORKDIR /app/api\nENTRYPOINT [\"/bin/bash\", \"/entrypoint.sh\"]\n").unwrap();
    // web's checkout is another version: its table facts (nearest tag) are used, and said.
    let web = dir.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("package.json"), "{\n  \"name\": \"dify-web\",\n  \"version\": \"1.14.0\",\n}\n").unwrap();
    let out = dir.path().join("k8s");
    let o = run(&[compose_file.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("image langgenius/dify-api:1.14.2 is a tag"), "{stderr}");
    assert!(stderr.contains("image langgenius/dify-web:1.14.2 is a tag"), "{stderr}");
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    assert!(
        generated.contains(
            "- `langgenius/dify-api:1.14.2`: user root; read from the release's own sources beside the compose folder"
        ),
        "{generated}"
    );
    assert!(generated.contains("- `../api/Dockerfile` "), "the checkout's files are inputs: {generated}");
    let api = std::fs::read_to_string(out.join("services/api/deployment.yaml")).unwrap();
    assert!(!api.contains("runAsUser: 1001"), "the checkout's Dockerfile has no USER: {api}");
    let worker = std::fs::read_to_string(out.join("services/worker/deployment.yaml")).unwrap();
    assert!(!worker.contains("celery_healthcheck"), "the checkout ships no celery_healthcheck.py: {worker}");
}

#[test]
fn an_image_never_moves_backwards_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated("1.14.1", &out, &[]);
    let before = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    let older = compose("1.8.0");

    // A regeneration over the tree with an older release.
    let o = run(&[older.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("langgenius/dify-api:1.14.1 → langgenius/dify-api:1.8.0 (older)")
            && stderr.contains(
                "langgenius/dify-plugin-daemon:0.6.0-local → langgenius/dify-plugin-daemon:0.2.0-local (older)"
            )
            && stderr.contains("--allow-downgrade"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(out.join("GENERATED.md")).unwrap(), before, "nothing written");

    // upgrade refuses it too, and to a pre-release (2.0.0-beta.2 is newer by number, but a beta).
    let up = |target: &Path, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["upgrade".as_ref(), out.as_os_str(), target.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        run(&args)
    };
    let o = up(&older, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let beta = repo().join("tests/fixtures/tags/dify-2.0.0-beta.2/docker-compose.yaml");
    let o = up(&beta, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("langgenius/dify-api:1.14.1 → langgenius/dify-api:2.0.0-beta.2 (pre-release)"), "{stderr}");
    assert!(stderr.contains("semitechnologies/weaviate:1.27.0 → semitechnologies/weaviate:1.19.0 (older)"), "{stderr}");

    // The release report marks the same lines.
    let report = run(&["diff".as_ref(), compose("1.14.1").as_os_str(), beta.as_os_str()]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("| `langgenius/dify-plugin-daemon:0.3.0b1-local` **⚠ older tag** |"), "{report}");
    assert!(report.contains("`--allow-downgrade`"), "{report}");

    // Asked for, it goes through; a newer release never needs it.
    let o = up(&older, &["--allow-downgrade"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(out.join("GENERATED.md")).unwrap().contains("- Release: 1.8.0"));
    let o = up(&compose("1.14.1"), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
