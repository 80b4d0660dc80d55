//! `compose2dify diff OLD NEW`: the release report for a pull request body.

use std::fs;
use std::path::Path;

use crate::common::*;
use assert_cmd::Command;

/// Runs `diff` and returns (exit code, stdout, stderr).
fn diff(old: &Path, new: &Path) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_compose2dify"))
        .arg("diff")
        .arg(old)
        .arg(new)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run compose2dify diff");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn report_from_1_8_0_to_1_14_1() {
    let (code, report, stderr) = diff(&compose("1.8.0"), &compose("1.14.1"));
    assert_eq!(code, 0, "{stderr}");
    assert!(report.starts_with("# Dify release 1.8.0 → 1.14.1\n"), "{report}");
    for name in ["`api_websocket`", "`init_permissions`", "`db` → `db_postgres`", "langgenius/dify-api:1.14.1"] {
        assert!(report.contains(name), "no {name} in the report");
    }
    // Stable and free of this machine's paths.
    assert!(!report.contains(repo().to_string_lossy().as_ref()));
    assert_eq!(diff(&compose("1.8.0"), &compose("1.14.1")).1, report);
    insta::assert_snapshot!("diff-1.8.0-1.14.1", report);
}

#[test]
fn no_public_default_secret_is_printed() {
    let (_, report, _) = diff(&compose("0.15.3"), &compose("1.14.1"));
    let rules = fs::read_to_string(repo().join("mappings/dify.yaml")).unwrap();
    let published: Vec<&str> = rules
        .lines()
        .skip_while(|l| !l.contains("public_values:"))
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .collect();
    assert!(published.len() >= 3, "public_values not found in the rules");
    for value in published {
        assert!(!report.contains(value), "the report prints the published secret `{value}`");
    }
    assert!(report.contains("`SECRET_KEY`"), "{report}");
}

#[test]
fn a_release_against_itself_has_no_changes() {
    let (code, report, stderr) = diff(&compose("1.14.1"), &compose("1.14.1"));
    assert_eq!(code, 0, "{stderr}");
    assert!(report.starts_with("# Dify release 1.14.1\n"), "{report}");
    assert!(report.contains("No changes"), "{report}");
    assert!(!report.contains("## Services") && !report.contains("## Container settings"), "{report}");
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("dify-9.9.9/docker-compose.yaml");
    let (code, report, stderr) = diff(&compose("1.14.1"), &missing);
    assert_eq!(code, 2, "{stderr}");
    assert!(report.is_empty(), "{report}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("dify-9.9.9/docker-compose.yaml"), "{stderr}");
}

/// A release folder with one service whose settings come from `.env.example`.
fn release(dir: &Path, tag: &str, env: &str) -> std::path::PathBuf {
    fs::create_dir_all(dir).unwrap();
    let compose = format!(
        "services:\n  api:\n    image: langgenius/dify-api:{tag}\n    stop_signal: SIGTERM\n    environment:\n      SECRET_KEY: ${{SECRET_KEY}}\n      DB_URL: ${{DB_URL}}\n      LOG_LEVEL: ${{LOG_LEVEL}}\n"
    );
    fs::write(dir.join("docker-compose.yaml"), compose).unwrap();
    fs::write(dir.join(".env.example"), env).unwrap();
    dir.join("docker-compose.yaml")
}

#[test]
fn changed_secret_defaults_are_masked() {
    let tmp = tempfile::tempdir().unwrap();
    let old = release(
        &tmp.path().join("old"),
        "1.0.0",
        "SECRET_KEY=old-secret-value-1234\nDB_URL=postgresql://dify:hunter2hunter2@db/dify\nLOG_LEVEL=INFO\n",
    );
    let new = release(
        &tmp.path().join("new"),
        "1.1.0",
        "SECRET_KEY=new-secret-value-5678\nDB_URL=postgresql://dify:swordfish99@db/dify\nLOG_LEVEL=DEBUG\n",
    );
    let (code, report, stderr) = diff(&old, &new);
    assert_eq!(code, 0, "{stderr}");
    for secret in ["old-secret-value-1234", "new-secret-value-5678", "hunter2hunter2", "swordfish99"] {
        assert!(!report.contains(secret), "`{secret}` leaked:\n{report}");
    }
    assert!(report.contains("`SECRET_KEY`: changed (secret, not shown)"), "{report}");
    assert!(report.contains("`DB_URL`: changed (secret, not shown)"), "{report}");
    assert!(report.contains("`LOG_LEVEL`: `INFO` → `DEBUG`"), "{report}");
    assert!(report.contains("# Dify release 1.0.0 → 1.1.0"), "{report}");
    // A key the tool neither translates nor ignores is named as not covered.
    assert!(report.contains("service key `stop_signal` is neither translated nor ignored (in `api`)"), "{report}");
}

/// One step between neighbouring releases, the report the update workflow usually opens a PR with.
#[test]
fn report_from_1_13_3_to_1_14_0() {
    let old = repo().join("tests/fixtures/releases/dify-1.13.3/docker-compose.yaml");
    let (code, report, stderr) = diff(&old, &compose("1.14.0"));
    assert_eq!(code, 0, "{stderr}");
    assert!(report.contains("`POSTGRES_MAX_CONNECTIONS`: `100` → `200`"), "{report}");
    assert!(report.contains("`langgenius/dify-plugin-daemon:0.6.0-local`"), "{report}");
    assert!(!report.contains("## Services"), "no service came or went:\n{report}");
    insta::assert_snapshot!("diff-1.13.3-1.14.0", report);
}

#[test]
fn coverage_follows_the_rules_flags() {
    let run = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_compose2dify"))
            .arg("diff")
            .arg(compose("1.14.0"))
            .arg(compose("1.14.1"))
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    assert!(run(&[]).contains("service `iris` (profile iris) has no rule"));
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.yaml");
    fs::write(&rules, "services:\n  iris:\n    kind: Omit\n    reason: not used here\n").unwrap();
    let covered = run(&["--mappings", rules.to_str().unwrap()]);
    assert!(!covered.contains("service `iris`"), "{covered}");
    // The generic preset knows no service by name, so it lists none as uncovered.
    let generic = run(&["--preset", "generic"]);
    assert!(!generic.contains("has no rule"), "{generic}");
    // It is titled without the product name the generic preset does not know.
    assert!(generic.starts_with("# Release "), "{generic}");
    assert!(run(&[]).starts_with("# Dify release 1.14.0 → 1.14.1\n"));
}
