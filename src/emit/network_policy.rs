//! The tree's NetworkPolicies: no pod of the app accepts traffic unless a policy allows it, then
//! one policy per workload that is reached (who may, and why) and per workload whose egress is
//! fenced.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::folder::Folder;
use super::meta::{part_of_labels, selector_labels};
// A family beside this one: a policy opens the ports the workload's Service serves.
use super::services::protocol_ports;
use super::yaml_text::to_yaml;
use crate::plan::{Plan, Workload};

/// The tree's network policies, in `base/`.
pub(super) fn add_network_policies(plan: &Plan, folder: &mut Folder) {
    folder.add("networkpolicy.yaml", to_yaml(&network_policies(plan)));
}

/// Default-deny ingress for the tool's pods, then one policy per allowed flow set, each saying why.
pub fn network_policies(plan: &Plan) -> Vec<NetworkPolicy> {
    let mut out = vec![default_deny(plan)];
    // Who talks to whom, indexed once (in workload order) rather than searched for every target.
    let mut talkers: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for w in &plan.workloads {
        for target in w.talks_to.keys() {
            talkers.entry(target).or_default().push(w);
        }
    }
    for target in plan.workloads.iter().filter(|w| w.serves()) {
        let sources: &[&Workload] = talkers.get(target.name.as_str()).map_or(&[], Vec::as_slice);
        out.extend(ingress_policy(plan, target, sources));
    }
    let by_name: BTreeMap<&str, (usize, &Workload)> =
        plan.workloads.iter().enumerate().map(|(i, w)| (w.name.as_str(), (i, w))).collect();
    for w in plan.workloads.iter().filter(|w| w.egress_only_to.is_some() || w.internet_except.is_some()) {
        out.push(egress_policy(plan, w, &by_name));
        // A Job runs the workload's pod under a label of its own: the same fence, without the
        // workloads it never calls.
        for job in &w.jobs {
            let mut pod = w.clone();
            pod.name = job.label.clone();
            pod.talks_to.retain(|target, _| !job.never_calls.contains(target));
            out.push(egress_policy(plan, &pod, &by_name));
        }
    }
    out
}

/// No pod of the tool's accepts traffic unless a policy allows it.
fn default_deny(plan: &Plan) -> NetworkPolicy {
    let mut only_ours = BTreeMap::new();
    only_ours.insert("app.kubernetes.io/part-of".to_string(), plan.instance.clone());
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some("default-deny-ingress".into()),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of("no pod of this app accepts traffic unless a policy below allows it".into())),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(only_ours), ..Default::default() }),
            policy_types: Some(vec!["Ingress".into()]),
            ..Default::default()
        }),
    }
}

/// Who may reach `target` (its Service's pods): anyone on the ports compose publishes, anyone when it
/// is exposed, and the workloads (and their Jobs) that use it; none when nothing does.
fn ingress_policy(plan: &Plan, target: &Workload, sources: &[&Workload]) -> Option<NetworkPolicy> {
    let exposed = target.exposed;
    if sources.is_empty() && !exposed && target.published.is_empty() && target.route.is_none() {
        return None;
    }
    let mut why: Vec<String> = sources.iter().map(|s| format!("{} ({})", s.name, s.talks_to[&target.name])).collect();
    let mut rules = Vec::new();
    if !target.published.is_empty() {
        // The compose file publishes these ports: the stack's entry points, open to anyone
        // (whatever the Service's type); its other ports only to the workloads that use them.
        let ports: Vec<NetworkPolicyPort> = target
            .published
            .iter()
            .map(|(c, _, protocol)| NetworkPolicyPort {
                port: Some(IntOrString::Int(i32::from(*c))),
                protocol: Some((*protocol).into()),
                ..Default::default()
            })
            .collect();
        let list: Vec<String> = target
            .published
            .iter()
            .map(|(c, h, pr)| match h {
                Some(h) => format!("{h}:{c}/{}", pr.to_ascii_lowercase()),
                None => format!("{c}/{}", pr.to_ascii_lowercase()),
            })
            .collect();
        why.insert(0, format!("anyone on the ports compose publishes ({})", list.join(", ")));
        rules.push(NetworkPolicyIngressRule { from: None, ports: Some(ports) });
    } else if exposed {
        let how = match &target.ingress {
            Some(i) => format!("Service type {}, Ingress {}", target.service_type, i.host),
            None => format!("Service type {}", target.service_type),
        };
        why.insert(0, format!("anyone ({how})"));
        rules.push(NetworkPolicyIngressRule { from: None, ports: Some(ports_of(target)) });
    } else if let Some(route) = &target.route {
        let g = &route.gateway;
        let ns = g.data_plane_namespace.clone().or_else(|| g.sources.is_empty().then(|| plan.namespace.clone()));
        let mut from: Vec<NetworkPolicyPeer> = ns.iter().map(|ns| namespace_peer(ns)).collect();
        from.extend(g.sources.iter().map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        }));
        let mut places: Vec<String> = ns.iter().map(|ns| format!("pods in namespace {ns}")).collect();
        places.extend(g.sources.iter().cloned());
        why.insert(0, format!("the data plane of Gateway {} ({})", g.name, places.join(", ")));
        rules.push(NetworkPolicyIngressRule { from: Some(from), ports: Some(ports_of(target)) });
    }
    if (!exposed || !target.published.is_empty()) && !sources.is_empty() {
        rules.push(NetworkPolicyIngressRule {
            from: Some(
                sources
                    .iter()
                    .flat_map(|s| {
                        let jobs = s.jobs.iter().filter(|j| !j.never_calls.contains(&target.name));
                        std::iter::once(s.name.as_str()).chain(jobs.map(|j| j.label.as_str()))
                    })
                    .map(|n| peer(plan, n))
                    .collect(),
            ),
            ports: Some(ports_of(target)),
        });
    }
    Some(NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(format!("allow-ingress-{}", target.name)),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of(format!("{} is reached by: {}", target.name, why.join("; ")))),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(plan, &target.name)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(rules),
            ..Default::default()
        }),
    })
}

/// What `w` may reach: the workloads it uses (on its internal networks only, when it is only on
/// those), DNS, and with the rules' `egress` every address outside the blocks they name.
fn egress_policy(plan: &Plan, w: &Workload, by_name: &BTreeMap<&str, (usize, &Workload)>) -> NetworkPolicy {
    let mut reached: Vec<(usize, &Workload)> = w
        .talks_to
        .keys()
        .filter(|t| w.egress_only_to.as_ref().is_none_or(|members| members.contains(*t)))
        .filter_map(|t| by_name.get(t.as_str()).copied())
        .filter(|(_, m)| m.serves())
        .collect();
    reached.sort_by_key(|(i, _)| *i); // in the plan's order
    let mut egress: Vec<NetworkPolicyEgressRule> = reached
        .iter()
        .map(|(_, m)| NetworkPolicyEgressRule { to: Some(vec![peer(plan, &m.name)]), ports: Some(ports_of(m)) })
        .collect();
    egress.push(NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer { namespace_selector: Some(LabelSelector::default()), ..Default::default() }]),
        ports: Some(vec![
            NetworkPolicyPort { port: Some(IntOrString::Int(53)), protocol: Some("UDP".into()), ..Default::default() },
            NetworkPolicyPort { port: Some(IntOrString::Int(53)), protocol: Some("TCP".into()), ..Default::default() },
        ]),
    });
    let flows: Vec<&str> = reached.iter().map(|(_, m)| m.name.as_str()).collect();
    let flows = if flows.is_empty() { "no workload".to_string() } else { flows.join(", ") };
    let why = match &w.internet_except {
        Some(blocks) => {
            egress.push(NetworkPolicyEgressRule { to: Some(internet_except(blocks)), ports: None });
            let allowed: Vec<NetworkPolicyPeer> = w
                .egress_allowed
                .iter()
                .map(|cidr| NetworkPolicyPeer {
                    ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
                    ..Default::default()
                })
                .collect();
            let also = if allowed.is_empty() {
                String::new()
            } else {
                egress.push(NetworkPolicyEgressRule { to: Some(allowed), ports: None });
                format!("; and {} (--allow-egress)", w.egress_allowed.join(", "))
            };
            format!(
                "{} reaches {flows}, DNS, and addresses outside the cluster except {}{also}",
                w.name,
                blocks.join(", ")
            )
        }
        None => format!(
            "{} is only on internal compose networks ({}): it reaches what it uses there ({flows}) and DNS, nothing else",
            w.name,
            w.networks.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(format!("restrict-egress-{}", w.name)),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of(why)),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(plan, &w.name)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(egress),
            ..Default::default()
        }),
    }
}

/// Every address but `blocks`: one peer for IPv4 and one for IPv6, each with the blocks of its family.
fn internet_except(blocks: &[String]) -> Vec<NetworkPolicyPeer> {
    [("0.0.0.0/0", false), ("::/0", true)]
        .into_iter()
        .map(|(cidr, v6)| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.into(),
                except: Some(blocks.iter().filter(|b| b.contains(':') == v6).cloned().collect()),
            }),
            ..Default::default()
        })
        .collect()
}

/// The annotation that says why a policy exists.
fn reason_of(text: String) -> BTreeMap<String, String> {
    BTreeMap::from([("compose2dify/reason".to_string(), text)])
}

/// The pods of workload `name`.
fn peer(plan: &Plan, name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector { match_labels: Some(selector_labels(plan, name)), ..Default::default() }),
        ..Default::default()
    }
}

/// Every pod of namespace `ns` (by the label the API server sets on every namespace).
fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    let labels = BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())]);
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector { match_labels: Some(labels), ..Default::default() }),
        ..Default::default()
    }
}

/// Every port of a workload's Service, with its protocol.
fn ports_of(w: &Workload) -> Vec<NetworkPolicyPort> {
    protocol_ports(w)
        .map(|(p, protocol)| NetworkPolicyPort {
            port: Some(IntOrString::Int(i32::from(p))),
            protocol: Some(protocol.into()),
            ..Default::default()
        })
        .collect()
}
