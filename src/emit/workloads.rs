//! The controllers that run a workload's pods (Deployment, StatefulSet, DaemonSet, Job), its Jobs,
//! and what goes with them: its ServiceAccount, autoscaler and disruption budget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec, DeploymentStrategy,
    RollingUpdateDaemonSet, RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::folder::Folder;
use super::meta::{meta, selector_labels, workload_labels};
// Families beside this one: every controller runs the workload's pod; a StatefulSet names the
// Service that governs it, and carries its claims as templates.
use super::pod::pod_template;
use super::services::governing_service_name;
use super::storage::claim_templates;
use super::yaml_text::to_yaml;
use crate::plan::{Job as PlannedJob, OneShot, Plan, Workload};
use crate::rules::Kind;

/// The workload's controller: a StatefulSet, DaemonSet, one-shot Job or Deployment.
pub(super) fn add_controller(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    // A container of another workload's pod (network_mode) has only its claims here.
    let (file, object) = match (w.kind, &w.one_shot) {
        _ if w.joins.is_some() => (None, None),
        (Kind::StatefulSet, _) => (Some("statefulset.yaml"), Some(to_yaml(&[statefulset(plan, w, labels.clone())]))),
        (Kind::DaemonSet, _) => (Some("daemonset.yaml"), Some(to_yaml(&[daemonset(plan, w, labels.clone())]))),
        (Kind::Job, Some(o)) => (Some("job.yaml"), Some(to_yaml(&[one_shot(plan, w, o, labels.clone())]))),
        _ => (Some("deployment.yaml"), Some(to_yaml(&[deployment(plan, w, labels.clone())]))),
    };
    if let (Some(file), Some(object)) = (file, object) {
        folder.add(file, object);
    }
}

/// The workload's ServiceAccount, with no token mounted; a container of another's pod has none.
pub(super) fn add_service_account(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if w.joins.is_none() {
        let account = ServiceAccount {
            metadata: ObjectMeta {
                annotations: (!w.service_account_annotations.is_empty()).then(|| w.service_account_annotations.clone()),
                ..meta(plan, &w.name, labels.clone())
            },
            automount_service_account_token: Some(false),
            ..Default::default()
        };
        folder.add("serviceaccount.yaml", to_yaml(&[account]));
    }
}

/// The workload's autoscaler, when the plan gives it one.
pub(super) fn add_autoscaler(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if let Some(a) = &w.autoscale {
        folder.add("hpa.yaml", to_yaml(&[autoscaler(plan, w, a, labels.clone())]));
    }
}

/// The workload's Jobs, one file each (`job-<what>.yaml`).
pub(super) fn add_jobs(plan: &Plan, w: &Workload, folder: &mut Folder) {
    for j in &w.jobs {
        let file = format!("job-{}.yaml", j.label.strip_prefix(&format!("{}-", w.name)).unwrap_or(&j.label));
        folder.add(&file, to_yaml(&[job(plan, w, j)]));
    }
}

/// The workload's PodDisruptionBudget, when the plan gives it one.
pub(super) fn add_disruption_budget(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if w.disruption_budget {
        let pdb = PodDisruptionBudget {
            metadata: meta(plan, &w.name, labels.clone()),
            spec: Some(PodDisruptionBudgetSpec {
                // One pod at a time, however many the autoscaler runs (minAvailable 1 would let a
                // drain take all but one of six).
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(plan, &w.name)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        folder.add("pdb.yaml", to_yaml(&[pdb]));
    }
}

fn deployment(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> Deployment {
    Deployment {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(DeploymentSpec {
            // An autoscaled Deployment's count is the autoscaler's: applying the tree again must not
            // reset it.
            replicas: w.autoscale.is_none().then_some(w.replicas),
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            strategy: if w.recreate {
                Some(DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() })
            } else {
                w.rollout.as_ref().map(|(surge, unavailable)| DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(int_or_percent(surge)),
                        max_unavailable: Some(int_or_percent(unavailable)),
                    }),
                })
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn statefulset(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> StatefulSet {
    let templates = claim_templates(plan, w);
    StatefulSet {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(w.replicas),
            service_name: Some(if w.serves() { governing_service_name(w) } else { w.name.clone() }),
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            volume_claim_templates: (!templates.is_empty()).then_some(templates),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One pod per node (compose's `deploy.mode: global`).
fn daemonset(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> DaemonSet {
    DaemonSet {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            update_strategy: w.rollout.as_ref().map(|(surge, unavailable)| DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_surge: Some(int_or_percent(surge)),
                    max_unavailable: Some(int_or_percent(unavailable)),
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A one-shot service as a Job: named after its pod (see `OneShot`), no probes.
fn one_shot(plan: &Plan, w: &Workload, o: &OneShot, labels: BTreeMap<String, String>) -> Job {
    Job {
        metadata: meta(plan, &o.object_name, labels.clone()),
        spec: Some(JobSpec {
            backoff_limit: Some(o.backoff_limit),
            template: pod_template(plan, w, labels, None),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Job from the workload's pod: its own pod labels, no probes, no waiting for itself.
fn job(plan: &Plan, w: &Workload, j: &PlannedJob) -> Job {
    let mut labels = workload_labels(plan, w);
    labels.insert("app.kubernetes.io/name".into(), j.label.clone());
    let mut meta = meta(plan, &j.name, labels.clone());
    if let Some(d) = &j.description {
        meta.annotations = Some(BTreeMap::from([("compose2dify/reason".to_string(), d.clone())]));
    }
    Job {
        metadata: meta,
        spec: Some(JobSpec {
            backoff_limit: Some(j.backoff_limit),
            template: pod_template(plan, w, labels, Some(j)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A HorizontalPodAutoscaler on the Deployment's average CPU use (of its request).
fn autoscaler(
    plan: &Plan,
    w: &Workload,
    a: &crate::rules::AutoscaleRule,
    labels: BTreeMap<String, String>,
) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: meta(plan, &w.name, labels),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: w.kind.object_kind().into(),
                name: w.name.clone(),
            },
            min_replicas: Some(a.min_replicas),
            max_replicas: a.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(a.cpu_percent),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_or_percent(text: &str) -> IntOrString {
    text.parse::<i32>().map_or_else(|_| IntOrString::String(text.to_string()), IntOrString::Int)
}
