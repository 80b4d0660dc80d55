//! The generic preset over a corpus of hand-written compose files (`tests/corpus/*/`): each one is
//! translated by the binary with a time limit (never a crash, never a hang), then rendered with
//! `kubectl kustomize` (and checked against Kubernetes 1.29's strict schemas by
//! `tests/tools/validate-k8s`). A case folder holding a `REFUSE` file is invalid by design: the tool must
//! refuse it with exit 2 and a message containing the text of `REFUSE`.

use std::fs;
use std::path::{Path, PathBuf};
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

/// One case, up to its tree: `Ok(None)` when it is refused by design, `Ok(Some(warnings))` when it
/// built and its secrets are filled (validate-k8s judges all built trees at once), else what went
/// wrong.
fn translate(dir: &Path, out: &Path) -> Result<Option<usize>, String> {
    let refusal = fs::read_to_string(dir.join("REFUSE")).ok().map(|t| t.trim().to_string());
    let (code, stderr) = run(&entry(dir), out).map_err(|e| format!("CRASH {e}"))?;
    if stderr.contains("panicked") {
        return Err(format!("panic text on stderr:\n{stderr}"));
    }
    match (code, refusal) {
        (2, Some(expected)) if stderr.starts_with("error: ") && stderr.contains(&expected) => {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            eprintln!("ok    {name}: refused as designed: {}", stderr.lines().next().unwrap_or_default());
            return Ok(None);
        }
        (_, Some(expected)) => {
            return Err(format!("expected a refusal mentioning `{expected}`, got exit {code}:\n{stderr}"))
        }
        (0, None) => {}
        (code, None) => return Err(format!("exit {code}:\n{stderr}")),
    }
    let secrets = bin().args(["secrets", "--new"]).arg(out).output().map_err(|e| e.to_string())?;
    if !secrets.status.success() {
        return Err(format!("secrets failed: {}", String::from_utf8_lossy(&secrets.stderr)));
    }
    Ok(Some(stderr.lines().filter(|l| l.starts_with("warning:")).count()))
}

/// The report's lines about one tree of a validate-k8s run over several: its problems and verdict.
fn verdict_of(report: &str, tree: &Path) -> Result<(), String> {
    let ok = format!("validate-k8s: OK {} (", tree.display());
    if report.lines().any(|l| l.starts_with(&ok)) {
        return Ok(());
    }
    let fail = format!("validate-k8s: FAIL {} ", tree.display());
    let line = report.lines().find(|l| l.starts_with(&fail)).unwrap_or("no verdict");
    Err(format!("validate-k8s (kubectl kustomize, then strict schemas): {line}"))
}

#[test]
fn corpus_translates_and_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let all = cases();
    assert!(all.len() >= 30, "the corpus has {} cases", all.len());
    let mut failures = Vec::new();
    let mut crashed = false;
    let mut built = Vec::new();
    for dir in &all {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let out = tmp.path().join(&name);
        match translate(dir, &out) {
            Ok(Some(warnings)) => built.push((name, out, warnings)),
            Ok(None) => {}
            Err(why) => {
                crashed |= why.starts_with("CRASH");
                eprintln!("FAIL  {name}: {why}");
                failures.push(name);
            }
        }
    }
    // Strict schemas too (unknown fields, names, quantities), for the oldest Kubernetes we support:
    // every built tree in one run.
    let trees: Vec<&Path> = built.iter().map(|(_, out, _)| out.as_path()).collect();
    let (_, report) = run_validate_k8s(&trees, &["--k8s", "1.29"]);
    for (name, out, warnings) in &built {
        match verdict_of(&report, out) {
            Ok(()) => eprintln!("ok    {name}: built ({warnings} warnings)"),
            Err(why) => {
                eprintln!("FAIL  {name}: {why}");
                failures.push(name.clone());
            }
        }
    }
    if !failures.is_empty() {
        eprintln!("{report}");
    }
    let passed = all.len() - failures.len();
    eprintln!("corpus: {passed}/{} behave; failures: {failures:?}", all.len());
    assert!(passed * 100 >= all.len() * 80, "fewer than 80% behave: {failures:?}");
    // A crash or a hang is never acceptable, whatever the input.
    assert!(!crashed, "a case crashed or hung: see CRASH above");
}
