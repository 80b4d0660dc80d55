//! Flows: who sends traffic to whom (hosts named in settings, files and commands, `depends_on`),
//! only within shared networks; an internal network's members reach only one another.

use super::*;
use crate::plan::flows::flows;
use crate::read::compose::Network;

#[test]
fn named_hosts_and_depends_on_make_flows_and_internal_networks_fence_egress() {
    let on = |nets: &[&str]| nets.iter().map(|n| (n.to_string(), Vec::new())).collect::<BTreeMap<_, _>>();
    let api = Service {
        environment: env(&[("DB_HOST", "db"), ("CACHE_URL", "redis://cache:6379"), ("LOG_LEVEL", "info")]),
        depends_on: vec![depends_on("queue", "service_started")],
        networks: on(&["default", "backend"]),
        ..service("api", "example/api:1.0")
    };
    let sandbox = Service {
        environment: env(&[("API", "http://api:5001")]),
        networks: on(&["backend"]),
        ..service("sandbox", "example/sandbox:1")
    };
    let mut project = project(vec![
        api,
        Service { networks: on(&["default", "backend"]), ..service("db", "postgres:16") },
        service("cache", "redis:7"),
        service("queue", "rabbitmq:3"),
        sandbox,
    ]);
    project.networks.insert("backend".into(), Network { internal: true, external: false });
    let rules = rules("services:\n  cache:\n    kind: External\n    reason: a managed Redis\n");
    with_ctx(&project, &rules, |ctx, _| {
        let flows_of = |i: usize, dangling: &mut Vec<String>| {
            let (svc, _) = ctx.sel.chosen[i];
            let env = &ctx.settings.each[i];
            flows(ctx, svc, ctx.sel.name(svc), env, &ctx.settings.inherited[i], &BTreeMap::new(), "", dangling)
        };
        let mut dangling = Vec::new();
        let api = flows_of(0, &mut dangling);
        assert_eq!(api.talks_to.keys().collect::<Vec<_>>(), ["db", "queue"], "named hosts and depends_on");
        assert!(api.talks_to["queue"].starts_with("depends_on"), "{:?}", api.talks_to);
        // The setting still names a service run outside the cluster: said, for plan() to refuse.
        assert_eq!(dangling, ["api → cache: CACHE_URL"]);
        // On a network that is not internal too: egress is not limited to members.
        assert_eq!(api.egress_only_to, None);
        // Only on the internal network: it reaches its members, and nothing else.
        let sandbox = flows_of(3, &mut Vec::new());
        assert_eq!(sandbox.talks_to.keys().collect::<Vec<_>>(), ["api"]);
        let members: Vec<String> = sandbox.egress_only_to.expect("fenced").into_iter().collect();
        assert_eq!(members, ["api", "db"]);
    });
}
