//! The Network chapter: the traffic paths between the workloads, who keeps internet access, the
//! ranges the policies know, and the names that tie the tree to its namespace.

use super::lookup::{pod_target, Lookup};
use crate::guide::Facts;

/// What the Network chapter says.
#[derive(serde::Serialize)]
pub(super) struct NetworkChapter {
    /// The main traffic paths (`a -> b`).
    traffic: Vec<String>,
    /// Workloads that get the whole `.env` but only inherit it.
    inherit_env_source: Vec<String>,
    /// Workloads that keep internet access to call model providers and plugin sources.
    internet_users: Vec<String>,
    /// The cluster's ranges and the ranges let through (`--cluster-cidr`, `--service-cidr`, `--allow-egress`).
    cluster_ranges: Vec<String>,
    allowed_ranges: Vec<String>,
    /// Workloads whose config files name Services by their fully qualified names.
    fqdn_users: Vec<String>,
    cluster_domain: String,
    /// A Service name to resolve in the DNS test.
    dns_example: Option<String>,
    /// A workload whose outbound traffic goes through a proxy, and the proxy.
    proxied: Option<ProxiedView>,
}

/// The Network chapter of the facts.
pub(super) fn network_chapter(f: &Facts, r: &Lookup) -> NetworkChapter {
    NetworkChapter {
        traffic: r.traffic_paths(),
        inherit_env_source: f.inherit_env_source.clone(),
        internet_users: r.names_of(&f.guide.internet),
        cluster_ranges: f.cluster_ranges.clone(),
        allowed_ranges: f.allowed_ranges.clone(),
        fqdn_users: f.fqdn_users.clone(),
        cluster_domain: f.cluster_domain.clone(),
        dns_example: f.workloads.iter().find(|w| w.service_type.is_some()).map(|w| w.name.clone()),
        proxied: proxied_view(f, r),
    }
}

#[derive(serde::Serialize)]
struct ProxiedView {
    workload: String,
    proxy: String,
    proxy_pod: String,
}

/// The workload whose outbound traffic goes through a proxy, and the proxy, when both exist.
fn proxied_view(f: &Facts, r: &Lookup) -> Option<ProxiedView> {
    match f.guide.proxied.as_ref().map(|p| (r.by_key(Some(&p.workload)), r.by_key(Some(&p.proxy)))) {
        Some((Some(s), Some(p))) => {
            Some(ProxiedView { workload: s.name.clone(), proxy: p.name.clone(), proxy_pod: pod_target(p) })
        }
        _ => None,
    }
}

impl Lookup<'_> {
    /// The rules' main traffic paths (`a -> b`) with the workloads that exist (see
    /// `Guide::traffic`).
    pub(in crate::guide) fn traffic_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        'path: for line in &self.f.guide.traffic {
            let (arrow, hops) = match line.contains("<->") {
                true => (" <-> ", line.split("<->").collect::<Vec<_>>()),
                false => (" -> ", line.split("->").collect::<Vec<_>>()),
            };
            let mut shown: Vec<String> = Vec::new();
            let mut out: Vec<String> = Vec::new();
            for hop in hops {
                let hop = hop.trim();
                let (hop, optional) = hop.strip_suffix('?').map_or((hop, false), |h| (h, true));
                let names: Vec<String> = match hop {
                    "Internet" => vec![hop.to_string()],
                    "<entry>" => self.entry().map(|e| e.name.clone()).into_iter().collect(),
                    _ => self.names_of(&hop.split(',').map(str::trim).collect::<Vec<_>>()),
                };
                let names: Vec<String> = names.into_iter().filter(|n| !shown.contains(n)).collect();
                match (names.is_empty(), optional) {
                    (true, true) => break,
                    (true, false) => continue 'path,
                    (false, _) => {
                        shown.extend(names.iter().cloned());
                        out.push(names.join(", "));
                    }
                }
            }
            if out.len() > 1 {
                paths.push(out.join(arrow));
            }
        }
        paths
    }
}
