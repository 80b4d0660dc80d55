//! The Pod Security Standard each pod meets, and the Namespace's: the weakest pod's, said.

use super::*;
use crate::plan::PodSecurity;

#[test]
fn each_pod_gets_its_level_and_the_namespace_the_weakest() {
    let ping = Service { cap_add: vec!["NET_RAW".into()], ..service("ping", "busybox:1.36") };
    let project = project(vec![service("web", "nginx:1.27"), service("app", "example/app:1"), ping]);
    let rules = rules(
        "services:\n  app:\n    security: {add_capabilities: [], run_as_non_root: true, run_as_user: 1001}\n  web: {}\n  ping: {}\n",
    );
    let plan = plan(&project, &rules);
    let w = |name: &str| plan.workloads.iter().find(|w| w.name == name).expect(name);
    // Non-root, no capability added, all dropped, no escalation, RuntimeDefault seccomp.
    assert_eq!(w("app").pod_security, PodSecurity::Restricted);
    assert!(w("app").restricted_gaps.is_empty());
    // Docker's default capabilities (the generic preset's) are what "baseline" allows; root keeps
    // it from "restricted", and the gap says so.
    assert_eq!(w("web").pod_security, PodSecurity::Baseline);
    let gap = &w("web").restricted_gaps[0];
    assert!(gap.root && gap.capabilities.contains(&"CHOWN".to_string()) && gap.drops_all && gap.seccomp, "{gap:?}");
    // NET_RAW is outside "baseline".
    assert_eq!(w("ping").pod_security, PodSecurity::Privileged);
    assert_eq!(plan.pod_security, PodSecurity::Privileged);
    assert!(
        said(&plan.warnings, "enforces only the \"privileged\" Pod Security level, because ping need"),
        "{:?}",
        plan.warnings
    );
}
