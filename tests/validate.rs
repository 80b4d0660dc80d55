//! Every vendored release's tree passes ../shared/tools/validate-k8s (kubectl kustomize plus strict
//! schemas for Kubernetes 1.29–1.37).

mod common;

use common::*;

#[test]
fn every_release_passes_validate_k8s() {
    let tool = repo().join("../shared/tools/validate-k8s");
    assert!(tool.is_file(), "validate-k8s not found at {}", tool.display());
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generate(release, &out, &[]);
        setup_secrets(&out);
        let o = std::process::Command::new("bash").arg(&tool).arg(&out).output().expect("run validate-k8s");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{release}: validate-k8s failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains("validate-k8s: OK"), "{release}: {stdout}");
    }
}
