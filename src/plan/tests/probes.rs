//! Probes: the rules' check, else compose's healthcheck on its schedule, else the first port, else
//! a process check; never a password written into a pod.

use super::*;
use crate::plan::probes::probe;
use crate::plan::settings::SecretValues;
use crate::plan::ProbeAction;
use crate::read::compose::{HealthTest, Healthcheck};
use crate::rules::ProbeRule;

fn healthcheck(test: HealthTest) -> Healthcheck {
    Healthcheck {
        test: Some(test),
        interval: Some(5),
        timeout: Some(30),
        retries: Some(0),
        start_period: Some(60),
        disabled: false,
    }
}

#[test]
fn the_rule_then_the_healthcheck_then_the_port_then_the_process() {
    let rules = rules("");
    let hosts = crate::names::HostMap::default();
    let (env, known) = (BTreeMap::new(), SecretValues { list: Vec::new(), vars: BTreeMap::new() });
    let check = |rule: Option<&ProbeRule>, svc: &Service, ports: &[u16], warnings: &mut Vec<Warning>| {
        probe(rule, svc, ports, &rules, &env, &known, &hosts, warnings)
    };
    let mut warnings = Vec::new();
    let checked = Service {
        healthcheck: Some(healthcheck(HealthTest::Exec(vec!["pg_isready".into()]))),
        ..service("db", "postgres:16")
    };

    // The rules' check wins over compose's.
    let http = ProbeRule {
        http: Some(crate::rules::HttpProbe { path: "/health".into(), port: 8080 }),
        ..ProbeRule::default()
    };
    let p = check(Some(&http), &checked, &[5432], &mut warnings);
    assert_eq!(p.action, ProbeAction::Http { path: "/health".into(), port: 8080 });

    // compose's healthcheck, on its schedule: the timeout no longer than the period, one failure at least.
    let p = check(None, &checked, &[5432], &mut warnings);
    assert_eq!(p.action, ProbeAction::Exec(vec!["pg_isready".into()]));
    assert_eq!((p.period_seconds, p.timeout_seconds, p.failure_threshold, p.startup_seconds), (5, 5, 1, Some(60)));

    // A healthcheck with a password in it stays out of the pod: the port is probed, and that is said.
    let curl = HealthTest::Shell("curl -fsS -u admin:hunter2 http://localhost:9200".into());
    let with_password = Service { healthcheck: Some(healthcheck(curl)), ..service("search", "elasticsearch:8") };
    let p = check(None, &with_password, &[9200], &mut warnings);
    assert_eq!(p.action, ProbeAction::Tcp(9200));
    assert!(said(&warnings, "service `search`: its healthcheck carries a password"), "{warnings:?}");

    // No healthcheck: the first port; no port either: only that PID 1 runs, said.
    assert_eq!(check(None, &service("web", "nginx:1.27"), &[80, 443], &mut warnings).action, ProbeAction::Tcp(80));
    let p = check(None, &service("worker", "example/worker:1"), &[], &mut warnings);
    assert_eq!(p.action, ProbeAction::Exec(vec!["sh".into(), "-c".into(), "kill -0 1".into()]));
    assert!(said(&warnings, "service `worker` has no TCP port and no healthcheck"), "{warnings:?}");
}
