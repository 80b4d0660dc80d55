//! Pass 1: which services become workloads, under which names and kinds, and why the others do not.

use super::*;
use crate::plan::select::select;
use crate::rules::Kind;

#[test]
fn services_become_workloads_or_are_left_out_with_a_reason() {
    let cache = Service { profiles: vec!["extra".into()], ..service("cache", "redis:7") };
    let builder = Service { image: None, has_build: true, build_only: true, ..service("builder", "") };
    let init = service("init", "busybox:1.36");
    let web = Service {
        depends_on: vec![depends_on("init", "service_completed_successfully")],
        container_name: Some("my-web".into()),
        ..service("web", "nginx:1.27")
    };
    let db = service("db", "postgres:16");
    let legacy = service("legacy", "mysql:5.7");
    let project = project(vec![cache, builder, init, web, db, legacy]);
    let rules = rules("services:\n  db:\n    name: postgres\n  legacy:\n    kind: Omit\n    reason: replaced by db\n");
    let mut warnings = Vec::new();
    let sel = select(&project, &rules, &mut warnings).expect("selected");

    assert_eq!(sel.deployed, ["init", "web", "postgres"], "compose order, the rules' names");
    // A service another waits to complete is a one-shot Job; the rest take the default kind.
    assert_eq!(sel.kinds, [Kind::Job, Kind::Deployment, Kind::Deployment]);
    let omitted: BTreeMap<&str, &str> = sel.omitted.iter().map(|(s, r)| (s.as_str(), r.as_str())).collect();
    assert_eq!(
        omitted,
        BTreeMap::from([
            ("cache", "profile not active (extra)"),
            ("builder", "no image to run"),
            ("legacy", "replaced by db"),
        ])
    );
    assert!(said(&warnings, "service `builder` has no image"), "{warnings:?}");
    // Every name a service answers to leads to its workload, renamed ones too.
    assert_eq!(sel.k8s_name["db"], "postgres");
    assert_eq!(sel.hosts.rewrite("postgresql://db:5432/app", None), "postgresql://postgres:5432/app");
    assert_eq!(sel.hosts.rewrite("http://my-web/", None), "http://web/");
    // The services the rules do not name are said to be translated generically.
    assert!(said(&warnings, "service `web` is not covered by the rules"), "{warnings:?}");
}

#[test]
fn two_services_named_alike_by_the_rules_are_refused() {
    let project = project(vec![service("a", "nginx:1.27"), service("b", "nginx:1.27")]);
    let rules = rules("services:\n  a:\n    name: app\n  b:\n    name: app\n");
    let err = select(&project, &rules, &mut Vec::new()).err().expect("refused");
    assert!(err.to_string().contains("two services become the workload `app`"), "{err}");
}
