//! The Operations and Updating chapters: images and availability, health checks, scaling,
//! restarts, and regenerating the tree with the recorded choices.

use super::lookup::{is_statefulset, kref, layer, Lookup};
use crate::guide::{Facts, OperationsView};
use crate::rules::Layer;

/// What the Operations and Updating chapters say.
#[derive(serde::Serialize)]
pub(super) struct OperationsChapter {
    /// Images, identities and availability.
    operations: OperationsView,
    /// Workloads with a PodDisruptionBudget.
    pdbs: Vec<String>,
    /// The node label their pods spread over.
    spread_key: Option<String>,
    /// StatefulSets of the data layer: single instances without replication.
    single_data: Vec<String>,
    /// Each probe kind with the workloads probed so, in order of first use.
    probes: Vec<ProbeKindView>,
    /// Workloads without a probe.
    no_probe: Vec<String>,
    /// Whether some Deployment runs several replicas.
    replicated_deployments: bool,
    /// Deployments the scaling example scales, with one replica more.
    scale_examples: Vec<ScaleView>,
    statefulsets: Vec<String>,
    /// The periodic-task scheduler, which must stay at one replica.
    scheduler: Option<String>,
    /// Workloads whose config files the tree edits, with the program version the edits were run with.
    config_checked: Vec<CheckedView>,
    /// The Deployment the guide restarts as an example (`deployment/api`).
    restart_example: Option<String>,
    /// The command that regenerates the tree with every recorded choice, without one flag
    /// (`--public-url`, …), which the guide adds.
    regenerate: RegenerateView,
}

/// The Operations and Updating chapters of the facts.
pub(super) fn operations_chapter(f: &Facts, r: &Lookup) -> OperationsChapter {
    OperationsChapter {
        operations: f.operations.clone(),
        pdbs: f.workloads.iter().filter(|w| w.pdb).map(|w| w.name.clone()).collect(),
        spread_key: f.spread_key.clone(),
        single_data: f
            .workloads
            .iter()
            .filter(|w| is_statefulset(w) && layer(&f.guide, w) == Some(Layer::Data))
            .map(|w| w.name.clone())
            .collect(),
        probes: probe_kinds(f),
        no_probe: f.workloads.iter().filter(|w| w.probe.is_none()).map(|w| w.name.clone()).collect(),
        replicated_deployments: r.deployments().iter().any(|w| w.replicas > 1),
        scale_examples: scale_examples(f, r),
        statefulsets: f.workloads.iter().filter(|w| is_statefulset(w)).map(|w| w.name.clone()).collect(),
        scheduler: r.by_key(f.guide.scheduler.as_deref()).map(|w| w.name.clone()),
        config_checked: f
            .guide
            .config_checked_with
            .iter()
            .filter_map(|(k, v)| {
                r.by_key(Some(k)).map(|w| CheckedView { workload: w.name.clone(), program: v.clone() })
            })
            .collect(),
        restart_example: r
            .deployment(f.guide.examples.restart.as_deref())
            .or_else(|| r.deployments().first().copied())
            .map(kref),
        regenerate: regenerate_view(&f.choices),
    }
}

#[derive(serde::Serialize)]
struct ProbeKindView {
    kind: String,
    /// The liveness probe's kind, when it differs.
    liveness: Option<String>,
    workloads: Vec<String>,
}

/// A workload whose config files the tree edits, and the program version the edits ran with.
#[derive(serde::Serialize)]
struct CheckedView {
    workload: String,
    program: String,
}

#[derive(serde::Serialize)]
struct ScaleView {
    kref: String,
    replicas: i32,
}

/// Regenerating with the recorded choices.
#[derive(serde::Serialize)]
struct RegenerateView {
    /// Every recorded choice, one flag a line as GENERATED.md keeps them.
    choices: Vec<String>,
    /// The choices without `--public-url`, joined (`--ingress-host` stays: a `--public-url` wins
    /// over the address it implies).
    without_public_url: String,
    /// The choices without `--rwx-storage-class`, joined.
    without_rwx_storage_class: String,
}

/// The kinds of probe (readiness, and liveness when it differs), each with the workloads that use
/// it.
fn probe_kinds(f: &Facts) -> Vec<ProbeKindView> {
    let mut kinds: Vec<ProbeKindView> = Vec::new();
    for w in &f.workloads {
        let Some(kind) = w.probe.clone() else { continue };
        match kinds.iter_mut().find(|k| k.kind == kind && k.liveness == w.liveness) {
            Some(k) => k.workloads.push(w.name.clone()),
            None => kinds.push(ProbeKindView { kind, liveness: w.liveness.clone(), workloads: vec![w.name.clone()] }),
        }
    }
    kinds
}

/// Deployments to show `kubectl scale` on: the rules' examples only. Which services may run as
/// several copies is the application's knowledge; without it the guide names none.
fn scale_examples(f: &Facts, r: &Lookup) -> Vec<ScaleView> {
    f.guide
        .examples
        .scale
        .iter()
        .filter_map(|k| r.deployment(Some(k)))
        .map(|w| ScaleView { kref: kref(w), replicas: w.replicas.max(1).saturating_add(1) })
        .collect()
}

/// The recorded choices, and them without the flags the guide tells to change.
fn regenerate_view(choices: &[String]) -> RegenerateView {
    let without = |flags: &[&str]| -> String {
        choices
            .iter()
            .filter(|c| !flags.iter().any(|f| c.split_whitespace().next() == Some(f)))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    RegenerateView {
        choices: choices.to_vec(),
        without_public_url: without(&["--public-url"]),
        without_rwx_storage_class: without(&["--rwx-storage-class"]),
    }
}
