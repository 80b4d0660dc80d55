//! Every refusal: one message naming the file (and line where there is one), exit code 2, never a
//! panic, and an existing tree left byte-identical.

use std::fs;
use std::path::Path;

use crate::common::*;
use assert_cmd::Command;
use predicates::prelude::*;

/// A folder with a compose file (and optionally a .env) that the tool refuses.
fn case(dir: &Path, compose: &[u8], env: Option<&str>) -> std::path::PathBuf {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("docker-compose.yaml");
    fs::write(&path, compose).unwrap();
    if let Some(env) = env {
        fs::write(dir.join(".env"), env).unwrap();
    }
    path
}

/// Runs the tool over an existing tree and checks the refusal: exit 2, the words expected, and the
/// tree untouched.
fn refuses(args: &[&str], expect: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    generated("1.14.1", &out, &[]);
    let before = read_tree(&out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_compose2dify"));
    cmd.current_dir(tmp.path()).args(args).arg("-o").arg(&out).timeout(std::time::Duration::from_secs(30));
    let assert = cmd.assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
    assert_eq!(read_tree(&out), before, "the existing tree changed");
}

#[test]
fn missing_file() {
    refuses(&["nowhere/docker-compose.yaml"], &["nowhere/docker-compose.yaml", "cannot read"]);
}

/// The help names the compose file the preset is for: Dify's for the Dify rules, any compose file
/// for the generic preset (which never speaks of Dify).
#[test]
fn the_help_names_the_compose_file_of_the_preset() {
    refuses(&["nowhere/docker-compose.yaml"], &["help: check the path; pass Dify's docker/docker-compose.yaml"]);
    refuses(
        &["nowhere/compose.yaml", "--preset", "generic"],
        &["help: check the path; pass a compose file (compose.yaml, docker-compose.yml)"],
    );
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), b"- a list\n", None);
    refuses(&[p.to_str().unwrap(), "--preset", "generic"], &["not a mapping", "help: pass a compose file"]);
    let o = Command::new(env!("CARGO_BIN_EXE_compose2dify"))
        .args([p.to_str().unwrap(), "--preset", "generic", "-o", "-"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("Dify"), "{o:?}");
}

#[test]
fn directory_instead_of_file() {
    refuses(&["."], &["is a directory"]);
}

#[test]
fn empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), b"", None);
    refuses(&[p.to_str().unwrap()], &["docker-compose.yaml", "empty"]);
}

#[test]
fn binary_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), &[0xff, 0xfe, 0x00, 0x01, 0x9c, 0x80, 0x00], None);
    refuses(&[p.to_str().unwrap()], &["docker-compose.yaml", "not UTF-8"]);
}

#[test]
fn bad_indent_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), b"services:\n  api:\n    image: x\n   bad: indent\n", None);
    refuses(&[p.to_str().unwrap()], &["docker-compose.yaml:4:", "invalid YAML"]);
}

#[test]
fn unclosed_flow_collection() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), b"services:\n  api:\n    image: x\n    ports: [80, 443\n", None);
    refuses(&[p.to_str().unwrap()], &["docker-compose.yaml:", "invalid YAML"]);
}

#[test]
fn not_a_mapping_and_no_services() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(&tmp.path().join("a"), b"- just\n- a list\n", None);
    refuses(&[p.to_str().unwrap()], &["not a mapping"]);
    let p = case(&tmp.path().join("b"), b"networks:\n  x: {}\n", None);
    refuses(&[p.to_str().unwrap()], &["no `services:`"]);
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    text.push_str("services:\n  api:\n    image: *a9\n");
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), text.as_bytes(), None);
    refuses(&[p.to_str().unwrap()], &["docker-compose.yaml"]);
}

#[test]
fn unset_required_variable_names_it_and_its_message() {
    let tmp = tempfile::tempdir().unwrap();
    let p =
        case(tmp.path(), b"services:\n  api:\n    image: \"app:${TAG:?set TAG to the release}\"\n", Some("OTHER=1\n"));
    refuses(&[p.to_str().unwrap()], &["TAG", "set TAG to the release", "docker-compose.yaml:3:"]);
}

#[test]
fn invalid_port_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let p = case(tmp.path(), b"services:\n  api:\n    image: x\n    ports:\n      - \"80:99999\"\n", None);
    refuses(&[p.to_str().unwrap()], &["99999", "invalid port", "docker-compose.yaml:5:"]);
}

#[test]
fn broken_rules_file_points_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.yaml");
    fs::write(&rules, "services:\n  api:\n    replicas: 2\n    replicaz: 3\n").unwrap();
    let compose = compose("1.14.1");
    refuses(&[compose.to_str().unwrap(), "--mappings", rules.to_str().unwrap()], &["rules.yaml:4:", "replicaz"]);
    fs::write(&rules, "services: [unclosed\n").unwrap();
    refuses(&[compose.to_str().unwrap(), "--mappings", rules.to_str().unwrap()], &["rules.yaml:"]);
}

#[test]
fn unknown_profile_and_bad_set() {
    let compose = compose("1.14.1");
    refuses(&[compose.to_str().unwrap(), "--profile", "nosuch"], &["unknown profile `nosuch`", "weaviate"]);
    refuses(&[compose.to_str().unwrap(), "--set", "NOEQUALS"], &["--set `NOEQUALS` is not KEY=VALUE"]);
}

#[test]
fn output_path_is_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("k8s");
    fs::write(&file, "not a folder").unwrap();
    Command::new(env!("CARGO_BIN_EXE_compose2dify"))
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("output path is a file"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a folder");
}

#[cfg(unix)]
#[test]
fn unwritable_output_is_refused_and_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    generated("1.8.0", &out, &[]);
    let before = read_tree(&out);
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = out.join(".probe");
    let writable_anyway = fs::write(&probe, "x").is_ok(); // root ignores permissions
    let _ = fs::remove_file(&probe);
    let result =
        Command::new(env!("CARGO_BIN_EXE_compose2dify")).arg(compose("1.14.1")).arg("-o").arg(&out).output().unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    if writable_anyway {
        assert!(result.status.success());
        return;
    }
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(read_tree(&out), before);
}

#[test]
fn no_arguments_explains_usage() {
    Command::new(env!("CARGO_BIN_EXE_compose2dify"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no compose file given"));
}

#[test]
fn bad_namespace_and_cluster_domain() {
    let compose = compose("1.14.1");
    let compose = compose.to_str().unwrap();
    for bad in ["Dify", "-dify", "dify_ns", "a.b", ""] {
        refuses(&[compose, &format!("--namespace={bad}")], &["--namespace", "is not a DNS label"]);
    }
    for bad in ["cluster..local", "Cluster.local", "cluster.local.", "-x.local", "clu_ster.local"] {
        refuses(&[compose, &format!("--cluster-domain={bad}")], &["--cluster-domain", "is not a DNS domain"]);
    }
}
