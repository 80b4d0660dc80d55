//! A team's workflow over a committed tree: choices are state (a run changes only the flag it is
//! given), nothing Kubernetes cannot change in place is written silently, and a fresh clone builds.

use std::path::Path;
use std::process::Output;

use crate::common::*;

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn choices_of(tree: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(tree.join("GENERATED.md")).unwrap();
    compose2dify::guide::provenance::recorded_choices(&text).expect("GENERATED.md records choices")
}

const TEAM: &[&str] = &[
    "--ingress-host",
    "dify.example.com",
    "--public-url",
    "https://dify.example.com",
    "--rwx-storage-class",
    "efs-sc",
    "--set",
    "NGINX_CLIENT_MAX_BODY_SIZE=200M",
];

fn team_tree(release: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated(release, &out, &[TEAM, extra].concat());
    (dir, out)
}

fn object<'a>(docs: &'a [yaml_serde::Value], kind: &str, name: &str) -> &'a yaml_serde::Value {
    get(docs, kind, name)
}

/// The choices of TEAM hold in the rendered tree.
fn assert_team_choices(docs: &[yaml_serde::Value]) {
    assert!(find(docs, "Ingress", "nginx").is_some(), "the Ingress stays");
    assert_eq!(object(docs, "Service", "nginx")["spec"]["type"], "ClusterIP", "nginx stays behind the Ingress");
    assert_eq!(object(docs, "PersistentVolumeClaim", "dify-storage")["spec"]["storageClassName"], "efs-sc");
    let config = object(docs, "ConfigMap", "dify-config");
    assert_eq!(config["data"]["CONSOLE_API_URL"], "https://dify.example.com", "the public URL stays");
}

#[test]
fn one_new_flag_changes_only_what_it_names() {
    let (_keep, out) = team_tree("1.14.1", &[]);
    let before = choices_of(&out);
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--secrets".as_ref(),
        "external".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("choices: {} kept from", before.len())), "{err}");
    assert!(err.contains("choice: added   --secrets external"), "{err}");
    let after = choices_of(&out);
    for line in &before {
        assert!(after.contains(line), "{line} was dropped: {after:?}");
    }
    assert!(after.contains(&"--secrets external".to_string()), "{after:?}");
    assert_team_choices(&render(&out));

    // A value given again replaces the recorded one, and says so.
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--set".as_ref(),
        "NGINX_CLIENT_MAX_BODY_SIZE=300M".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "choice: changed --set 'NGINX_CLIENT_MAX_BODY_SIZE=200M' → --set 'NGINX_CLIENT_MAX_BODY_SIZE=300M'"
        ),
        "{}",
        stderr(&o)
    );
    let after = choices_of(&out);
    assert!(after.contains(&"--set 'NGINX_CLIENT_MAX_BODY_SIZE=300M'".to_string()), "{after:?}");
    assert!(!after.iter().any(|l| l.contains("200M")), "{after:?}");
    assert!(after.contains(&"--secrets external".to_string()), "{after:?}");
}

#[test]
fn upgrade_takes_the_same_choice_flags() {
    let (_keep, out) = team_tree("1.8.0", &[]);
    let o = run(&[
        "upgrade".as_ref(),
        out.as_os_str(),
        compose("1.14.1").as_os_str(),
        "--secrets".as_ref(),
        "external".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("choice: added   --secrets external"), "{}", stderr(&o));
    let after = choices_of(&out);
    assert!(
        after.contains(&"--secrets external".to_string()) && after.contains(&"--rwx-storage-class efs-sc".to_string()),
        "{after:?}"
    );
    assert!(std::fs::read_to_string(out.join("GENERATED.md")).unwrap().contains("1.14.1"));
    assert_team_choices(&render(&out));

    // upgrade takes one compose file and no output folder of its own.
    let o = run(&["upgrade".as_ref(), out.as_os_str(), compose("1.14.1").as_os_str(), compose("1.8.0").as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("upgrade takes one compose file"), "{}", stderr(&o));
    let o = run(&["upgrade".as_ref(), out.as_os_str(), compose("1.14.1").as_os_str(), "--no-such-flag".as_ref()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
}

#[test]
fn reset_choices_starts_over_and_says_what_it_drops() {
    let (_keep, out) = team_tree("1.14.1", &[]);
    // Dropping the RWX class would change a live claim's class: refused first.
    let o = run(&[compose("1.14.1").as_os_str(), "-o".as_ref(), out.as_os_str(), "--reset-choices".as_ref()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--reset-choices".as_ref(),
        "--allow-recreate".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for line in ["dropped --ingress-host dify.example.com", "dropped --rwx-storage-class efs-sc"] {
        assert!(stderr(&o).contains(&format!("choice: {line}")), "{line}: {}", stderr(&o));
    }
    assert!(choices_of(&out).is_empty(), "{:?}", choices_of(&out));
}

#[test]
fn a_change_kubernetes_cannot_make_in_place_is_refused_with_its_steps() {
    let (_keep, out) = team_tree("1.14.1", &["--storage-class", "gp3"]);
    let before = read_tree(&out);
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--storage-class".as_ref(),
        "io2".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for part in [
        "PersistentVolumeClaim dify/plugin-storage (services/plugin-daemon/pvc.yaml): spec.storageClassName gp3 → io2",
        "`kubectl -n dify delete pvc plugin-storage`",
        "StatefulSet dify/postgres (services/postgres/statefulset.yaml): spec.volumeClaimTemplates",
        "--cascade=orphan",
        "--allow-recreate",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert_eq!(read_tree(&out), before, "nothing written");

    // Another namespace leaves every claim's data behind.
    let o =
        run(&[compose("1.14.1").as_os_str(), "-o".as_ref(), out.as_os_str(), "--namespace".as_ref(), "ai".as_ref()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the data stays with dify/dify-storage"), "{}", stderr(&o));
    assert_eq!(read_tree(&out), before, "nothing written");

    // --check says it and reports the drift; --allow-recreate writes it.
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--storage-class".as_ref(),
        "io2".as_ref(),
        "--check".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("Kubernetes cannot change this in place"), "{}", stderr(&o));
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--storage-class".as_ref(),
        "io2".as_ref(),
        "--allow-recreate".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(out.join("services/plugin-daemon/pvc.yaml"))
        .unwrap()
        .contains("storageClassName: io2"));
}

fn git(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// Generate with choices, commit, change one choice, commit, upgrade, commit, clone fresh, build:
/// no choice is lost, nothing immutable changes, and the clone builds in both external modes.
#[test]
fn scripted_team_workflow_from_first_commit_to_a_fresh_clone() {
    for mode in [&["--secrets", "external"][..], &["--secrets", "external-secrets", "--secret-store", "vault"][..]] {
        let repo_dir = tempfile::tempdir().unwrap();
        let repo = repo_dir.path();
        git(repo, &["init", "-q"]);
        let out = repo.join("k8s");
        generate("1.8.0", &out, &[TEAM, mode].concat());
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "first tree"]);
        let first = choices_of(&out);

        // One choice changes: another IngressClass.
        let o = run(&[
            compose("1.8.0").as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--ingress-class".as_ref(),
            "traefik".as_ref(),
        ]);
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        git(repo, &["commit", "-qam", "ingress class"]);

        // The next release, no flag: every choice is repeated.
        let o = run(&["upgrade".as_ref(), out.as_os_str(), compose("1.14.1").as_os_str()]);
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", "dify 1.14.1"]);

        let now = choices_of(&out);
        for line in &first {
            assert!(now.contains(line), "{mode:?}: {line} lost: {now:?}");
        }
        assert!(now.contains(&"--ingress-class traefik".to_string()), "{now:?}");

        let clone_dir = tempfile::tempdir().unwrap();
        let clone = clone_dir.path().join("c");
        git(clone_dir.path(), &["clone", "-q", repo.to_str().unwrap(), "c"]);
        let docs = render(&clone.join("k8s"));
        assert_team_choices(&docs);
        assert_eq!(object(&docs, "Ingress", "nginx")["spec"]["ingressClassName"], "traefik");
        let o = run(&[
            "upgrade".as_ref(),
            clone.join("k8s").as_os_str(),
            compose("1.14.1").as_os_str(),
            "--check".as_ref(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{mode:?}: the clone is up to date: {}", stderr(&o));
    }
}

#[test]
fn the_first_write_asks_for_a_secret_source_and_names_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let err = generated("1.14.1", &out, &[]);
    assert!(err.contains("secrets: this tree keeps its Secrets in secret.yaml files that git ignores"), "{err}");
    assert!(
        err.contains(&format!(
            "next: choose where the Secrets' values come from: `compose2dify secrets {} --new`",
            out.display()
        )),
        "{err}"
    );
    let guide = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(guide.contains("**Before you commit this tree, choose where its Secrets live.**"), "top of the guide");
    // A second run says only the step still missing; with the files made, nothing.
    let err = generate("1.14.1", &out, &[]);
    assert!(!err.contains("secrets: this tree keeps") && err.contains("next: choose where"), "{err}");
    // One file gone: the step names what is left.
    setup_secrets(&out);
    std::fs::remove_file(out.join("services/web/secret.yaml")).unwrap();
    let err = generate("1.14.1", &out, &[]);
    assert!(
        err.contains(&format!(
            "next: `compose2dify secrets {}` adds the 1 secret.yaml file this tree still lacks",
            out.display()
        )),
        "{err}"
    );
    setup_secrets(&out);
    let err = generate("1.14.1", &out, &[]);
    assert!(!err.contains("next:"), "{err}");

    let ext = dir.path().join("ext");
    let err = generate("1.14.1", &ext, &["--secrets", "external"]);
    assert!(err.contains(&format!("`compose2dify secrets {} --apply`", ext.display())), "{err}");
    assert!(!std::fs::read_to_string(ext.join("README.md")).unwrap().contains("Before you commit this tree"));
}

#[test]
fn printing_placeholders_is_said_and_a_mistyped_command_is_named() {
    let o = run(&[compose("1.14.1").as_os_str(), "-o".as_ref(), "-".as_ref()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("CHANGE_ME_"));
    assert!(stderr(&o).contains("warning: the printed Secrets hold"), "{}", stderr(&o));
    let o =
        run(&[compose("1.14.1").as_os_str(), "-o".as_ref(), "-".as_ref(), "--secrets".as_ref(), "external".as_ref()]);
    assert!(!stderr(&o).contains("the printed Secrets hold"), "no Secret printed: {}", stderr(&o));

    for (typed, meant) in [("upgarde", "upgrade"), ("secret", "secrets"), ("dif", "diff")] {
        let o = run(&[typed.as_ref(), "k8s".as_ref()]);
        assert_eq!(o.status.code(), Some(2), "{typed}");
        assert!(stderr(&o).contains(&format!("did you mean `compose2dify {meant}`")), "{typed}: {}", stderr(&o));
    }
}

#[test]
fn one_workload_and_one_file_are_counted_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), "services:\n  web:\n    image: nginx:1.27\n").unwrap();
    let out = dir.path().join("k8s");
    let args = |extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            dir.path().join("compose.yaml").into(),
            "-o".into(),
            out.clone().into(),
            "--preset".into(),
            "generic".into(),
        ];
        a.extend(extra.iter().map(Into::into));
        a
    };
    let o = bin().args(args(&[])).output().unwrap();
    assert!(stderr(&o).contains(": 1 workload, "), "{}", stderr(&o));
    std::fs::remove_file(out.join("services/web/deployment.yaml")).unwrap();
    let o = bin().args(args(&[])).output().unwrap();
    assert!(stderr(&o).contains(": 1 workload, 1 file changed,"), "{}", stderr(&o));
}

fn forge_choice(tree: &Path, line: &str) {
    let generated = tree.join("GENERATED.md");
    let text = std::fs::read_to_string(&generated).unwrap();
    std::fs::write(&generated, text.replacen("```choices\n", &format!("```choices\n{line}\n"), 1)).unwrap();
}

/// A recorded choice reads only inside the compose file's folder: a forged (or stale) line that
/// names a file elsewhere, or widens what is read, is refused and nothing is written.
#[test]
fn a_recorded_choice_never_reads_outside_the_compose_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("docker");
    copy_dir(compose("1.14.1").parent().unwrap(), &project);
    std::fs::write(tmp.path().join("rules.yaml"), "secrets: {patterns: [NOTHING]}\n").unwrap();
    std::fs::write(tmp.path().join("private.env"), "CONSOLE_API_URL=https://leak.example\n").unwrap();
    let out = tmp.path().join("k8s");
    let file = project.join("docker-compose.yaml");
    let o = run(&[file.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = read_tree(&out);
    for line in [
        format!("--mappings {}", tmp.path().join("rules.yaml").display()),
        "--mappings ../rules.yaml".to_string(),
        format!("--env-file {}", tmp.path().join("private.env").display()),
        format!("--allow-read {}", tmp.path().display()),
    ] {
        let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
        forge_choice(&out, &line);
        let o = run(&[file.as_os_str(), "-o".as_ref(), out.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{line}: {}", stderr(&o));
        assert!(stderr(&o).contains("reads outside the compose file's folder"), "{line}: {}", stderr(&o));
        let mut now = read_tree(&out);
        now.remove("GENERATED.md");
        let mut was = before.clone();
        was.remove("GENERATED.md");
        assert_eq!(now, was, "{line}: nothing written");
        std::fs::write(out.join("GENERATED.md"), generated).unwrap();
    }
}

/// `--env-file` is recorded relative to the compose file's folder: a run from another folder finds
/// it, and an upgrade to a release folder that lacks it says so instead of reading the old one.
#[test]
fn a_recorded_env_file_follows_the_compose_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    copy_dir(compose("1.8.0").parent().unwrap(), &old);
    copy_dir(compose("1.14.1").parent().unwrap(), &new);
    std::fs::copy(old.join(".env.example"), old.join("prod.env")).unwrap();
    let out = tmp.path().join("k8s");
    let o = bin()
        .current_dir(tmp.path())
        .args(["old/docker-compose.yaml", "-o", "k8s", "--env-file", "old/prod.env"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(choices_of(&out).contains(&"--env-file prod.env".to_string()), "{:?}", choices_of(&out));
    // From inside k8s/: the same file.
    let o = bin().current_dir(&out).args(["../old/docker-compose.yaml", "-o", ".", "--check"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The new release's folder has no prod.env: said, nothing read from old/.
    let o = run(&["upgrade".as_ref(), out.as_os_str(), new.join("docker-compose.yaml").as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--env-file prod.env` is not in") && stderr(&o).contains("carry-env"),
        "{}",
        stderr(&o)
    );
    std::fs::copy(new.join(".env.example"), new.join("prod.env")).unwrap();
    let o = run(&["upgrade".as_ref(), out.as_os_str(), new.join("docker-compose.yaml").as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A database or claim that would leave the tree is refused like an immutable change; -q before a
/// subcommand is the subcommand's; --reset-choices names only what it really drops.
#[test]
fn a_database_leaving_the_tree_is_refused_and_small_things() {
    let (_keep, out) = team_tree("1.14.1", &[]);
    let o = run(&[
        compose("1.14.1").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--external".as_ref(),
        "postgres".as_ref(),
        "--set".as_ref(),
        "DB_HOST=pg.example.com".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("StatefulSet dify/postgres") && stderr(&o).contains("leaves the tree"),
        "{}",
        stderr(&o)
    );

    let o =
        run(&["-q".as_ref(), "upgrade".as_ref(), out.as_os_str(), compose("1.14.1").as_os_str(), "--check".as_ref()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "quiet: {}", stderr(&o));

    let mut again: Vec<&std::ffi::OsStr> =
        vec![compose("1.14.1").leak().as_os_str(), "-o".as_ref(), out.as_os_str(), "--reset-choices".as_ref()];
    again.extend(TEAM.iter().map(|a| std::ffi::OsStr::new(*a)));
    let o = run(&again);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("choice: dropped"), "every choice was given again: {}", stderr(&o));
}
