//! Every release's tree passes the project's tests/tools/validate-k8s (kubectl kustomize plus strict schemas for
//! Kubernetes 1.29–1.37): the vendored ones in compose/ and the ones not vendored in
//! tests/fixtures/releases/ (see its README).

use std::path::PathBuf;

use crate::common::*;

/// Every vendored release's tree, its secrets filled, in one validate-k8s run.
#[test]
fn every_release_passes_validate_k8s() {
    let dir = tempfile::tempdir().unwrap();
    let trees: Vec<PathBuf> = RELEASES.iter().map(|release| dir.path().join(release)).collect();
    for (release, out) in RELEASES.iter().zip(&trees) {
        made(release, &[]).write_filled(out);
    }
    validate_k8s_all(&trees.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &[]);
}

/// Every `tests/fixtures/releases/dify-<version>/`, found on disk, so a new folder is covered at once.
fn unvendored() -> Vec<(String, PathBuf)> {
    let root = repo().join("tests/fixtures/releases");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .expect("tests/fixtures/releases")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let version = name.strip_prefix("dify-")?.to_string();
            Some((version, e.path().join("docker-compose.yaml")))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn releases_not_vendored_pass_validate_k8s() {
    let releases = unvendored();
    assert!(releases.len() >= 2, "expected the fixtures of tests/fixtures/releases/README.md");
    let dir = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for (version, compose) in &releases {
        let out = dir.path().join(version);
        let o = bin().arg(compose).arg("-o").arg(&out).output().expect("run compose2dify");
        assert!(o.status.success(), "{version}: compose2dify failed: {}", String::from_utf8_lossy(&o.stderr));
        setup_secrets(&out);
        // The release read from the image tags is the one the folder is named after.
        let provenance = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
        assert!(provenance.contains(&format!("- Release: {version}\n")), "{version}: {provenance}");
        trees.push(out);
    }
    validate_k8s_all(&trees.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &[]);
}

/// The validator can fail: an unknown field, a bad quantity and a selector that matches no template
/// label are each reported with the object they are in; run over several trees, it names the one
/// that fails, and passes the others.
#[test]
fn the_validator_refuses_what_the_api_server_would() {
    let dir = tempfile::tempdir().unwrap();
    let (good, out) = (dir.path().join("good"), dir.path().join("k8s"));
    made("1.14.1", &[]).write_filled(&good);
    made("1.14.1", &[]).write_filled(&out);
    let deployment = out.join("services/web/deployment.yaml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let broken = text.replacen("spec:\n", "spec:\n  bogusField: 1\n", 1).replacen("memory: 1Gi", "memory: 1 GiB", 1);
    assert_ne!(broken, text, "the edits apply");
    std::fs::write(&deployment, broken).unwrap();
    let (passed, stdout) = run_validate_k8s(&[&good, &out], &["--k8s", "1.29"]);
    assert!(!passed, "{stdout}");
    assert!(stdout.contains("Deployment dify/web") && stdout.contains("bogusField"), "{stdout}");
    assert!(stdout.contains("'1 GiB' is not a quantity"), "{stdout}");
    assert!(stdout.contains(&format!("validate-k8s: FAIL {} (2 problem(s)", out.display())), "{stdout}");
    assert!(stdout.contains(&format!("validate-k8s: OK {} (", good.display())), "{stdout}");
}
