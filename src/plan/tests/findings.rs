//! The checkov findings a tree accepts, predicted from the plan, each with the most specific reason:
//! compose's own ask, the service's rule, the rules' general reason, else "no reason recorded".

use super::*;
use crate::plan::findings::accepted;

#[test]
fn each_finding_has_the_most_specific_reason() {
    let dind = Service { privileged: true, ..service("dind", "docker:27-dind") };
    let project = project(vec![service("web", "nginx:latest"), dind, service("cache", "redis:7")]);
    let rules = rules(
        "services:\n  web:\n    findings: {CKV_K8S_14: the overlay pins a digest}\n  dind: {}\n  cache:\n    security: {drop_capabilities: [NET_RAW]}\n",
    );
    let plan = plan(&project, &rules);
    let found = accepted(&plan, &rules);
    let reason = |workload: &str, check: &str| {
        let resource = format!("Deployment.app.{workload}");
        found.iter().find(|f| f.resource == resource && f.check_id == check).map(|f| f.reason.clone())
    };
    // The service's rule over the rules' general reason for the `latest` tag.
    assert_eq!(reason("web", "CKV_K8S_14").as_deref(), Some("the overlay pins a digest"));
    assert!(reason("web", "CKV_K8S_11").is_some_and(|r| r.starts_with("no CPU limit on purpose")), "{found:?}");
    // What compose asks for explains itself; a pinned tag fails nothing.
    assert!(reason("dind", "CKV_K8S_16").is_some_and(|r| r.contains("`privileged: true`")), "{found:?}");
    assert_eq!(reason("dind", "CKV_K8S_14"), None);
    // Not all capabilities dropped, and nothing says why: said as such.
    assert_eq!(reason("cache", "CKV_K8S_37").as_deref(), Some("no reason recorded in the rules"));
    assert_eq!(reason("cache", "CKV_K8S_28"), None, "NET_RAW is dropped");
    // In resource order, as the README lists them.
    let order: Vec<(&str, &str)> = found.iter().map(|f| (f.resource.as_str(), f.check_id.as_str())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}
