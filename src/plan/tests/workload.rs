//! Pass 5: one chosen service, one workload: the rules over compose over the defaults.

use super::*;
use crate::plan::workload::workload;
use crate::rules::Kind;

#[test]
fn the_rules_win_over_compose_and_compose_over_the_defaults() {
    let api = Service {
        replicas: Some(3),
        environment: env(&[("LOG_LEVEL", "info"), ("API_TOKEN", "t0ken-value")]),
        ..service("api", "example/api:1.0")
    };
    let web = Service { replicas: Some(3), ..service("web", "example/web:1.0") };
    let project = project(vec![api, web, service("db", "postgres:16")]);
    let rules = rules(
        "services:\n  api: {}\n  web:\n    replicas: 2\n    service_type: NodePort\n  db:\n    kind: StatefulSet\n",
    );
    with_ctx(&project, &rules, |ctx, warnings| {
        let make = |i: usize, warnings: &mut Vec<Warning>| {
            let env = &ctx.settings.each[i];
            workload(ctx, i, env, &mut BTreeMap::new(), &mut Vec::new(), warnings).expect("a workload")
        };
        let api = make(0, warnings);
        assert_eq!((api.replicas, api.kind, api.service_type.as_str()), (3, Kind::Deployment, "ClusterIP"));
        assert_eq!(api.image, "example/api:1.0");
        // Its settings split: plain ones for its ConfigMap, secret ones as placeholders for its Secret.
        assert_eq!(api.config.get("LOG_LEVEL").map(String::as_str), Some("info"));
        assert_eq!(api.secrets.get("API_TOKEN").map(String::as_str), Some("CHANGE_ME_API_TOKEN"));
        let web = make(1, warnings);
        assert_eq!((web.replicas, web.service_type.as_str()), (2, "NodePort"));
        let db = make(2, warnings);
        assert_eq!((db.replicas, db.kind), (1, Kind::StatefulSet), "the default count, the rules' kind");
    });
}

#[test]
fn a_job_on_a_stateful_set_is_refused() {
    let project = project(vec![service("cache", "redis:7")]);
    let rules =
        rules("services:\n  cache:\n    kind: StatefulSet\n    jobs:\n      flush: {command: [redis-cli, flushall]}\n");
    let err = with_ctx(&project, &rules, |ctx, warnings| {
        workload(ctx, 0, &ctx.settings.each[0], &mut BTreeMap::new(), &mut Vec::new(), warnings).err()
    });
    assert!(err.expect("refused").to_string().contains("a StatefulSet, whose claims a Job cannot share"));
}
