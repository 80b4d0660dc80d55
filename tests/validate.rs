//! Every release's tree passes ../shared/tools/validate-k8s (kubectl kustomize plus strict schemas for
//! Kubernetes 1.29–1.37): the vendored ones in compose/ and the ones not vendored in
//! tests/fixtures/releases/ (see its README).

mod common;

use std::path::{Path, PathBuf};

use common::*;

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
