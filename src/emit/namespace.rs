//! The tree's Namespace: the Pod Security Standard its pods meet, enforced.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta::{part_of_labels, retain_annotations};
use crate::plan::Plan;

/// The Namespace of the tree. The Pod Security Standard every pod of the tree meets is enforced;
/// "restricted" is warned and audited, so what keeps a pod from it shows.
pub(super) fn namespace(plan: &Plan) -> Namespace {
    let mut labels = part_of_labels(plan);
    labels.insert("pod-security.kubernetes.io/enforce".into(), plan.pod_security.name().into());
    labels.insert("pod-security.kubernetes.io/warn".into(), "restricted".into());
    labels.insert("pod-security.kubernetes.io/audit".into(), "restricted".into());
    Namespace {
        metadata: ObjectMeta {
            name: Some(plan.namespace.clone()),
            labels: Some(labels),
            annotations: retain_annotations(plan),
            ..Default::default()
        },
        ..Default::default()
    }
}
