//! The pod of a workload (or of one of its Jobs): its containers, with those of the workloads that
//! share its network (compose's `network_mode`), its volumes, placement and security.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EnvVar, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile, TopologySpreadConstraint, Volume as K8sVolume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::container::{container_security, env_from, probe, probe_with, resources};
use super::meta::selector_labels;
// A family beside this one: a container's ports are named as its Service's are.
use super::services::{port_name, protocol_ports};
use super::volumes::{folded_containers, pod_volumes};
use crate::plan::{Job as PlannedJob, Plan, Workload};

/// The pod of a workload, or of one of its Jobs.
pub(super) fn pod_template(
    plan: &Plan,
    w: &Workload,
    labels: BTreeMap<String, String>,
    job: Option<&PlannedJob>,
) -> PodTemplateSpec {
    let (mut volumes, mut init_containers, container) = pod_parts(plan, w, job);
    let serves = job.is_none() && w.one_shot.is_none();
    let mut containers = vec![container];
    // Services that share this one's network (compose's network_mode): containers of this pod,
    // each with its own settings, files and mounts; a volume name taken already gets its name first.
    for j in joined(plan, w).filter(|_| job.is_none()) {
        let (vols, inits, mut c) = pod_parts(plan, j, None);
        for mut v in vols {
            if volumes.iter().any(|o: &K8sVolume| o.name == v.name) {
                let renamed: String = format!("{}-{}", j.name, v.name).chars().take(63).collect();
                for m in c.volume_mounts.iter_mut().flatten().filter(|m| m.name == v.name) {
                    m.name = renamed.clone();
                }
                v.name = renamed;
            }
            volumes.push(v);
        }
        init_containers.extend(inits);
        containers.push(c);
    }
    // A Job's template is immutable: it carries no checksum, so re-applying the same release is a no-op.
    let annotations = serves.then(|| BTreeMap::from([("checksum/config".to_string(), w.checksum.clone())]));
    // The workload's own pods spread as the plan says; a Job made from them does not.
    let keys: &[String] = if job.is_none() { &w.spread_over } else { &[] };
    let spread = (!keys.is_empty()).then(|| {
        keys.iter()
            .map(|key| TopologySpreadConstraint {
                max_skew: 1,
                topology_key: key.to_string(),
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(plan, &w.name)),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    });
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels), annotations, ..Default::default() }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(false),
            service_account_name: Some(w.name.clone()),
            enable_service_links: Some(false),
            restart_policy: job
                .map(|_| "OnFailure".to_string())
                .or_else(|| w.one_shot.as_ref().map(|o| o.restart_policy.clone())),
            affinity: node_affinity(w),
            share_process_namespace: w.share_process_namespace.then_some(true),
            topology_spread_constraints: spread,
            init_containers: (!init_containers.is_empty()).then_some(init_containers),
            containers,
            volumes: (!volumes.is_empty()).then_some(volumes),
            hostname: w.hostname.clone().filter(|_| job.is_none()),
            security_context: Some(PodSecurityContext {
                fs_group: w.security.fs_group,
                supplemental_groups: (!w.supplemental_groups.is_empty()).then(|| w.supplemental_groups.clone()),
                seccomp_profile: w.security.seccomp.clone().map(|t| SeccompProfile { type_: t, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// The workloads that run as containers of `w`'s pod (network_mode), in plan order.
fn joined<'a>(plan: &'a Plan, w: &'a Workload) -> impl Iterator<Item = &'a Workload> + 'a {
    plan.workloads.iter().filter(move |j| j.joins.as_deref() == Some(w.name.as_str()))
}

/// Compose's placement constraints: one node selector term, every expression required.
fn node_affinity(w: &Workload) -> Option<Affinity> {
    (!w.node_affinity.is_empty()).then(|| Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(
                        w.node_affinity
                            .iter()
                            .map(|(key, operator, values)| NodeSelectorRequirement {
                                key: key.clone(),
                                operator: operator.clone(),
                                values: (!values.is_empty()).then(|| values.clone()),
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// One workload's part of a pod: its volumes, init containers and container.
fn pod_parts(plan: &Plan, w: &Workload, job: Option<&PlannedJob>) -> (Vec<K8sVolume>, Vec<Container>, Container) {
    let (volumes, mounts, mut init_containers) = pod_volumes(w, job);
    // Folded one-shot services run first, on the volume they share with this pod (if it has it).
    init_containers.splice(0..0, folded_containers(w, &volumes));
    let env_from = env_from(plan, w);
    if job.is_none() {
        for (name, argv) in &w.init {
            init_containers.push(Container {
                name: name.clone(),
                image: Some(w.image.clone()),
                command: Some(argv.clone()),
                env_from: env_from.clone(),
                resources: Some(resources(w)),
                security_context: Some(container_security(w)),
                ..Default::default()
            });
        }
    }
    let (command, args) = match job.and_then(|j| j.command.clone()) {
        Some(command) => (Some(command), None),
        None => (w.command.clone(), w.args.clone()),
    };
    let env: Vec<EnvVar> = job
        .iter()
        .flat_map(|j| &j.env)
        .map(|(k, v)| EnvVar { name: k.clone(), value: Some(v.clone()), ..Default::default() })
        .collect();
    let startup = w.probe.startup.map(|_| probe(w, true));
    let liveness = w.probe.liveness.as_ref().map_or_else(|| probe(w, false), |a| probe_with(w, a, false));
    let probe = probe(w, false);
    let serves = job.is_none() && w.one_shot.is_none();
    let container = Container {
        name: job.map_or_else(|| w.name.clone(), |j| j.label.clone()),
        image: Some(w.image.clone()),
        command,
        args,
        ports: Some(
            protocol_ports(w)
                .filter(|_| serves && (w.serves() || w.joins.is_some()))
                .filter(|port| !joined(plan, w).any(|j| protocol_ports(j).any(|q| q == *port)))
                .map(|(p, protocol)| ContainerPort {
                    container_port: i32::from(p),
                    name: Some(port_name(p, protocol)),
                    protocol: Some(protocol.into()),
                    ..Default::default()
                })
                .collect::<Vec<_>>(),
        )
        .filter(|p| !p.is_empty()),
        env: (!env.is_empty()).then_some(env),
        env_from,
        liveness_probe: serves.then_some(liveness),
        readiness_probe: serves.then_some(probe),
        startup_probe: startup.filter(|_| serves),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        resources: Some(resources(w)),
        security_context: Some(container_security(w)),
        working_dir: w.working_dir.clone(),
        stdin: w.stdin.then_some(true),
        tty: w.tty.then_some(true),
        ..Default::default()
    };

    (volumes, init_containers, container)
}
