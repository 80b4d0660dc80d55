//! The claims of the tree: the shared ones in `base/`, a workload's own, and a StatefulSet's claim
//! templates.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::folder::Folder;
use super::meta::{meta, part_of_labels, retain_annotations, selector_labels};
use super::yaml_text::to_yaml;
use crate::plan::{Claim, Plan, Workload};
use crate::rules::Kind;

/// The claims the tree's workloads share, in `base/`.
pub(super) fn add_shared_claims(plan: &Plan, folder: &mut Folder) {
    if !plan.shared_claims.is_empty() {
        let common = part_of_labels(plan);
        let pvcs: Vec<PersistentVolumeClaim> =
            plan.shared_claims.iter().map(|c| pvc(plan, c, common.clone())).collect();
        folder.add("pvc.yaml", to_yaml(&pvcs));
    }
}

/// A workload's own claims; a StatefulSet's are its templates instead (see `claim_templates`).
pub(super) fn add_claims(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if w.kind != Kind::StatefulSet && !w.claims.is_empty() {
        let pvcs: Vec<PersistentVolumeClaim> = w.claims.iter().map(|c| pvc(plan, c, labels.clone())).collect();
        folder.add("pvc.yaml", to_yaml(&pvcs));
    }
}

/// A StatefulSet's claim templates: one claim per pod, labelled with the pods' selector.
pub(super) fn claim_templates(plan: &Plan, w: &Workload) -> Vec<PersistentVolumeClaim> {
    w.claims
        .iter()
        .map(|c| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(c.name.clone()),
                labels: Some(selector_labels(plan, &w.name)),
                annotations: retain_annotations(plan),
                ..Default::default()
            },
            spec: Some(claim_spec(c)),
            ..Default::default()
        })
        .collect()
}

fn pvc(plan: &Plan, c: &Claim, labels: BTreeMap<String, String>) -> PersistentVolumeClaim {
    let metadata = ObjectMeta { annotations: retain_annotations(plan), ..meta(plan, &c.name, labels) };
    PersistentVolumeClaim { metadata, spec: Some(claim_spec(c)), ..Default::default() }
}

fn claim_spec(c: &Claim) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec![c.access_mode.clone()]),
        storage_class_name: c.storage_class.clone(),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(c.size.clone()))])),
            ..Default::default()
        }),
        ..Default::default()
    }
}
