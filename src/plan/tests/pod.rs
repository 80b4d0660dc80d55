//! compose's container and pod keys: its security asks win over the rules' hardening (and are
//! explained), and its kind keys choose the workload kind.

use super::*;
use crate::plan::pod::compose_security;
use crate::plan::select::compose_kind;
use crate::rules::{Kind, Security};

fn hardened() -> Security {
    Security {
        allow_privilege_escalation: Some(false),
        drop_capabilities: Some(vec!["ALL".into()]),
        add_capabilities: Some(vec!["CHOWN".into()]),
        run_as_non_root: Some(true),
        run_as_user: Some(1000),
        ..Security::default()
    }
}

#[test]
fn what_compose_asks_for_wins_over_the_rules_and_is_explained() {
    let mut warnings = Vec::new();
    let mut findings = BTreeMap::new();
    let svc = Service {
        user: Some("0:0".into()),
        cap_add: vec!["cap_net_admin".into()],
        cap_drop: vec!["CHOWN".into()],
        read_only: true,
        ..service("vpn", "example/vpn:1")
    };
    let s = compose_security(&svc, hardened(), &mut warnings, &mut findings);
    assert_eq!((s.run_as_user, s.run_as_group, s.run_as_non_root), (Some(0), Some(0), None), "root, as asked");
    assert_eq!(s.add_capabilities, Some(vec!["NET_ADMIN".into()]), "added (spelt as Kubernetes does), CHOWN dropped");
    assert_eq!(s.drop_capabilities, Some(vec!["ALL".into()]));
    assert_eq!(s.read_only_root, Some(true));
    assert!(said(&warnings, "runs as root, as its `user` asks"), "{warnings:?}");
    assert!(
        findings["CKV_K8S_23"].contains("`user: 0:0`") && findings["CKV_K8S_25"].contains("cap_net_admin"),
        "{findings:?}"
    );

    // privileged: every capability, so no drop list, and no allowPrivilegeEscalation: false (refused with it).
    let svc = Service { privileged: true, ..service("dind", "docker:27-dind") };
    let s = compose_security(&svc, hardened(), &mut warnings, &mut BTreeMap::new());
    assert_eq!((s.privileged, s.allow_privilege_escalation, s.drop_capabilities), (Some(true), None, None));

    // A user name cannot be a numeric id: the image's own user applies, said.
    let svc = Service { user: Some("www-data".into()), ..service("php", "php:8") };
    let s = compose_security(&svc, hardened(), &mut warnings, &mut BTreeMap::new());
    assert_eq!(s.run_as_user, Some(1000));
    assert!(said(&warnings, "`user: www-data` is a name"), "{warnings:?}");
}

#[test]
fn compose_keys_choose_the_kind() {
    let none = std::collections::BTreeSet::new();
    let mut warnings = Vec::new();
    let global = Service { global: true, ..service("agent", "example/agent:1") };
    assert_eq!(compose_kind(&global, &none, &mut warnings), Some(Kind::DaemonSet));
    let once = Service { restart: Some("no".into()), ..service("migrate", "example/api:1") };
    assert_eq!(compose_kind(&once, &none, &mut warnings), Some(Kind::Job));
    // A server that compose does not restart stays a Deployment (with a warning): it has ports.
    let server =
        Service { restart: Some("no".into()), ports: vec![port(80, "tcp", None)], ..service("web", "nginx:1.27") };
    assert_eq!(compose_kind(&server, &none, &mut warnings), None);
    assert!(said(&warnings, "has `restart: \"no\"` but serves ports"), "{warnings:?}");
    let awaited = std::collections::BTreeSet::from(["seed"]);
    assert_eq!(compose_kind(&service("seed", "example/seed:1"), &awaited, &mut warnings), Some(Kind::Job));
    assert_eq!(compose_kind(&service("api", "example/api:1"), &none, &mut warnings), None, "the rules' default");
}
