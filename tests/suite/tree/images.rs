//! Image contracts: every fact the rules assume about an image (its user, the capabilities its
//! start-up and isolation calls need, the programs a probe or init container calls) is checked
//! against a verbatim copy of the file that makes it true (`tests/fixtures/images/`, see its
//! PROVENANCE.md), for the image version each vendored release runs. A release whose Dockerfile or
//! entrypoint changes fails here instead of on a cluster. Where a real program can show it, the step
//! is run: the sandbox's privileged calls and upstream's `init_permissions` command run as root under
//! exactly the capabilities the tree grants (`setpriv`), and fail with one less.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde::Deserialize;
use yaml_serde::Value;

/// A vendored image file: `tests/fixtures/images/<image>/<version>/<path>`.
fn fixture(image: &str, version: &str, path: &str) -> String {
    let file = repo().join("tests/fixtures/images").join(image).join(version).join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e} (vendor it, see PROVENANCE.md)", file.display()))
}

fn has_fixture(image: &str, version: &str, path: &str) -> bool {
    repo().join("tests/fixtures/images").join(image).join(version).join(path).is_file()
}

/// Every object of a release's generated tree (read from the files, no kubectl needed).
fn tree(release: &str) -> Vec<Value> {
    objects_of(&made(release, &[]).files)
}

/// Every object of the tree generated from a compose file, and the tool's stderr.
fn tree_at(compose_file: &Path) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("k8s");
    let o = bin().arg(compose_file).arg("-o").arg(&out).output().expect("run compose2dify");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "compose2dify {}: {stderr}", compose_file.display());
    (objects_of(&read_files(&out)), stderr)
}

/// The objects of a generated tree's files.
fn objects_of(files: &Files) -> Vec<Value> {
    let mut docs = Vec::new();
    for (path, (bytes, _)) in files {
        let objects = path.ends_with(".yaml") || path.ends_with("secret.yaml.example");
        if !objects || path.ends_with("kustomization.yaml") {
            continue;
        }
        let text = std::str::from_utf8(bytes).expect("utf-8");
        for d in yaml_serde::Deserializer::from_str(text) {
            docs.push(Value::deserialize(d).expect("yaml"));
        }
    }
    docs
}

fn workload<'a>(docs: &'a [Value], name: &str) -> Option<&'a Value> {
    docs.iter().find(|d| {
        matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")) && d["metadata"]["name"].as_str() == Some(name)
    })
}

fn main_container(w: &Value) -> &Value {
    &w["spec"]["template"]["spec"]["containers"][0]
}

fn image_tag(c: &Value) -> String {
    let image = c["image"].as_str().expect("image");
    image.rsplit_once(':').map(|(_, t)| t.to_string()).unwrap_or_default()
}

fn added_caps(c: &Value) -> BTreeSet<String> {
    c["securityContext"]["capabilities"]["add"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The compose file of a Dify tag vendored under tests/fixtures/tags/.
fn tag_compose(tag: &str) -> PathBuf {
    repo().join("tests/fixtures/tags").join(format!("dify-{tag}")).join("docker-compose.yaml")
}

/// Every Dify tag whose compose folder is vendored (compose/ and tests/fixtures/tags/), by name.
fn every_tag() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for root in ["compose", "tests/fixtures/tags"] {
        for entry in std::fs::read_dir(repo().join(root)).expect(root).flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let file = entry.path().join("docker-compose.yaml");
            if let (Some(tag), true) = (name.strip_prefix("dify-"), file.is_file()) {
                out.push((tag.to_string(), file));
            }
        }
    }
    out.sort();
    out
}

/// Every Dify tag from 0.15.0 on, pre-releases included: its tree runs its images as the vendored
/// sources of their tags say (users, the sandbox's capabilities, the programs and scripts probes
/// call), and no tag's facts are assumed.
#[test]
fn every_dify_tag_runs_its_images_as_their_sources_say() {
    let tags = every_tag();
    for must in ["0.15.0", "1.13.3", "1.14.0-rc1", "2.0.0-beta.1", "2.0.0-beta.2", "1.14.1"] {
        assert!(tags.iter().any(|(t, _)| t == must), "{must} is not vendored");
    }
    assert!(tags.len() >= 55, "{} tags", tags.len());
    // Every tag is checked, and every failing one named, not only the first.
    let mut failing = Vec::new();
    for (tag, file) in &tags {
        let checked = std::panic::catch_unwind(|| {
            let (docs, stderr) = tree_at(file);
            assert!(!stderr.contains("sources the rules have not read"), "{tag}: a fact was assumed: {stderr}");
            dify_users_are_the_images_own(tag, &docs);
            probes_call_only_programs_their_image_has(tag, &docs);
            worker_probes_follow_what_each_release_ships(tag, &docs);
            sandbox_starts_as_root_with_only_the_capabilities_its_sources_call(tag, &docs);
        });
        if checked.is_err() {
            failing.push(tag.clone());
        }
    }
    assert!(failing.is_empty(), "these tags' trees do not follow their images' sources (see above): {failing:?}");
}

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

/// The capabilities a dify-sandbox version needs, read from its sources: the isolation calls made
/// before user code runs, and what its start-up and runner do as root.
fn sandbox_needs(version: &str) -> BTreeSet<String> {
    let mut caps = BTreeSet::new();
    for lang in ["python", "nodejs"] {
        let src = fixture("dify-sandbox", version, &format!("internal/core/lib/{lang}/add_seccomp.go"));
        if src.contains("syscall.Chroot(") {
            caps.insert("SYS_CHROOT".to_string());
        }
        if src.contains("syscall.Setuid(") {
            caps.insert("SETUID".to_string());
        }
        if src.contains("syscall.Setgid(") || src.contains("syscall.Setgroups(") {
            caps.insert("SETGID".to_string());
        }
        // The filter is installed after no_new_privs is set by the sandbox itself, so the
        // container's allowPrivilegeEscalation: false (no_new_privs from the start) changes nothing
        // and no CAP_SYS_ADMIN is needed for seccomp(2).
        let nnp = src.find("lib.SetNoNewPrivs()").unwrap_or_else(|| panic!("{version} {lang}: no SetNoNewPrivs"));
        let filter = src.find("lib.Seccomp(").unwrap_or_else(|| panic!("{version} {lang}: no lib.Seccomp"));
        assert!(nnp < filter, "{version} {lang}: the seccomp filter is installed before no_new_privs");
    }
    let runner = fixture("dify-sandbox", version, "internal/core/runner/python/python.go");
    if runner.contains("syscall.Chown(") {
        caps.insert("CHOWN".to_string()); // the code file is given to the run's uid
    }
    if runner.contains("[]byte(script), 0600)") || runner.contains("[]byte(code), 0600)") {
        // python3, still root, reads that 0600 file of another user: DAC_OVERRIDE (baseline allows
        // it; DAC_READ_SEARCH, which would be enough, baseline does not).
        caps.insert("DAC_OVERRIDE".to_string());
    }
    if has_fixture("dify-sandbox", version, "docker/entrypoint.sh") {
        let entry = fixture("dify-sandbox", version, "docker/entrypoint.sh");
        if entry.contains("tar -x") {
            // tar as root restores the archive's owners, then the modes of files it no longer owns.
            caps.insert("CHOWN".to_string());
            caps.insert("FOWNER".to_string());
        }
    }
    caps
}

/// The sandbox's Dockerfile of a version (layout changed in 0.2.15).
fn sandbox_dockerfile(version: &str) -> String {
    if has_fixture("dify-sandbox", version, "docker/templates/production.dockerfile") {
        fixture("dify-sandbox", version, "docker/templates/production.dockerfile")
    } else {
        fixture("dify-sandbox", version, "docker/amd64/dockerfile")
    }
}

/// The sandbox starts as root with exactly the capabilities its tag's sources call for.
fn sandbox_starts_as_root_with_only_the_capabilities_its_sources_call(release: &str, docs: &[Value]) {
    {
        let sandbox = workload(docs, "sandbox").unwrap_or_else(|| panic!("{release}: no sandbox"));
        let c = main_container(sandbox);
        let version = image_tag(c);
        let dockerfile = sandbox_dockerfile(&version);
        assert!(
            !dockerfile.lines().any(|l| l.trim_start().starts_with("USER ")),
            "{release}: dify-sandbox {version} now has a USER; revisit the sandbox rule"
        );
        let sc = &c["securityContext"];
        assert!(sc["runAsUser"].as_i64().is_none_or(|u| u == 0), "{release}: the sandbox must start as root: {sc:?}");
        assert_ne!(sc["runAsNonRoot"].as_bool(), Some(true), "{release}: the sandbox must start as root");
        assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false), "{release}");
        assert_eq!(sc["seccompProfile"]["type"].as_str(), Some("RuntimeDefault"), "{release}");
        assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"), "{release}");
        let needs = sandbox_needs(&version);
        assert!(needs.is_superset(&set(&["SYS_CHROOT", "SETUID", "SETGID"])), "{release}: {needs:?}");
        assert_eq!(added_caps(c), needs, "{release}: dify-sandbox {version} needs exactly {needs:?}");
        // Its seed init containers write the claims it reads: as the same root, with the same caps.
        for init in sandbox["spec"]["template"]["spec"]["initContainers"].as_sequence().into_iter().flatten() {
            assert_eq!(init["securityContext"], *sc, "{release}: {:?}", init["name"]);
        }
        // What user code runs as, from the sources (the tree's README says the same).
        let user = fixture("dify-sandbox", &version, "internal/static/user.go");
        assert!(user.contains("SANDBOX_USER_UID = 65537"), "{release}: sandbox uid changed");
        if has_fixture("dify-sandbox", &version, "internal/core/runner/uidpool/uid_pool.go") {
            let pool = fixture("dify-sandbox", &version, "internal/core/runner/uidpool/uid_pool.go");
            assert!(pool.contains("NewUIDPool(10000, 11000)"), "{release}: uid pool range changed");
        }
    }
}

/// `setpriv` as root with only `caps` (and no_new_privs, as allowPrivilegeEscalation: false), then
/// `sh -c script`; returns whether it succeeded, and its output.
fn run_with_caps(caps: &BTreeSet<String>, script: &str) -> (bool, String) {
    let bounding = bounding_set(caps);
    let o = Command::new("setpriv")
        .args(["--no-new-privs", "--inh-caps=-all", "--ambient-caps=-all", &format!("--bounding-set={bounding}")])
        .args(["--", "sh", "-c", script])
        .output()
        .expect("setpriv (util-linux) must be installed: apt-get install util-linux");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.success(), text)
}

/// setpriv's `--bounding-set` value that keeps exactly `caps`.
fn bounding_set(caps: &BTreeSet<String>) -> String {
    std::iter::once("-all".to_string())
        .chain(caps.iter().map(|c| format!("+{}", c.to_ascii_lowercase())))
        .collect::<Vec<_>>()
        .join(",")
}

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "this test runs image steps as root under chosen capabilities: run cargo test as root");
    for tool in ["setpriv", "chroot", "tar"] {
        let ok =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        assert!(ok, "{tool} is needed (apt-get install util-linux coreutils tar)");
    }
}

/// Shell steps that do what a sandbox version does as root, in `dir`.
fn sandbox_steps(version: &str, dir: &Path) -> String {
    let d = dir.display();
    // Every version: chroot, drop supplementary groups, setgid, setuid to the sandbox user
    // (GNU chroot --userspec makes the same calls, in the same order as 0.2.15's add_seccomp.go).
    let mut steps = vec!["chroot --userspec=65537:65537 / /bin/true".to_string()];
    let needs = sandbox_needs(version);
    if needs.contains("DAC_OVERRIDE") {
        // python.go: write the bootstrap 0600, give it to the run's uid, python3 (root) reads it.
        steps.push(format!(
            "printf 'print(1)' > {d}/boot.py && chmod 600 {d}/boot.py && chown 10000:65537 {d}/boot.py && cat {d}/boot.py >/dev/null"
        ));
    }
    if needs.contains("FOWNER") {
        // entrypoint.sh: tar -xvf "$NODE_TAR_XZ" -C /opt, then run node.
        steps.push(format!(
            "tar -xf {d}/node.tar -C {d}/opt && test \"$(stat -c %a {d}/opt/node/bin/node)\" = 755 && {d}/opt/node/bin/node"
        ));
    }
    steps.iter().map(|s| format!("{{ {s}; }}")).collect::<Vec<_>>().join(" && ")
}

/// An archive like Node's release tarball: files owned by a non-root user.
fn node_archive(dir: &Path) {
    let src = dir.join("src/node/bin");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dir.join("opt")).unwrap();
    std::fs::write(src.join("node"), "#!/bin/sh\nexit 0\n").unwrap();
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "chmod 755 {s}/node && tar --owner=1001 --group=1001 -cf {d}/node.tar -C {d}/src node",
            s = src.display(),
            d = dir.display()
        ))
        .status()
        .unwrap()
        .success();
    assert!(ok, "making the test archive");
}

#[test]
fn sandbox_steps_run_under_exactly_the_granted_capabilities() {
    require_root();
    // 0.2.12, 0.2.14 and 0.2.15: every way the sandbox has started.
    for compose_file in [compose("1.8.0"), tag_compose("1.13.3"), compose("1.14.1")] {
        let docs = tree_at(&compose_file).0;
        let release = compose_file.display();
        let c = main_container(workload(&docs, "sandbox").expect("sandbox"));
        let version = image_tag(c);
        let granted = added_caps(c);
        let fresh = || {
            let dir = tempfile::tempdir().unwrap();
            node_archive(dir.path());
            dir
        };
        let dir = fresh();
        let (ok, out) = run_with_caps(&granted, &sandbox_steps(&version, dir.path()));
        assert!(ok, "{release}: dify-sandbox {version}'s steps fail under {granted:?}: {out}");
        for cap in &granted {
            let mut fewer = granted.clone();
            fewer.remove(cap);
            let dir = fresh();
            let (ok, _) = run_with_caps(&fewer, &sandbox_steps(&version, dir.path()));
            assert!(!ok, "{release}: dify-sandbox {version} would not need {cap}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// init_permissions
// ---------------------------------------------------------------------------------------------

/// Upstream's one-shot: (image, command) of `init_permissions` in the release's compose file.
fn upstream_init_permissions(release: &str) -> Option<(String, Vec<String>, String)> {
    let text = std::fs::read_to_string(compose(release)).unwrap();
    let compose: Value = yaml_serde::from_str(&text).unwrap();
    let svc = &compose["services"]["init_permissions"];
    if svc.is_null() {
        return None;
    }
    let command: Vec<String> = svc["command"]
        .as_sequence()
        .expect("command list")
        .iter()
        .map(|v| v.as_str().unwrap().replace("$$", "$"))
        .collect();
    let volume = svc["volumes"][0].as_str().unwrap();
    let (src, _) = volume.split_once(':').unwrap();
    Some((svc["image"].as_str().unwrap().to_string(), command, src.to_string()))
}

/// Compose services of a release that bind-mount `src`, as workload names.
fn mounting(release: &str, src: &str) -> Vec<String> {
    let text = std::fs::read_to_string(compose(release)).unwrap();
    let compose: Value = yaml_serde::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (name, svc) in compose["services"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let mounts = svc["volumes"].as_sequence().into_iter().flatten();
        if name != "init_permissions" && mounts.filter_map(Value::as_str).any(|m| m.starts_with(&format!("{src}:"))) {
            out.push(name.replace('_', "-"));
        }
    }
    out
}

#[test]
fn init_permissions_is_an_init_container_of_every_pod_that_mounts_its_folder() {
    for release in RELEASES {
        let docs = tree(release);
        let Some((image, command, src)) = upstream_init_permissions(release) else {
            // Releases without it keep fsGroup 1001 and no init container of that name.
            for d in docs.iter().filter(|d| d["kind"].as_str() == Some("Deployment")) {
                let inits = d["spec"]["template"]["spec"]["initContainers"].as_sequence().into_iter().flatten();
                assert!(inits.into_iter().all(|i| i["name"] != "init-permissions"), "{release}");
            }
            let api = workload(&docs, "api").unwrap();
            assert_eq!(api["spec"]["template"]["spec"]["securityContext"]["fsGroup"].as_i64(), Some(1001), "{release}");
            continue;
        };
        let owners = mounting(release, &src);
        assert!(owners.contains(&"api".to_string()) && owners.contains(&"worker".to_string()), "{release}: {owners:?}");
        for name in &owners {
            let w = workload(&docs, name).unwrap_or_else(|| panic!("{release}: no {name}"));
            let spec = &w["spec"]["template"]["spec"];
            let first = &spec["initContainers"][0];
            assert_eq!(first["name"].as_str(), Some("init-permissions"), "{release} {name}: runs first");
            assert_eq!(first["image"].as_str(), Some(image.as_str()), "{release} {name}");
            let argv: Vec<&str> = first["command"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
            assert_eq!(
                argv,
                command.iter().map(String::as_str).collect::<Vec<_>>(),
                "{release} {name}: upstream's command"
            );
            let sc = &first["securityContext"];
            assert_eq!(sc["runAsUser"].as_i64(), Some(0), "{release} {name}");
            assert_eq!(added_caps(first), set(&["CHOWN", "DAC_OVERRIDE"]), "{release} {name}");
            assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
            assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
            let mount = &first["volumeMounts"][0];
            let vol = spec["volumes"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{release} {name}: init container mounts no pod volume"));
            assert_eq!(vol["persistentVolumeClaim"]["claimName"].as_str(), Some("dify-storage"), "{release} {name}");
        }
    }
}

#[test]
fn init_permissions_command_runs_under_exactly_its_capabilities() {
    require_root();
    for release in ["1.14.0", "1.14.1"] {
        let docs = tree(release);
        let api = workload(&docs, "api").unwrap();
        let init = &api["spec"]["template"]["spec"]["initContainers"][0];
        let mount_path = init["volumeMounts"][0]["mountPath"].as_str().unwrap().to_string();
        let script = init["command"][2].as_str().unwrap().to_string();
        let granted = added_caps(init);
        // A folder as a tree upgraded from a root-run release leaves it: root-owned files, and a
        // private folder of another user.
        let prepare = |dir: &Path| -> PathBuf {
            let storage = dir.join("storage");
            std::fs::create_dir_all(storage.join("upload_files/private")).unwrap();
            std::fs::write(storage.join("upload_files/a.txt"), "x").unwrap();
            let ok = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "chown -R 5000:5000 {0}/upload_files/private && chmod 700 {0}/upload_files/private",
                    storage.display()
                ))
                .status()
                .unwrap()
                .success();
            assert!(ok);
            storage
        };
        // Upstream's outcome: everything but the flag file is 1001's, and the flag file exists.
        let initialized = |storage: &Path| {
            let others = Command::new("find")
                .arg(storage)
                .args(["!", "-name", ".init_permissions", "!", "-user", "1001"])
                .output()
                .unwrap();
            storage.join(".init_permissions").is_file() && others.stdout.is_empty()
        };
        let dir = tempfile::tempdir().unwrap();
        let storage = prepare(dir.path());
        let local = script.replace(&mount_path, &storage.display().to_string());
        let (ok, out) = run_with_caps(&granted, &local);
        assert!(ok, "{release}: init_permissions fails under {granted:?}: {out}");
        assert!(initialized(&storage), "{release}: not every file is 1001's, or no flag file: {out}");
        let (ok, again) = run_with_caps(&granted, &local);
        assert!(ok && again.contains("already initialized"), "{release}: the second run is a no-op: {again}");
        for cap in &granted {
            let mut fewer = granted.clone();
            fewer.remove(cap);
            let dir = tempfile::tempdir().unwrap();
            let storage = prepare(dir.path());
            // Upstream's script ends with an echo, so judge it by what it leaves behind.
            let (ok, out) = run_with_caps(&fewer, &script.replace(&mount_path, &storage.display().to_string()));
            assert!(!(ok && initialized(&storage)), "{release}: init_permissions would not need {cap}: {out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Probes: only programs the image has
// ---------------------------------------------------------------------------------------------

/// The programs a probe's command starts: argv[0], or each simple command of an `sh -c` script.
fn programs(argv: &[&str]) -> Vec<String> {
    if argv.len() >= 3 && argv[0] == "sh" && argv[1] == "-c" {
        argv[2]
            .lines()
            .map(str::trim)
            // `case … in` and `esac` run nothing; a pattern line runs what follows its `)`.
            .filter(|l| !(l.starts_with("case ") && l.ends_with(" in")) && *l != "esac")
            .map(|l| if l.contains("$(") { l } else { l.split_once(')').map_or(l, |(_, run)| run) })
            .flat_map(|l| l.split(['|', ';', '&']))
            .filter_map(|part| part.split_whitespace().find(|w| *w != "exec"))
            .filter(|w| !w.contains('='))
            .map(str::to_string)
            .collect()
    } else {
        argv.first().map(|a| vec![a.to_string()]).unwrap_or_default()
    }
}

/// What the image of `c` provides to probes, from its vendored files; None for images without a
/// contract here (nginx, squid, vector stores: other checks cover them).
fn image_programs(release: &str, c: &Value) -> Option<BTreeSet<String>> {
    let image = c["image"].as_str().unwrap();
    let tag = image_tag(c);
    let (repo, _) = image.rsplit_once(':').unwrap();
    match repo {
        "langgenius/dify-api" => {
            let version = tag.as_str();
            let dockerfile = fixture("dify-api", version, "api/Dockerfile");
            let base = dockerfile.lines().find(|l| l.starts_with("FROM python:")).expect("FROM python:");
            assert!(base.contains("-slim-bookworm"), "{release}: api base changed: {base}");
            let python = fixture("python", "3.12-slim-bookworm", "3.12/slim-bookworm/Dockerfile");
            assert!(python.starts_with("#") && python.contains("FROM debian:bookworm-slim"));
            for f in [&dockerfile, &python] {
                assert!(!f.contains("procps"), "{release}: procps is installed now; pgrep could be used");
            }
            // Debian's essential set (sh, grep, find) and the virtualenv's programs.
            assert!(dockerfile.contains("ENV PATH=\"${VIRTUAL_ENV}/bin:${PATH}\""), "{release}");
            let mut have = set(&["sh", "grep", "find", "celery", "flask", "python"]);
            if has_fixture("dify-api", version, "api/celery_healthcheck.py") {
                have.insert("celery_healthcheck".into());
            }
            Some(have)
        }
        "postgres" => {
            let dockerfile = fixture("postgres", &tag, "15/alpine3.23/Dockerfile");
            assert!(dockerfile.contains("make install-world-bin"), "pg_isready comes from install-world-bin");
            assert!(dockerfile.contains("listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'"), "postgres listens on TCP");
            assert!(dockerfile.contains("FROM alpine:"), "busybox sh and grep");
            Some(set(&["sh", "grep", "pg_isready"]))
        }
        "redis" => {
            let dockerfile = fixture("redis", &tag, "6.2/alpine/Dockerfile");
            assert!(dockerfile.contains("redis-cli --version"), "redis-cli is installed");
            assert!(dockerfile.contains("FROM alpine:"), "busybox sh and grep");
            Some(set(&["sh", "grep", "redis-cli"]))
        }
        "langgenius/dify-plugin-daemon" => {
            let version = tag.trim_end_matches("-local");
            let dockerfile = fixture("dify-plugin-daemon", version, "docker/local.dockerfile");
            assert!(
                dockerfile.contains("update-alternatives --install /usr/bin/python3 python3"),
                "plugin daemon {version}: python3"
            );
            Some(set(&["python3"]))
        }
        _ => None,
    }
}

/// Every probe of a tree calls only programs its image has (its tag's vendored sources).
fn probes_call_only_programs_their_image_has(release: &str, docs: &[Value]) {
    {
        let mut checked = BTreeSet::new();
        for w in docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))) {
            let name = w["metadata"]["name"].as_str().unwrap().to_string();
            let c = main_container(w);
            let Some(have) = image_programs(release, c) else { continue };
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                let Some(argv) = c[probe]["exec"]["command"].as_sequence() else { continue };
                let argv: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
                for program in programs(&argv) {
                    assert!(
                        have.contains(&program),
                        "{release} {name} {probe}: `{program}` is not in its image ({argv:?})"
                    );
                }
                let text = argv.join(" ");
                assert!(!text.contains("app.celery inspect"), "{release} {name}: boots the whole app on every probe");
                if text.contains("celery_healthcheck") {
                    assert!(
                        have.contains("celery_healthcheck"),
                        "{release} {name}: no celery_healthcheck.py in this release"
                    );
                }
            }
            checked.insert(name);
        }
        // worker_beat is its own service from 1.4.0 on.
        let present =
            ["api", "worker", "worker-beat", "postgres", "redis"].into_iter().filter(|n| workload(docs, n).is_some());
        for name in present {
            assert!(checked.contains(name), "{release}: {name}'s probes were not checked");
        }
    }
}

#[test]
fn data_stores_are_ready_when_their_own_client_says_so_and_alive_while_they_accept() {
    for release in RELEASES {
        let docs = tree(release);
        for (name, client, port) in [("postgres", "pg_isready", 5432), ("redis", "redis-cli", 6379)] {
            let c = main_container(workload(&docs, name).unwrap());
            let ready = c["readinessProbe"]["exec"]["command"][2].as_str().unwrap_or_default();
            assert!(ready.contains(client) && ready.contains("127.0.0.1"), "{release} {name}: {ready}");
            assert_eq!(c["livenessProbe"]["tcpSocket"]["port"].as_i64(), Some(port), "{release} {name}");
        }
        // redis-cli reads the password from REDISCLI_AUTH, which the redis pod gets from its Secret.
        let redis = main_container(workload(&docs, "redis").unwrap());
        let ready = redis["readinessProbe"]["exec"]["command"][2].as_str().unwrap();
        assert!(!ready.contains(" -a "), "{release}: no password on the command line");
        let secret = docs
            .iter()
            .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == "redis-secret")
            .unwrap_or_else(|| panic!("{release}: no redis-secret"));
        assert!(!secret["stringData"]["REDISCLI_AUTH"].is_null(), "{release}: REDISCLI_AUTH not in the Secret");
        let from = redis["envFrom"].as_sequence().unwrap();
        assert!(from.iter().any(|f| f["secretRef"]["name"] == "redis-secret"), "{release}");
    }
}

/// The worker pings itself with celery_healthcheck.py exactly where its image ships it (the tag's
/// file listing proves its absence), and PID 1 is celery.
fn worker_probes_follow_what_each_release_ships(label: &str, docs: &[Value]) {
    {
        let worker = main_container(workload(docs, "worker").unwrap_or_else(|| panic!("{label}: no worker")));
        let release = &image_tag(worker);
        let ready = worker["readinessProbe"]["exec"]["command"][2].as_str().unwrap();
        let live = worker["livenessProbe"]["exec"]["command"][2].as_str().unwrap();
        let ships = has_fixture("dify-api", release, "api/celery_healthcheck.py");
        let listed = fixture("dify-api", release, "api.ls-tree.txt").lines().any(|l| l == "api/celery_healthcheck.py");
        assert_eq!(ships, listed, "{release}: the copy and the listing disagree");
        assert_eq!(ready.contains("celery_healthcheck"), ships, "{release}: {ready}");
        // Liveness is the same ping, its own node's (tests/suite/tree/probes.rs runs it).
        assert_eq!(live, ready, "{release}");
        assert!(ready.contains("inspect ping -d \"celery@$HOSTNAME\""), "{release}: {ready}");
        // PID 1 is celery: the entrypoint `exec`s it (checked where vendored).
        if has_fixture("dify-api", release, "api/docker/entrypoint.sh") {
            let entry = fixture("dify-api", release, "api/docker/entrypoint.sh");
            assert!(entry.contains("exec celery -A") && entry.contains(" worker -P"), "{release}");
            assert!(entry.contains("exec celery -A app.celery beat"), "{release}");
            // The worker's command (up to its last continued line) names no node: celery@$HOSTNAME.
            let start = entry.find("exec celery -A").unwrap();
            let command: String = entry[start..]
                .lines()
                .scan(true, |go, l| {
                    let take = *go;
                    *go = l.trim_end().ends_with('\\');
                    take.then(|| l.to_string())
                })
                .collect();
            assert!(
                !command.contains(" -n ") && !command.contains("--hostname"),
                "{release}: node name is set now: {command}"
            );
        }
        if ships {
            let module = fixture("dify-api", release, "api/celery_healthcheck.py");
            let imports_app = module.lines().any(|l| l.starts_with("import app") || l.starts_with("from app"));
            assert!(!imports_app && module.contains("celery = Celery("), "{release}: no longer light");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// The user a Dockerfile's final stage declares (its last `USER` after its last `FROM`), as written.
fn declared_user(dockerfile: &str) -> Option<String> {
    let lines: Vec<&str> = dockerfile.lines().collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap_or(0);
    lines[last_from..].iter().rev().find_map(|l| l.strip_prefix("USER ")).map(|u| u.trim().to_string())
}

/// api, worker, beat, websocket, the migration Job and web run as their image tag's own user.
fn dify_users_are_the_images_own(label: &str, docs: &[Value]) {
    let pods = docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet" | "Job")));
    let mut seen = BTreeSet::new();
    for w in pods {
        let c = main_container(w);
        let image = c["image"].as_str().unwrap_or_default();
        let name = w["metadata"]["name"].as_str().unwrap_or_default();
        let sc = &c["securityContext"];
        let tag = image_tag(c);
        let (uid, gid) = (sc["runAsUser"].as_i64(), sc["runAsGroup"].as_i64());
        let non_root = sc["runAsNonRoot"].as_bool() == Some(true);
        if image.starts_with("langgenius/dify-api:") {
            let dockerfile = fixture("dify-api", &tag, "api/Dockerfile");
            match declared_user(&dockerfile).as_deref() {
                None => {
                    assert!(uid.is_none() && !non_root, "{label} {name}: dify-api:{tag} has no USER: root ({sc:?})")
                }
                Some(user) => {
                    // `USER 1001` after `useradd -r -u 1001 -g 1001 … dify`, or `USER dify` after
                    // `useradd -r -u ${dify_uid} -g ${dify_uid} … dify` with `ARG dify_uid=1001`.
                    let creates = dockerfile.contains("useradd -r -u 1001 -g 1001")
                        || (dockerfile.contains("ARG dify_uid=1001")
                            && dockerfile.contains("useradd -r -u ${dify_uid} -g ${dify_uid}"));
                    assert!(matches!(user, "1001" | "dify") && creates, "{label}: dify-api:{tag} USER {user}");
                    assert_eq!((uid, gid, non_root), (Some(1001), Some(1001), true), "{label} {name}: dify-api:{tag}");
                }
            }
            seen.insert("api");
        } else if image.starts_with("langgenius/dify-web:") {
            let dockerfile = fixture("dify-web", &tag, "web/Dockerfile");
            match declared_user(&dockerfile).as_deref() {
                Some("1001") => {
                    assert!(!dockerfile.contains("adduser"), "{label}: dify-web:{tag} creates a user");
                    assert_eq!((uid, gid, non_root), (Some(1001), None, true), "{label}: dify-web:{tag}, group 0");
                }
                Some("dify") => {
                    assert!(
                        dockerfile.contains("ARG dify_uid=1001")
                            && dockerfile.contains("addgroup -S -g ${dify_uid} dify")
                    );
                    assert_eq!((uid, gid, non_root), (Some(1001), Some(1001), true), "{label}: dify-web:{tag}");
                }
                other => panic!("{label}: dify-web:{tag} USER {other:?}: revisit the web image's facts"),
            }
            seen.insert("web");
        }
    }
    assert_eq!(seen, set(&["api", "web"]).iter().map(String::as_str).collect(), "{label}: api and web checked");
}

#[test]
fn data_stores_run_as_their_images_own_users() {
    for release in RELEASES {
        let docs = tree(release);
        let sc = |name: &str| main_container(workload(&docs, name).unwrap())["securityContext"].clone();
        // postgres and redis: their images' users, whose entrypoints skip root-only steps.
        let pg = fixture("postgres", "15-alpine", "15/alpine3.23/Dockerfile");
        let pg_entry = fixture("postgres", "15-alpine", "15/alpine3.23/docker-entrypoint.sh");
        assert!(pg.contains("addgroup -g 70 -S postgres") && pg.contains("adduser -u 70 -S -D -G postgres"));
        assert!(pg_entry.contains("if [ \"$(id -u)\" = '0' ]; then"));
        assert_eq!((sc("postgres")["runAsUser"].as_i64(), sc("postgres")["runAsGroup"].as_i64()), (Some(70), Some(70)));
        let redis = fixture("redis", "6-alpine", "6.2/alpine/Dockerfile");
        let redis_entry = fixture("redis", "6-alpine", "6.2/alpine/docker-entrypoint.sh");
        assert!(redis.contains("addgroup -S -g 1000 redis") && redis.contains("adduser -S -G redis -u 999 redis"));
        assert!(redis_entry.contains("\"$(id -u)\" = '0'"));
        assert_eq!((sc("redis")["runAsUser"].as_i64(), sc("redis")["runAsGroup"].as_i64()), (Some(999), Some(1000)));
    }
}

// ---------------------------------------------------------------------------------------------
// StatefulSets
// ---------------------------------------------------------------------------------------------

#[test]
fn statefulsets_are_governed_by_a_headless_service() {
    for release in RELEASES {
        let docs = tree(release);
        let services = |name: &str| {
            docs.iter().find(|d| d["kind"] == "Service" && d["metadata"]["name"].as_str() == Some(name)).cloned()
        };
        let mut seen = 0;
        for sts in docs.iter().filter(|d| d["kind"] == "StatefulSet") {
            seen += 1;
            let name = sts["metadata"]["name"].as_str().unwrap();
            let governing = sts["spec"]["serviceName"].as_str().unwrap();
            let headless = services(governing).unwrap_or_else(|| panic!("{release} {name}: no Service {governing}"));
            assert_eq!(headless["spec"]["clusterIP"].as_str(), Some("None"), "{release} {name}: {governing}");
            assert_eq!(headless["spec"]["selector"], sts["spec"]["selector"]["matchLabels"], "{release} {name}");
            let client = services(name).unwrap_or_else(|| panic!("{release} {name}: the clients' Service is gone"));
            assert!(client["spec"]["clusterIP"].is_null(), "{release} {name}: the clients' Service keeps a cluster IP");
        }
        assert!(seen >= 2, "{release}: postgres and redis are StatefulSets");
    }
}

// ---------------------------------------------------------------------------------------------
// The tree's README says what the pods do
// ---------------------------------------------------------------------------------------------

/// The security table's rows of a generated README: first cell → the other cells.
fn security_rows(readme: &str, header: &str) -> Vec<Vec<String>> {
    let start = readme.find(header).unwrap_or_else(|| panic!("no security table ({header})"));
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect()
}

#[test]
fn readme_security_table_is_what_the_pods_run_as() {
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let docs = tree(release);
        for (lang, header, image_default, read_only) in [
            ("en", "| workload | runs as |", "image default", "read-only"),
            ("ja", "| ワークロード | 実行ユーザー |", "イメージの既定", "読み取り専用"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("k8s");
            generated(release, &out, &["--lang", lang]);
            let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
            let rows = security_rows(&readme, header);
            let mut seen = 0;
            for w in docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))) {
                let name = w["metadata"]["name"].as_str().unwrap();
                let mut containers = vec![(format!("`{name}`"), main_container(w).clone())];
                for init in w["spec"]["template"]["spec"]["initContainers"].as_sequence().into_iter().flatten() {
                    if init["name"] == "init-permissions" {
                        let label = if lang == "en" { "init container" } else { "init コンテナ" };
                        containers.push((format!("`{name}` ({label} `init-permissions`)"), init.clone()));
                    }
                }
                for (label, c) in containers {
                    let row = rows
                        .iter()
                        .find(|r| r[0] == label)
                        .unwrap_or_else(|| panic!("{release} {lang}: no row {label}"));
                    let sc = &c["securityContext"];
                    let runs_as = match sc["runAsUser"].as_i64() {
                        Some(0) => "root (uid 0)".to_string(),
                        Some(uid) => format!("uid {uid}"),
                        None => image_default.to_string(),
                    };
                    assert_eq!(row[1], runs_as, "{release} {lang} {label}");
                    let caps: Vec<String> = added_caps(&c).len().eq(&0).then(Vec::new).unwrap_or_else(|| {
                        sc["capabilities"]["add"]
                            .as_sequence()
                            .unwrap()
                            .iter()
                            .map(|v| format!("`{}`", v.as_str().unwrap()))
                            .collect()
                    });
                    let caps = if caps.is_empty() { "–".to_string() } else { caps.join(", ") };
                    assert_eq!(row[2], caps, "{release} {lang} {label}");
                    // A pod's own row explains the main container, not its init container.
                    let init_row = label.contains("init-permissions");
                    assert!(init_row || !row[4].contains("init-permissions"), "{release} {lang} {label}: {}", row[4]);
                    assert_eq!(
                        row[3] == read_only,
                        sc["readOnlyRootFilesystem"].as_bool() == Some(true),
                        "{release} {lang} {label}"
                    );
                    seen += 1;
                }
            }
            assert_eq!(seen, rows.len(), "{release} {lang}: one row per container");
            // The sandbox row says what user code runs as, for the sandbox version of the release.
            let sandbox = rows.iter().find(|r| r[0] == "`sandbox`").unwrap();
            let version = image_tag(main_container(workload(&docs, "sandbox").unwrap()));
            let pool = has_fixture("dify-sandbox", &version, "internal/core/runner/uidpool/uid_pool.go");
            let expected = match (pool, lang == "ja") {
                (true, false) => {
                    "untrusted code runs as a uid of its own per run (10000-10999, group sandbox), chrooted, under seccomp"
                }
                (false, false) => "untrusted code runs as uid 65537, chrooted, under seccomp",
                (true, true) => "信頼できないコードは実行ごとに専用の uid（10000〜10999、グループ sandbox）で、chroot され、seccomp の下で動きます",
                (false, true) => "信頼できないコードは uid 65537 で、chroot され、seccomp の下で動きます",
            };
            assert!(sandbox[4].contains(expected), "{release} {lang}: {}", sandbox[4]);
            // web runs as its image's user: nothing in the guide says it starts as root.
            let web = rows.iter().find(|r| r[0] == "`web`").unwrap();
            assert!(web[1] == "uid 1001" && !web[4].contains("as root"), "{release} {lang}: {web:?}");
            let root_finding =
                readme.lines().any(|l| l.contains("`CKV_K8S_23`") && l.contains("`Deployment.dify.web`"));
            assert!(!root_finding, "{release} {lang}: the guide says web starts as root");
        }
    }
}

/// nginx, as root in a fresh network namespace under exactly `caps` (no_new_privs, as
/// allowPrivilegeEscalation: false): its master binds port 80 and its workers drop to www-data, as
/// the official image's do. The body it serves on 127.0.0.1:80, or what went wrong.
fn nginx_under_caps(caps: &BTreeSet<String>) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = format!(
        "user www-data;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n  server {{ listen 127.0.0.1:80; location / {{ return 200 \"served\\n\"; }} }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let bounding = bounding_set(caps);
    let script = format!(
        "ip link set lo up || exit 3\n\
         setpriv --no-new-privs --inh-caps=-all --ambient-caps=-all --bounding-set={bounding} -- nginx -c {d}/nginx.conf || exit 4\n\
         sleep 0.3\n\
         python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1/\", timeout=5).read().decode().strip())'\n\
         status=$?\n\
         kill \"$(cat {d}/nginx.pid)\"\n\
         exit $status\n"
    );
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) must be installed: apt-get install util-linux");
    let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    let text = format!("{}{}{log}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        Err(text)
    }
}

/// The generic preset gives a container what `docker compose up` does: Docker's default
/// capabilities (all dropped, those added back, NET_RAW left out). An image that starts as root,
/// binds a low port and drops to its own user (nginx here, the Debian build of the program the
/// official image runs) serves under exactly them, and cannot start without them.
#[test]
fn generic_capabilities_let_an_image_that_starts_as_root_serve() {
    require_root();
    for tool in ["nginx", "unshare", "ip", "python3"] {
        let ok = Command::new("sh")
            .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "{tool} is needed (apt-get install nginx-light util-linux iproute2 python3)");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"8080:80\"\n",
    )
    .unwrap();
    let tree = dir.path().join("k8s");
    let o = bin().arg(dir.path().join("compose.yaml")).args(["--preset", "generic", "-o"]).arg(&tree).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    setup_secrets(&tree);
    let docs = render(&tree);
    let c = main_container(workload(&docs, "web").expect("web"));
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], Value::from("ALL"));
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], Value::from(false));
    let caps = added_caps(c);
    assert!(!caps.contains("NET_RAW"), "{caps:?}");
    assert_eq!(nginx_under_caps(&caps).as_deref(), Ok("served"));
    // With none of them it cannot bind its port: the check can fail.
    assert!(nginx_under_caps(&BTreeSet::new()).is_err());
}

/// The capabilities the generic preset adds back are Docker's defaults (what `docker compose up`
/// gives a container), NET_RAW left out: read from moby's own list.
#[test]
fn generic_capabilities_are_dockers_defaults_but_net_raw() {
    let source = fixture("moby", "b985e23", "daemon/pkg/oci/caps/defaults.go");
    let docker: BTreeSet<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"CAP_").and_then(|c| c.strip_suffix("\",")))
        .map(str::to_string)
        .collect();
    assert!(docker.contains("NET_RAW") && docker.len() >= 10, "moby's list as read: {docker:?}");
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Generic, None).unwrap();
    let added: BTreeSet<String> =
        rules.defaults.security.add_capabilities.clone().unwrap_or_default().into_iter().collect();
    let expected: BTreeSet<String> = docker.into_iter().filter(|c| c != "NET_RAW").collect();
    assert_eq!(added, expected);
    assert_eq!(rules.defaults.security.drop_capabilities.as_deref(), Some(&["ALL".to_string()][..]));
}

/// postgres on a claim: PGDATA one folder below the image's data path works because the image's
/// entrypoint creates "$PGDATA" at start and the Dockerfile's PGDATA is the mount path the rule
/// matches.
#[test]
fn postgres_creates_the_pgdata_the_generic_rules_set() {
    let dockerfile = fixture("postgres", "15-alpine", "15/alpine3.23/Dockerfile");
    let entrypoint = fixture("postgres", "15-alpine", "15/alpine3.23/docker-entrypoint.sh");
    assert!(dockerfile.contains("ENV PGDATA /var/lib/postgresql/data\n"));
    assert!(entrypoint.contains("docker_create_db_directories() {"));
    assert!(entrypoint.contains("\tmkdir -p \"$PGDATA\"\n"));
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Generic, None).unwrap();
    let rule = rules
        .claim_settings
        .iter()
        .find(|c| c.path == "/var/lib/postgresql/data")
        .expect("a rule for postgres' data path");
    let pgdata = &rule.settings["PGDATA"];
    assert!(
        pgdata.starts_with("/var/lib/postgresql/data/") && pgdata.len() > "/var/lib/postgresql/data/".len(),
        "{pgdata}"
    );
}

/// The port the generic rules give a service that declares none (`image_ports`) is the first port
/// its image's Dockerfile EXPOSEs, for each image vendored; mariadb is mysql's port.
#[test]
fn image_ports_are_what_the_dockerfiles_expose() {
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Generic, None).unwrap();
    let exposed = |text: &str| -> u16 {
        let line = text.lines().find_map(|l| l.strip_prefix("EXPOSE ")).expect("an EXPOSE line");
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    for (image, dockerfile) in [
        ("postgres", fixture("postgres", "15-alpine", "15/alpine3.23/Dockerfile")),
        ("redis", fixture("redis", "6-alpine", "6.2/alpine/Dockerfile")),
        ("mysql", fixture("mysql", "8.4", "8.4/Dockerfile.oracle")),
    ] {
        assert_eq!(rules.image_ports.get(image), Some(&exposed(&dockerfile)), "{image}");
    }
    assert_eq!(rules.image_ports.get("mariadb"), rules.image_ports.get("mysql"));
}

// ---------------------------------------------------------------------------------------------
// The image facts table
// ---------------------------------------------------------------------------------------------

/// The folder of an image tag's vendored sources (the plugin daemon's is its source tag).
fn tag_folder(image: &str, tag: &str) -> PathBuf {
    let short = image.trim_start_matches("langgenius/");
    let tag = if short == "dify-plugin-daemon" { tag.trim_end_matches("-local") } else { tag };
    repo().join("tests/fixtures/images").join(short).join(tag)
}

/// Every tag of mappings/dify-images.yaml has the user and features its vendored sources show, and
/// every Dify image tag a vendored release names is in the table.
#[test]
fn the_image_facts_table_is_what_each_tag_s_sources_say() {
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Dify, None).unwrap();
    assert_eq!(
        rules.images.keys().map(String::as_str).collect::<Vec<_>>(),
        ["langgenius/dify-api", "langgenius/dify-plugin-daemon", "langgenius/dify-sandbox", "langgenius/dify-web"]
    );
    let mut checked = 0;
    for (image, rule) in &rules.images {
        for (tag, facts) in &rule.tags {
            let folder = tag_folder(image, tag);
            assert!(folder.is_dir(), "{image}:{tag}: vendor its sources ({})", folder.display());
            let texts: std::collections::BTreeMap<String, String> = compose2dify::rules::images::source_files(rule)
                .into_iter()
                .filter_map(|f| std::fs::read_to_string(folder.join(&f)).ok().map(|t| (f, t)))
                .collect();
            let (user, found) = compose2dify::rules::images::detect(rule, |p| texts.get(p).map(String::as_str));
            assert_eq!(user.to_string(), facts.user, "{image}:{tag}: user");
            let listed: BTreeSet<String> = facts.facts.iter().cloned().collect();
            assert_eq!(found, listed, "{image}:{tag}: features");
            for f in &listed {
                assert!(rule.facts.contains_key(f), "{image}:{tag}: unknown fact {f}");
            }
            // The variables it reads: every name after a `reads_source` prefix in its files.
            let read = compose2dify::rules::images::detect_reads(rule, |p| texts.get(p).map(String::as_str));
            let recorded = facts.reads.as_ref().map(|r| rule.reads[r].clone());
            assert_eq!(read, recorded, "{image}:{tag}: the variables it reads");
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked} tags");
    // Every langgenius image the vendored releases name (but qdrant and 1.14.0-rc1's agentbox, for
    // which no rule needs a fact) is in the table.
    for (release, file) in every_tag() {
        let text = std::fs::read_to_string(&file).unwrap();
        for image in text.lines().filter_map(|l| l.trim().strip_prefix("image: langgenius/")) {
            let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
            if matches!(name, "qdrant" | "dify-agentbox") {
                continue;
            }
            let rule = &rules.images[&format!("langgenius/{name}")];
            assert!(rule.tags.contains_key(tag), "Dify {release} names langgenius/{name}:{tag}, which the table lacks");
        }
    }
}

/// tests/tools/add-image-tag vendors a tag's files from a clone and prints the line the table takes.
#[test]
fn add_image_tag_vendors_a_tag_and_prints_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("dify");
    let git = |args: &[&str]| {
        let o = Command::new("git").arg("-C").arg(&clone).args(args).output().expect("git");
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    std::fs::create_dir_all(clone.join("api/docker")).unwrap();
    for f in ["api/Dockerfile", "api/pyproject.toml", "api/celery_healthcheck.py", "api/docker/entrypoint.sh"] {
        std::fs::copy(tag_folder("langgenius/dify-api", "1.14.1").join(f), clone.join(f)).unwrap();
    }
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "release"]);
    git(&["tag", "1.14.2"]);
    let fixtures = dir.path().join("fixtures");
    let o = Command::new("bash")
        .arg(repo().join("tests/tools/add-image-tag"))
        .args(["dify-api", "1.14.2"])
        .arg(&clone)
        .env("FIXTURES", &fixtures)
        .env("COMPOSE2DIFY", env!("CARGO_BIN_EXE_compose2dify"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "\"1.14.2\": {user: \"1001:1001\", facts: [celery-healthcheck]}\n");
    let copied = fixtures.join("dify-api/1.14.2");
    assert_eq!(
        std::fs::read(copied.join("api/Dockerfile")).unwrap(),
        std::fs::read(tag_folder("langgenius/dify-api", "1.14.1").join("api/Dockerfile")).unwrap()
    );
    assert!(std::fs::read_to_string(copied.join("api.ls-tree.txt")).unwrap().contains("api/celery_healthcheck.py"));
    // A tag the clone lacks is refused, naming it.
    let o = Command::new("bash")
        .arg(repo().join("tests/tools/add-image-tag"))
        .args(["dify-api", "9.9.9"])
        .arg(&clone)
        .env("FIXTURES", &fixtures)
        .env("COMPOSE2DIFY", env!("CARGO_BIN_EXE_compose2dify"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no tag 9.9.9"));
}
