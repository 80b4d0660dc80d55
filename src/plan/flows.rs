//! Flows: which workloads each one sends traffic to (hosts its settings, commands and files name,
//! and `depends_on`), only between workloads that share a compose network; egress limits of
//! internal networks; services that share another's network namespace (`network_mode`).

use std::collections::{BTreeMap, BTreeSet};

use crate::names::{names_host, setting_names_host};
use crate::read::compose::Service;
use crate::read::project::Project;
use crate::rules::Kind;
use crate::warning::{Warning, WarningKind};

use super::settings::Value;
use super::{Ctx, Workload};

/// A workload's flows and networks.
pub(super) struct Flows {
    pub talks_to: BTreeMap<String, String>,
    pub networks: BTreeSet<String>,
    pub egress_only_to: Option<BTreeSet<String>>,
}

/// Hosts this workload's settings (but those it only inherits), commands and files point at, and
/// `depends_on`. A setting, file or command that names a service run outside the cluster is said in
/// `dangling`.
#[allow(clippy::too_many_arguments)]
pub(super) fn flows(
    ctx: &Ctx,
    svc: &Service,
    name: &str,
    env: &BTreeMap<String, Value>,
    inherited: &BTreeSet<String>,
    files: &BTreeMap<String, String>,
    cmd_text: &str,
    dangling: &mut Vec<String>,
) -> Flows {
    let ns = &ctx.rules.namespace;
    let mut talks_to = BTreeMap::new();
    let mut named = BTreeSet::new();
    for text in files.values().map(String::as_str).chain([cmd_text]) {
        ctx.host_index.mentioned(text, &mut named);
    }
    for (key, value) in env {
        if !inherited.contains(key) {
            ctx.host_index.mentioned_by_setting(key, &value.plain, &mut named);
        }
    }
    // The rules' `never_calls`: names in its settings it does not send traffic to.
    let never = |t: &str| ctx.rules.service(&svc.name).is_some_and(|r| r.never_calls.contains_key(t));
    for target in named.into_iter().filter(|t| *t != name && !never(t)) {
        talks_to.insert(target.to_string(), "named as a host in its settings or config files".to_string());
    }
    for ext in &ctx.sel.externals {
        let mut still: Vec<String> =
            env.iter().filter(|(k, v)| setting_names_host(k, &v.plain, ext, ns)).map(|(k, _)| k.clone()).collect();
        still.extend(files.iter().filter(|(_, t)| names_host(t, ext, ns)).map(|(k, _)| k.clone()));
        if names_host(cmd_text, ext, ns) {
            still.push("its command".into());
        }
        if !still.is_empty() {
            dangling.push(format!("{name} → {ext}: {}", still.join(", ")));
        }
    }
    for dep in &svc.depends_on {
        if let Some(target) = ctx.sel.k8s_name.get(&dep.service) {
            if ctx.deployed.contains(target) && *target != name && !never(target) {
                talks_to.entry(target.clone()).or_insert_with(|| format!("depends_on {}", dep.service));
            }
        }
    }
    let networks: BTreeSet<String> = svc.networks.keys().cloned().collect();
    let internal: BTreeSet<&String> =
        networks.iter().filter(|n| ctx.project.networks.get(*n).is_some_and(|x| x.internal)).collect();
    let egress_only_to = (!networks.is_empty() && internal.len() == networks.len()).then(|| {
        internal
            .iter()
            .flat_map(|n| ctx.net_members.get(n).into_iter().flatten())
            .filter(|other| ***other != name)
            .map(|other| other.to_string())
            .collect()
    });
    Flows { talks_to, networks, egress_only_to }
}

/// The destinations a squid config among `files` denies first: the `dst` ACLs named by its first
/// `http_access` line, when that line denies.
pub(super) fn proxy_denies(files: &BTreeMap<String, String>) -> Vec<String> {
    for text in files.values() {
        let Some(first) = text.lines().map(str::trim).find(|l| l.starts_with("http_access ")) else { continue };
        let Some(rule) = first.strip_prefix("http_access deny ") else { continue };
        let mut blocks = Vec::new();
        for acl in rule.split_whitespace().filter(|a| !a.starts_with('!')) {
            let prefix = format!("acl {acl} dst ");
            for line in text.lines().filter_map(|l| l.trim().strip_prefix(prefix.as_str())) {
                blocks.extend(line.split_whitespace().take_while(|b| !b.starts_with('#')).map(str::to_string));
            }
        }
        if !blocks.is_empty() {
            return blocks;
        }
    }
    Vec::new()
}

/// Flows only between workloads that share a compose network (or are reached from outside).
pub(super) fn within_networks(workloads: &mut [Workload]) {
    let nets: BTreeMap<String, BTreeSet<String>> =
        workloads.iter().map(|w| (w.name.clone(), w.networks.clone())).collect();
    for w in workloads {
        let mine = w.networks.clone();
        w.talks_to.retain(|target, _| nets.get(target).is_some_and(|n| !n.is_disjoint(&mine)));
    }
}

/// `network_mode: service:X`: the service shares X's network namespace, so it runs in X's pod as a
/// second container. X's Service and policies take its ports, its flows become X's, flows to it go
/// to X. Only between long-running Deployments; otherwise it stays a pod of its own, with a warning.
pub(super) fn join_network_namespaces(project: &Project, workloads: &mut [Workload], warnings: &mut Vec<Warning>) {
    let index: BTreeMap<String, usize> = workloads.iter().enumerate().map(|(i, w)| (w.upstream.clone(), i)).collect();
    let mut joins = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        let Some(svc) = project.services.get(&w.upstream) else { continue };
        let Some(mode) = svc.network_mode.as_deref() else { continue };
        let Some(target) = mode.strip_prefix("service:").or_else(|| mode.strip_prefix("container:")) else {
            continue;
        };
        // `container:NAME` names a container: the service whose container_name (or name) it is.
        let host = project
            .services
            .values()
            .find(|s| s.name == target || s.container_name.as_deref() == Some(target))
            .and_then(|s| index.get(&s.name).copied());
        let Some(j) = host.filter(|&j| j != i) else {
            warnings.push(Warning::new(WarningKind::Network, format!(
                "service `{}` shares the network of `{target}` (network_mode), which is not deployed here; it is a pod of its own",
                w.name
            )).service(&w.upstream));
            continue;
        };
        let x = &workloads[j];
        let joinable = |w: &Workload| w.kind == Kind::Deployment && w.one_shot.is_none();
        let svc_x = project.services.get(&x.upstream);
        if !joinable(w) || !joinable(x) || svc_x.is_some_and(|s| s.network_mode.is_some()) {
            warnings.push(Warning::new(WarningKind::Network, format!(
                "service `{}` shares the network of `{}` (network_mode), but only two long-running Deployments can share a pod here; it is a pod of its own reached through its Service",
                w.name, x.name
            )).service(&w.upstream));
            continue;
        }
        if w.replicas != x.replicas {
            warnings.push(
                Warning::new(
                    WarningKind::Network,
                    format!(
                        "service `{}` runs in `{}`'s pod (network_mode), so it has {}'s {} replica(s), not its own {}",
                        w.name, x.name, x.name, x.replicas, w.replicas
                    ),
                )
                .service(&w.upstream),
            );
        }
        joins.push((i, j));
    }
    for (i, j) in joins {
        let joined = workloads[i].clone();
        let host_name = workloads[j].name.clone();
        let x = &mut workloads[j];
        for p in &joined.ports {
            if !x.ports.contains(p) {
                x.ports.push(*p);
            }
        }
        for p in &joined.udp_ports {
            if !x.udp_ports.contains(p) {
                x.udp_ports.push(*p);
            }
        }
        x.published.extend(joined.published.iter().filter(|p| !x.published.contains(p)).cloned().collect::<Vec<_>>());
        for (t, why) in &joined.talks_to {
            if *t != host_name {
                x.talks_to.entry(t.clone()).or_insert_with(|| why.clone());
            }
        }
        x.recreate |= joined.recreate;
        x.checksum = crate::hash::sha256(format!("{}\0{}", x.checksum, joined.checksum).as_bytes());
        for (k, v) in &joined.compose_findings {
            x.compose_findings.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let w = &mut workloads[i];
        w.joins = Some(host_name.clone());
        w.talks_to.clear();
        w.networks.clear();
        w.egress_only_to = None;
        w.internet_except = None;
        w.ingress = None;
        w.route = None;
        let joined_name = w.name.clone();
        for other in workloads.iter_mut() {
            if let Some(why) = other.talks_to.remove(&joined_name) {
                if other.name != host_name {
                    other.talks_to.entry(host_name.clone()).or_insert(why);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `dst` ACLs named by a first `http_access deny` (not the negated ones), with their
    /// trailing comments left out; a config whose first rule allows denies nothing first.
    #[test]
    fn a_proxy_denies_the_destinations_of_its_first_deny_rule() {
        let squid = "acl private dst 10.0.0.0/8 172.16.0.0/12 # RFC 1918\nacl meta dst 169.254.0.0/16\nacl ok src all\nhttp_access deny private meta !ok\nhttp_access allow ok\n";
        let files = BTreeMap::from([
            ("README".to_string(), "no rules here\n".to_string()),
            ("squid.conf".to_string(), squid.to_string()),
        ]);
        assert_eq!(proxy_denies(&files), ["10.0.0.0/8", "172.16.0.0/12", "169.254.0.0/16"]);
        let allows_first = BTreeMap::from([("squid.conf".to_string(), format!("http_access allow all\n{squid}"))]);
        assert!(proxy_denies(&allows_first).is_empty());
    }
}
