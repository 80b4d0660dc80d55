//! Ports and entry points: the ports a workload's Service carries (the rules', compose's, or those
//! its clients name), which of them are published entry points, and its Ingress.

use std::collections::{BTreeMap, BTreeSet};

use crate::read::compose::Service;
use crate::rules::{Rules, ServiceRule};
use crate::warning::{Warning, WarningKind};

use super::{ProbeAction, Workload};

/// A published port: (container port, published port, `TCP`/`UDP`).
pub(super) type Published = (u16, Option<u16>, &'static str);

/// TCP ports (the rules', else compose's container ports and `expose`), UDP ports, and the
/// published entry points.
pub(super) fn ports(
    svc: &Service,
    rule: &ServiceRule,
    rules: &Rules,
    warnings: &mut Vec<Warning>,
) -> (Vec<u16>, Vec<u16>, Vec<Published>) {
    let ports: Vec<u16> = match &rule.ports {
        Some(p) => p.clone(),
        None => {
            for p in svc.ports.iter().filter(|p| !matches!(p.protocol.to_ascii_lowercase().as_str(), "tcp" | "udp")) {
                warnings.push(
                    Warning::new(
                        WarningKind::Port,
                        format!(
                    "service `{}`: port {}/{} is left out (Services here carry TCP and UDP); add it with an overlay",
                    svc.name, p.container, p.protocol
                ),
                    )
                    .service(&svc.name),
                );
            }
            let tcp = svc.ports.iter().filter(|p| p.protocol.eq_ignore_ascii_case("tcp"));
            let mut p: Vec<u16> = tcp.map(|p| p.container).chain(svc.expose.iter().copied()).collect();
            p.sort_unstable();
            p.dedup();
            p
        }
    };
    let mut udp_ports: Vec<u16> = match &rule.ports {
        Some(_) => Vec::new(),
        None => svc.ports.iter().filter(|p| p.protocol.eq_ignore_ascii_case("udp")).map(|p| p.container).collect(),
    };
    udp_ports.sort_unstable();
    udp_ports.dedup();
    let published = if rules.published_ports_are_entry_points && rule.ports.is_none() {
        published_ports(svc, &ports, &udp_ports)
    } else {
        Vec::new()
    };
    (ports, udp_ports, published)
}

/// The ports a service publishes (`"8080:80"`, long syntax with `published`): container port,
/// published port (a range or an empty host part publishes on a random port: none), protocol.
pub(super) fn published_ports(svc: &Service, tcp: &[u16], udp: &[u16]) -> Vec<(u16, Option<u16>, &'static str)> {
    let mut out: Vec<(u16, Option<u16>, &'static str)> = Vec::new();
    for p in svc.ports.iter().filter(|p| p.reachable_from_outside()) {
        let host = p.published.as_deref().unwrap_or_default();
        let protocol = if p.protocol.eq_ignore_ascii_case("udp") { "UDP" } else { "TCP" };
        let served = if protocol == "UDP" { udp } else { tcp };
        if !served.contains(&p.container) {
            continue;
        }
        let host = host.trim().parse::<u16>().ok().filter(|h| *h != 0);
        if !out.iter().any(|(c, h, pr)| *c == p.container && *pr == protocol && *h == host) {
            out.push((p.container, host, protocol));
        }
    }
    out
}

/// The Ingress of a workload: annotations its rule derives from the workload's own settings for
/// the chosen IngressClass, with the operator's `--ingress-annotation`s over them.
pub(super) fn ingress(
    choice: &crate::rules::IngressRule,
    rule: &ServiceRule,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<Warning>,
    service: &str,
) -> crate::rules::IngressRule {
    let mut annotations = BTreeMap::new();
    let derived = choice.class.as_ref().and_then(|c| rule.ingress_annotations.get(c));
    for (key, from) in derived.into_iter().flatten() {
        let Some(value) = env.get(&from.setting).filter(|v| !v.is_empty()) else { continue };
        let value = if from.seconds { nginx_seconds(value) } else { Some(value.clone()) };
        match value {
            Some(v) => {
                annotations.insert(key.clone(), v);
            }
            None => warnings.push(Warning::new(WarningKind::Ingress, format!(
                "service `{service}`: {} is not an nginx time (`60s`, `1h`, `90`); the Ingress annotation {key} is left out",
                from.setting
            )).service(service)),
        }
    }
    annotations.extend(choice.annotations.clone());
    crate::rules::IngressRule { annotations, ..choice.clone() }
}

/// The HTTPRoute of a workload: its Gateway, and the timeouts its rule derives from the workload's
/// own settings (`route_timeouts`), as Gateway API durations.
pub(super) fn route(
    gateway: &crate::rules::GatewayRule,
    rule: &ServiceRule,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<Warning>,
    service: &str,
) -> super::Route {
    let mut timeouts = BTreeMap::new();
    for (field, from) in &rule.route_timeouts {
        let Some(value) = env.get(&from.setting).filter(|v| !v.is_empty()) else { continue };
        let seconds = if from.seconds { nginx_seconds(value) } else { Some(value.clone()) };
        match seconds.and_then(|s| s.parse::<u64>().ok()).and_then(gateway_duration) {
            Some(d) => {
                timeouts.insert(field.clone(), d);
            }
            None => warnings.push(
                Warning::new(
                    WarningKind::Ingress,
                    format!(
                        "service `{service}`: {} (`{value}`) is not a time a route can carry (whole seconds, at most 99999h); the HTTPRoute's timeouts.{field} is left out",
                        from.setting
                    ),
                )
                .service(service),
            ),
        }
    }
    let timeout_setting = rule.route_timeouts.get("request").map(|t| t.setting.clone());
    let body_size = rule
        .route_body_size
        .as_ref()
        .and_then(|b| env.get(&b.setting).filter(|v| !v.is_empty()).map(|v| (b.setting.clone(), v.clone())));
    // The port is the Service's first, set once every pass has run (`objects`).
    super::Route { gateway: gateway.clone(), port: 80, timeouts, timeout_setting, body_size }
}

/// Whole seconds as a Gateway API duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`): `3600` → `1h`,
/// `90` → `1m30s`, `0` → `0s` (no timeout); none above 99999 hours.
pub fn gateway_duration(seconds: u64) -> Option<String> {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 99_999 {
        return None;
    }
    let mut out = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    Some(if out.is_empty() { "0s".into() } else { out })
}

/// An nginx time (`3600s`, `10m`, `1h`, `1h30m`, `90`; nginx's default unit is seconds) in whole
/// seconds; none for anything else (milliseconds below a second, unknown units).
pub fn nginx_seconds(value: &str) -> Option<String> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in value.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
        any = true;
    }
    any.then(|| total.to_string())
}

/// On a compose network every port a container listens on is reachable, declared or not: a
/// database without `ports:` or `expose:` is reached on the port its clients name (`db:5432` in a
/// URL). Such a port becomes the service's, so its Service listens there and its probe checks it.
pub(super) fn ports_named_by_clients(workloads: &mut [Workload], rules: &Rules, warnings: &mut Vec<Warning>) {
    // Only services that declare no port and run for good can gain one: the others are not searched for.
    let portless: BTreeSet<String> = workloads
        .iter()
        .filter(|t| t.ports.is_empty() && t.udp_ports.is_empty() && t.one_shot.is_none())
        .map(|t| t.name.clone())
        .collect();
    if portless.is_empty() {
        return;
    }
    let mut found: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for w in workloads.iter() {
        let texts: Vec<&String> = w
            .config
            .values()
            .chain(w.secrets.values())
            .chain(w.files.values())
            .chain(w.command.iter().flatten())
            .chain(w.args.iter().flatten())
            .collect();
        for target in w.talks_to.keys().filter(|t| portless.contains(*t)) {
            let ports = found.entry(target.clone()).or_default();
            for text in &texts {
                for p in crate::names::ports_after_host(text, target) {
                    if !ports.contains(&p) {
                        ports.push(p);
                    }
                }
            }
        }
    }
    for t in workloads.iter_mut() {
        let Some(ports) = found.get(&t.name) else { continue };
        // Named without a port (`DB_HOST: db`): the port its image listens on, when the rules know it.
        let image_port = rules.image_ports.get(&image_name(&t.image)).copied();
        let ports = if ports.is_empty() { image_port.into_iter().collect() } else { ports.clone() };
        let declared = !t.ports.is_empty() || !t.udp_ports.is_empty();
        if declared || t.one_shot.is_some() || ports.is_empty() {
            continue;
        }
        t.ports = ports.clone();
        if matches!(&t.probe.action, ProbeAction::Exec(argv) if argv.last().is_some_and(|a| a == "kill -0 1")) {
            t.probe.action = ProbeAction::Tcp(ports[0]);
            // The fallback probe's warning no longer holds: the port is checked.
            warnings.retain(|w| !(w.kind == WarningKind::Probe && w.service.as_ref() == Some(&t.upstream)));
        }
    }
}

/// The name `image_ports` knows an image by: its repository's last part, without registry, owner,
/// tag or digest (`docker.io/library/postgres:16-alpine` → `postgres`, `bitnami/redis:7` → `redis`).
pub(super) fn image_name(image: &str) -> String {
    let repository = super::release::image_repository(image);
    repository.rsplit('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        for (image, repo) in [
            ("postgres", "postgres"),
            ("postgres:16-alpine", "postgres"),
            ("docker.io/library/mysql:8.4", "mysql"),
            ("registry:5000/team/redis:7@sha256:abc", "redis"),
            ("bitnami/mariadb", "mariadb"),
        ] {
            assert_eq!(image_name(image), repo, "{image}");
        }
    }

    #[test]
    fn gateway_durations() {
        for (s, d) in [(3600, "1h"), (90, "1m30s"), (0, "0s"), (5400, "1h30m"), (86_401, "24h1s")] {
            assert_eq!(gateway_duration(s).as_deref(), Some(d), "{s}");
        }
        assert_eq!(gateway_duration(99_999 * 3600 + 3599).as_deref(), Some("99999h59m59s"));
        assert_eq!(gateway_duration(100_000 * 3600), None);
    }

    #[test]
    fn nginx_times_in_seconds() {
        for (t, s) in [("3600s", "3600"), ("90", "90"), ("10m", "600"), ("1h30m", "5400"), ("1d", "86400")] {
            assert_eq!(nginx_seconds(t).as_deref(), Some(s), "{t}");
        }
        for bad in ["", "500ms", "1x", "s", "abc", "99999999999999999999s"] {
            assert_eq!(nginx_seconds(bad), None, "{bad}");
        }
    }
}
