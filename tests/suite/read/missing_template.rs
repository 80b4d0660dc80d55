//! A release folder without a file the rules render as a template (an incomplete copy of upstream's
//! docker/ folder) still generates, but says so instead of silently mounting an empty claim.

use crate::common::*;

#[test]
fn a_missing_template_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let release = tmp.path().join("dify");
    copy_dir(compose("1.14.0").parent().unwrap(), &release);
    std::fs::remove_file(release.join("nginx/conf.d/default.conf.template")).unwrap();
    let o = bin().arg(release.join("docker-compose.yaml")).arg("-o").arg(tmp.path().join("k8s")).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("warning: service `nginx`: `./nginx/conf.d` is not in the release folder"), "{stderr}");

    let complete = &made("1.14.0", &[]).stderr;
    assert!(!complete.contains("is not in the release folder"), "{complete}");
}
