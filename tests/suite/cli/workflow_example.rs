//! examples/update-dify.yml: a workflow operators copy as is, so it must at least parse and call
//! the commands this tool really has.

use crate::common::*;
use yaml_serde::Value;

#[test]
fn update_workflow_parses_and_calls_upgrade_and_diff() {
    let path = repo().join("examples/update-dify.yml");
    let text = std::fs::read_to_string(&path).expect("examples/update-dify.yml");
    let doc: Value = yaml_serde::from_str(&text).expect("the workflow is YAML");
    let triggers = &doc["on"];
    assert!(!triggers["schedule"].is_null() && !triggers["workflow_dispatch"].is_null(), "{triggers:?}");
    let steps = doc["jobs"]["update"]["steps"].as_sequence().expect("jobs.update.steps");
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let all = scripts.join("\n");
    assert!(all.contains("compose2dify diff \"$old_compose\" \"$new_compose\""), "no diff call:\n{all}");
    assert!(all.contains("compose2dify upgrade \"$K8S_DIR\" \"$new_compose\""), "no upgrade call:\n{all}");
    assert!(all.contains("compose2dify carry-env \"$old_compose\" \"$new_compose\""), "no carry-env call:\n{all}");
    assert!(
        all.contains("--tag \"$COMPOSE2DIFY_REF\"") && all.contains("--rev \"$COMPOSE2DIFY_REF\""),
        "pinned:\n{all}"
    );
    assert!(!text.contains("your-org"), "no placeholder to edit");
    assert!(text.contains("Allow GitHub Actions to create and approve pull requests"));
    assert!(all.contains("gh release view -R langgenius/dify"), "no release lookup:\n{all}");
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(uses.iter().any(|u| u.starts_with("peter-evans/create-pull-request@v8")), "{uses:?}");
    assert!(
        uses.iter().filter(|u| u.starts_with("actions/checkout@")).all(|u| *u == "actions/checkout@v6"),
        "{uses:?}"
    );
    // The fetched release is a sparse checkout of upstream's docker/ folder and of every file the
    // rules read a release's own image facts from (docker/ beside api/ and web/, as in a checkout).
    let fetch = steps.iter().find(|s| s["with"]["repository"].as_str() == Some("langgenius/dify")).expect("fetch step");
    assert_eq!(fetch["with"]["sparse-checkout-cone-mode"].as_bool(), Some(false));
    let sparse: Vec<&str> = fetch["with"]["sparse-checkout"].as_str().expect("sparse-checkout").lines().collect();
    assert!(sparse.contains(&"/docker/"), "{sparse:?}");
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Dify, None).unwrap();
    let read = compose2dify::rules::images::checkout_files(&rules.images);
    assert!(!read.is_empty());
    for file in &read {
        assert!(sparse.contains(&format!("/{file}").as_str()), "the workflow does not fetch {file}: {sparse:?}");
    }
    assert!(all.contains("/docker/docker-compose.yaml\""), "the compose file is read inside docker/:\n{all}");
}

/// Every `run:` script of the workflow passes shellcheck as the bash that GitHub runs it with.
#[test]
fn update_workflow_scripts_pass_shellcheck() {
    let text = std::fs::read_to_string(repo().join("examples/update-dify.yml")).unwrap();
    let doc: Value = yaml_serde::from_str(&text).unwrap();
    for step in doc["jobs"]["update"]["steps"].as_sequence().unwrap() {
        let Some(script) = step["run"].as_str() else { continue };
        let o = std::process::Command::new("shellcheck")
            .args(["-s", "bash", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .expect("shellcheck on PATH (Debian: apt-get install shellcheck)");
        assert!(o.status.success(), "{:?}:\n{}", step["name"], String::from_utf8_lossy(&o.stdout));
    }
}

/// The Argo CD Application and the Flux Kustomization of examples/ pass their CRDs' schemas.
#[test]
fn gitops_examples_validate_against_their_crds() {
    for example in ["argocd-application.yaml", "flux-kustomization.yaml"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(repo().join("examples").join(example), dir.path().join(example)).unwrap();
        std::fs::write(dir.path().join("kustomization.yaml"), format!("resources: [{example}]\n")).unwrap();
        let report = validate_k8s(dir.path(), &[]);
        assert!(report.contains("OK ("), "{example}: {report}");
    }
}
