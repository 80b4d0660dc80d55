//! Every release's tree passes the project's tests/tools/validate-k8s (kubectl kustomize plus strict schemas for
//! Kubernetes 1.29–1.37): the vendored ones in compose/ and the ones not vendored in
//! tests/fixtures/releases/ (see its README).

use std::path::{Path, PathBuf};

use crate::common::*;

/// Generate the tree of a compose file, fill its secrets and run validate-k8s on it.
fn validates(name: &str, compose: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let o = bin().arg(compose).arg("-o").arg(&out).output().expect("run compose2dify");
    assert!(o.status.success(), "{name}: compose2dify failed: {}", String::from_utf8_lossy(&o.stderr));
    setup_secrets(&out);
    eprintln!("validate-k8s on {name}");
    validate_k8s(&out, &[]);
    std::fs::read_to_string(out.join("GENERATED.md")).unwrap()
}

#[test]
fn every_release_passes_validate_k8s() {
    for release in RELEASES {
        validates(release, &compose(release));
    }
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
    for (version, compose) in releases {
        let provenance = validates(&version, &compose);
        // The release read from the image tags is the one the folder is named after.
        assert!(provenance.contains(&format!("- Release: {version}\n")), "{version}: {provenance}");
    }
}

/// The validator can fail: an unknown field, a bad quantity and a selector that matches no template
/// label are each reported with the object they are in.
#[test]
fn the_validator_refuses_what_the_api_server_would() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generate("1.14.1", &out, &[]);
    setup_secrets(&out);
    let deployment = out.join("services/web/deployment.yaml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let broken = text.replacen("spec:\n", "spec:\n  bogusField: 1\n", 1).replacen("memory: 1Gi", "memory: 1 GiB", 1);
    assert_ne!(broken, text, "the edits apply");
    std::fs::write(&deployment, broken).unwrap();
    let o = std::process::Command::new("bash")
        .arg(repo().join("tests/tools/validate-k8s"))
        .args(["--k8s", "1.29"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{stdout}");
    assert!(stdout.contains("Deployment dify/web") && stdout.contains("bogusField"), "{stdout}");
    assert!(stdout.contains("'1 GiB' is not a quantity"), "{stdout}");
    assert!(stdout.contains("validate-k8s: FAIL"), "{stdout}");
}
