//! Compose's container and pod keys: security keys over the rules', resources, placement, rollout,
//! hostname and groups, and how a one-shot service runs.

use std::collections::BTreeMap;

use crate::read::compose::Service;
use crate::rules::{Kind, Resources, Security};
use crate::warning::{Warning, WarningKind};

use super::{OneShot, Workload};

/// The security context with what the compose file asks for laid over the rules: its `user`,
/// `read_only`, `cap_add`, `cap_drop` and `privileged`. The rules' hardening never takes away
/// what compose asks for; where they differ, compose wins and a warning says so. The checkov
/// findings that follow are accepted into `findings`, with the compose key as the reason.
pub(super) fn compose_security(
    svc: &Service,
    mut s: Security,
    warnings: &mut Vec<Warning>,
    findings: &mut BTreeMap<String, String>,
) -> Security {
    if let Some(user) = svc.user.as_deref().filter(|u| !u.trim().is_empty()) {
        compose_user(svc, user, &mut s, warnings, findings);
    }
    if svc.read_only {
        s.read_only_root = Some(true);
    }
    compose_capabilities(svc, &mut s, findings);
    if svc.privileged {
        warnings.push(Warning::new(WarningKind::Security, format!(
            "service `{}`: runs privileged, as its `privileged: true` asks: it gets every capability and device of its node (remove it from the compose file if the image does not need it)",
            svc.name
        )).service(&svc.name));
        s.privileged = Some(true);
        accept(
            findings,
            &["CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_23"],
            "the compose file runs it privileged (`privileged: true`), kept as it asks",
        );
        // The API server refuses privileged with allowPrivilegeEscalation false; a privileged
        // container has every capability, so a drop list would only mislead.
        s.allow_privilege_escalation = None;
        s.drop_capabilities = None;
    }
    s
}

/// A finding accepted for `checks`, unless an earlier reason was given.
fn accept(findings: &mut BTreeMap<String, String>, checks: &[&str], reason: &str) {
    for c in checks {
        findings.entry(c.to_string()).or_insert_with(|| reason.to_string());
    }
}

/// Compose's `user: UID[:GID]` over the rules' user (`root` is 0; a name needs the image's
/// /etc/passwd, so the image's own user applies, with a warning).
fn compose_user(
    svc: &Service,
    user: &str,
    s: &mut Security,
    warnings: &mut Vec<Warning>,
    findings: &mut BTreeMap<String, String>,
) {
    let name = &svc.name;
    let (uid, gid) = user.split_once(':').map_or((user, None), |(u, g)| (u, Some(g)));
    // `root` is uid and gid 0 in every image; other names need the image's /etc/passwd.
    let id = |t: &str| if t.trim() == "root" { Ok(0) } else { t.trim().parse::<i64>() };
    match id(uid) {
        Ok(uid) if uid >= 0 => {
            if s.run_as_user.is_some_and(|r| r != uid) {
                warnings.push(Warning::new(WarningKind::Security, format!(
                    "service `{name}`: runs as user {uid}, as its `user` asks (the rules chose {})",
                    s.run_as_user.unwrap_or_default()
                )).service(name));
            }
            s.run_as_user = Some(uid);
            if uid == 0 && s.run_as_non_root == Some(true) {
                warnings.push(Warning::new(WarningKind::Security, format!(
                    "service `{name}`: runs as root, as its `user` asks, although the rules want non-root users"
                )).service(name));
            }
            s.run_as_non_root = (uid != 0).then_some(true);
            if uid == 0 {
                let reason = format!("the compose file runs it as root (`user: {user}`), kept as it asks");
                accept(findings, &["CKV_K8S_23"], &reason);
            }
            match gid.map(id) {
                Some(Ok(g)) if g >= 0 => s.run_as_group = Some(g),
                Some(_) => warnings.push(Warning::new(WarningKind::Security, format!(
                    "service `{name}`: group `{}` of `user: {user}` is a name; Kubernetes takes numeric ids, so the image's group applies (set runAsGroup in an overlay)",
                    gid.unwrap_or_default()
                )).service(name)),
                None => {}
            }
        }
        _ => warnings.push(Warning::new(WarningKind::Security, format!(
            "service `{name}`: `user: {user}` is a name; Kubernetes takes numeric ids, so the image's own user applies (set runAsUser in an overlay)"
        )).service(name)),
    }
}

/// Compose's `cap_add` and `cap_drop` over the rules' capabilities: what compose adds is never
/// dropped by name; what it drops leaves the rules' added list unless compose adds it too.
fn compose_capabilities(svc: &Service, s: &mut Security, findings: &mut BTreeMap<String, String>) {
    let cap = |c: &String| c.trim().to_ascii_uppercase().trim_start_matches("CAP_").to_string();
    if !svc.cap_add.is_empty() {
        let mut add = s.add_capabilities.take().unwrap_or_default();
        for c in svc.cap_add.iter().map(cap) {
            if !add.contains(&c) {
                add.push(c.clone());
            }
            // A capability compose adds is never dropped by name (dropping ALL still lets `add` through).
            if let Some(drop) = s.drop_capabilities.as_mut() {
                drop.retain(|d| *d != c || c == "ALL");
            }
        }
        let asked = svc.cap_add.join(", ");
        let reason = format!("the compose file adds these capabilities (`cap_add: {asked}`), kept as it asks");
        accept(findings, &["CKV_K8S_25", "CKV_K8S_39"], &reason);
        s.add_capabilities = Some(add);
    }
    if !svc.cap_drop.is_empty() {
        // What compose drops leaves the rules' list of capabilities added back (Docker's defaults,
        // for the generic preset), unless compose also adds it.
        let asked: Vec<String> = svc.cap_add.iter().map(cap).collect();
        let mut drop = s.drop_capabilities.take().unwrap_or_default();
        let mut add = s.add_capabilities.take().unwrap_or_default();
        for c in svc.cap_drop.iter().map(cap) {
            add.retain(|a| asked.contains(a) || (c != "ALL" && *a != c));
            if !drop.contains(&c) && !drop.iter().any(|d| d == "ALL") && !add.contains(&c) {
                drop.push(c);
            }
        }
        s.drop_capabilities = Some(drop);
        s.add_capabilities = Some(add);
    }
}

/// How a one-shot service runs as a Job. Kubernetes starts it without waiting for the services it
/// depends on, so even `restart: "no"` is retried (new pods, up to compose's max attempts or 6)
/// rather than failing once because its database was not up yet.
pub(super) fn one_shot(svc: &Service, w: &Workload) -> OneShot {
    let mut text = w.checksum.clone();
    for part in std::iter::once(&w.image).chain(w.command.iter().flatten()).chain(w.args.iter().flatten()) {
        text.push('\0');
        text.push_str(part);
    }
    let hash = crate::hash::sha256(text.as_bytes());
    let base: String = w.name.chars().take(63 - 9).collect();
    OneShot {
        object_name: format!("{}-{}", base.trim_end_matches('-'), &hash[..8]),
        restart_policy: if svc.restart.as_deref() == Some("on-failure") { "OnFailure" } else { "Never" }.to_string(),
        backoff_limit: svc.max_attempts.unwrap_or(6),
    }
}

/// Compose's placement constraints as required node affinity (every constraint must hold, as in
/// swarm); a constraint on something nodes have no label for is left out with a warning.
pub(super) fn node_affinity(svc: &Service, warnings: &mut Vec<Warning>) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for c in &svc.constraints {
        let parsed =
            c.split_once("==").map(|(l, r)| (l, r, true)).or_else(|| c.split_once("!=").map(|(l, r)| (l, r, false)));
        let Some((lhs, rhs, equal)) = parsed else {
            warnings.push(
                Warning::new(
                    WarningKind::Pod,
                    format!("service `{}`: placement constraint `{c}` is neither `==` nor `!=`; left out", svc.name),
                )
                .service(&svc.name),
            );
            continue;
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim().to_string());
        let op = if equal { "In" } else { "NotIn" }.to_string();
        let arch = |a: &str| match a {
            "x86_64" => "amd64".to_string(),
            "aarch64" => "arm64".to_string(),
            other => other.to_string(),
        };
        let expr = match lhs {
            "node.hostname" => Some(("kubernetes.io/hostname".to_string(), op, vec![rhs])),
            "node.platform.os" => Some(("kubernetes.io/os".to_string(), op, vec![rhs])),
            "node.platform.arch" => Some(("kubernetes.io/arch".to_string(), op, vec![arch(&rhs)])),
            "node.role" => {
                let manager = (rhs == "manager") == equal;
                let op = if manager { "Exists" } else { "DoesNotExist" };
                Some(("node-role.kubernetes.io/control-plane".to_string(), op.to_string(), Vec::new()))
            }
            l => l.strip_prefix("node.labels.").map(|label| (label.to_string(), op, vec![rhs])),
        };
        match expr {
            Some(e) => out.push(e),
            None => warnings.push(
                Warning::new(WarningKind::Pod, format!(
                    "service `{}`: placement constraint `{c}` has no node label in Kubernetes; left out (add a nodeSelector in an overlay)",
                    svc.name
                ))
                .service(&svc.name),
            ),
        }
    }
    out
}

/// Node labels of compose's `preferences: - spread: node.labels.X`.
pub(super) fn spread_keys(svc: &Service, warnings: &mut Vec<Warning>) -> Vec<String> {
    let mut out = Vec::new();
    for key in &svc.spread {
        match key.trim().strip_prefix("node.labels.") {
            Some(label) if !out.iter().any(|k| k == label) => out.push(label.to_string()),
            Some(_) => {}
            None => warnings.push(
                Warning::new(
                    WarningKind::Pod,
                    format!(
                        "service `{}`: placement preference `spread: {key}` names no node label; left out",
                        svc.name
                    ),
                )
                .service(&svc.name),
            ),
        }
    }
    out
}

/// Compose's `update_config` (`parallelism`, `order`) as a rolling update's (maxSurge,
/// maxUnavailable): stop-first replaces N pods at a time, start-first starts N new ones first;
/// parallelism 0 is all at once.
pub(super) fn rollout(svc: &Service, kind: Kind, warnings: &mut Vec<Warning>) -> Option<(String, String)> {
    if svc.update_parallelism.is_none() && svc.update_order.is_none() {
        return None;
    }
    if !matches!(kind, Kind::Deployment | Kind::DaemonSet) {
        warnings.push(
            Warning::new(
                WarningKind::Pod,
                format!(
                    "service `{}`: `deploy.update_config` is left out: a {} replaces its pods one at a time",
                    svc.name,
                    kind.object_kind()
                ),
            )
            .service(&svc.name),
        );
        return None;
    }
    let n = match svc.update_parallelism.unwrap_or(1) {
        0 => "100%".to_string(),
        n => n.to_string(),
    };
    Some(if svc.update_order.as_deref() == Some("start-first") { (n, "0".into()) } else { ("0".into(), n) })
}

/// A Deployment's pods get compose's `hostname` when it is a DNS label; a StatefulSet's controller
/// names each pod's host after the pod (the name still resolves through the Service alias).
pub(super) fn pod_hostname(svc: &Service, kind: Kind, warnings: &mut Vec<Warning>) -> Option<String> {
    let host = svc.hostname.as_deref().filter(|h| !h.is_empty())?;
    if kind == Kind::StatefulSet {
        warnings.push(Warning::new(WarningKind::Pod, format!(
            "service `{}`: `hostname: {host}` is not set on the pods, whose StatefulSet names each pod's host after the pod; other pods still reach it as `{host}`",
            svc.name
        )).service(&svc.name));
        return None;
    }
    let label = host.len() <= 63
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !host.starts_with('-')
        && !host.ends_with('-');
    if !label {
        warnings.push(Warning::new(WarningKind::Pod, format!(
            "service `{}`: `hostname: {host}` is not a DNS label (lower-case letters, digits and `-`, up to 63), so the pods keep their generated host names",
            svc.name
        )).service(&svc.name));
        return None;
    }
    Some(host.to_string())
}

/// Compose's `group_add` as numeric ids; names are left out with a warning.
pub(super) fn group_ids(svc: &Service, warnings: &mut Vec<Warning>) -> Vec<i64> {
    let mut ids = Vec::new();
    for g in &svc.group_add {
        match g.trim().parse::<i64>() {
            Ok(id) if id >= 0 => ids.push(id),
            _ => warnings.push(Warning::new(WarningKind::Security, format!(
                "service `{}`: group `{g}` of `group_add` is a name; Kubernetes takes numeric ids (add its id to supplementalGroups in an overlay)",
                svc.name
            )).service(&svc.name)),
        }
    }
    ids
}

/// The defaults with compose's own `deploy.resources` over them. A compose limit without a
/// reservation drops the default request, so Kubernetes requests the limit (never more than it).
pub(super) fn compose_resources(svc: &Service, defaults: &Resources) -> Resources {
    let mut r = defaults.clone();
    for (k, v) in &svc.limits {
        r.limits.insert(k.clone(), v.clone());
        if !svc.requests.contains_key(k) {
            r.requests.remove(k);
        }
    }
    r.requests.extend(svc.requests.clone());
    r
}
