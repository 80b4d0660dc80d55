//! The generic preset over a corpus of hand-written compose files (`tests/corpus/*/`): each one is
//! translated by the binary with a time limit (never a crash, never a hang), then rendered with
//! `kubectl kustomize` (and checked against Kubernetes 1.29's strict schemas by
//! `tests/tools/validate-k8s`). A case folder holding a `REFUSE` file is invalid by design: the tool must
//! refuse it with exit 2 and a message containing the text of `REFUSE`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// How long one translation may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(10);

/// Entry file names a case folder may use, as compose looks for them.
const ENTRY_NAMES: &[&str] =
    &["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml", "compose.json"];

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(repo().join("tests/corpus"))
        .expect("tests/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn entry(dir: &Path) -> PathBuf {
    ENTRY_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no compose file in {}", dir.display()))
}

/// Run the binary, killing it after `LIMIT`. Returns (exit code, stderr), or an error text.
fn run(compose: &Path, out: &Path) -> Result<(i32, String), String> {
    let mut child = bin()
        .arg(compose)
        .arg("-o")
        .arg(out)
        .args(["--preset", "generic"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut stderr = String::new();
            use std::io::Read;
            child.stderr.take().map(|mut s| s.read_to_string(&mut stderr));
            return match status.code() {
                Some(101) => Err(format!("panicked:\n{stderr}")),
                Some(code) => Ok((code, stderr)),
                None => Err(format!("killed by a signal:\n{stderr}")),
            };
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One case: `Ok(note)` when it behaves (built, or refused by design), else what went wrong.
fn check(dir: &Path, tmp: &Path) -> Result<String, String> {
    let out = tmp.join(dir.file_name().unwrap());
    let refusal = fs::read_to_string(dir.join("REFUSE")).ok().map(|t| t.trim().to_string());
    let (code, stderr) = run(&entry(dir), &out).map_err(|e| format!("CRASH {e}"))?;
    if stderr.contains("panicked") {
        return Err(format!("panic text on stderr:\n{stderr}"));
    }
    match (code, refusal) {
        (2, Some(expected)) if stderr.starts_with("error: ") && stderr.contains(&expected) => {
            return Ok(format!("refused as designed: {}", stderr.lines().next().unwrap_or_default()));
        }
        (_, Some(expected)) => {
            return Err(format!("expected a refusal mentioning `{expected}`, got exit {code}:\n{stderr}"))
        }
        (0, None) => {}
        (code, None) => return Err(format!("exit {code}:\n{stderr}")),
    }
    let secrets = bin().args(["secrets", "--new"]).arg(&out).output().map_err(|e| e.to_string())?;
    if !secrets.status.success() {
        return Err(format!("secrets failed: {}", String::from_utf8_lossy(&secrets.stderr)));
    }
    let k = kustomize(&out);
    if !k.status.success() {
        return Err(format!("kubectl kustomize failed: {}", String::from_utf8_lossy(&k.stderr)));
    }
    // Strict schemas too (unknown fields, names, quantities), for the oldest Kubernetes we support.
    let v = Command::new("bash")
        .arg(repo().join("tests/tools/validate-k8s"))
        .args(["--k8s", "1.29"])
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    if !v.status.success() {
        return Err(format!("validate-k8s failed: {}", String::from_utf8_lossy(&v.stdout)));
    }
    let warnings = stderr.lines().filter(|l| l.starts_with("warning:")).count();
    Ok(format!("built ({warnings} warnings)"))
}

#[test]
fn corpus_translates_and_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let all = cases();
    assert!(all.len() >= 30, "the corpus has {} cases", all.len());
    let mut failures = Vec::new();
    let mut crashed = false;
    for dir in &all {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        match check(dir, tmp.path()) {
            Ok(note) => eprintln!("ok    {name}: {note}"),
            Err(why) => {
                crashed |= why.starts_with("CRASH");
                eprintln!("FAIL  {name}: {why}");
                failures.push(name);
            }
        }
    }
    let passed = all.len() - failures.len();
    eprintln!("corpus: {passed}/{} behave; failures: {failures:?}", all.len());
    assert!(passed * 100 >= all.len() * 80, "fewer than 80% behave: {failures:?}");
    // A crash or a hang is never acceptable, whatever the input.
    assert!(!crashed, "a case crashed or hung: see CRASH above");
}
