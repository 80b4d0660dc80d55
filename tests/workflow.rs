//! examples/update-dify.yml: a workflow operators copy as is, so it must at least parse and call
//! the commands this tool really has.

mod common;

use common::*;
use yaml_serde::Value;

#[test]
fn update_workflow_parses_and_calls_generate_and_diff() {
    let path = repo().join("examples/update-dify.yml");
    let text = std::fs::read_to_string(&path).expect("examples/update-dify.yml");
    let doc: Value = yaml_serde::from_str(&text).expect("the workflow is YAML");
    let triggers = &doc["on"];
    assert!(!triggers["schedule"].is_null() && !triggers["workflow_dispatch"].is_null(), "{triggers:?}");
    let steps = doc["jobs"]["update"]["steps"].as_sequence().expect("jobs.update.steps");
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let all = scripts.join("\n");
    assert!(all.contains("compose2dify diff \"$old_compose\" \"$new_compose\""), "no diff call:\n{all}");
    assert!(all.contains("compose2dify \"$new_compose\" -o \"$K8S_DIR\""), "no regenerate call:\n{all}");
    assert!(all.contains("gh release view -R langgenius/dify"), "no release lookup:\n{all}");
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(uses.iter().any(|u| u.starts_with("peter-evans/create-pull-request@")), "{uses:?}");
    // The fetched release is a sparse checkout of upstream's docker/ folder.
    let fetch = steps.iter().find(|s| s["with"]["repository"].as_str() == Some("langgenius/dify")).expect("fetch step");
    assert_eq!(fetch["with"]["sparse-checkout"].as_str(), Some("docker"));
}
