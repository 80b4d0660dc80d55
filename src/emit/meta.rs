//! The labels and metadata every object of the tree carries: kubernetes' recommended
//! `app.kubernetes.io/*` labels, each object's name and namespace, and the annotations of objects
//! that hold data.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::plan::{Plan, Workload};

pub const MANAGED_BY: &str = "compose2dify";

pub fn part_of_labels(plan: &Plan) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/part-of".to_string(), plan.instance.clone()),
        ("app.kubernetes.io/managed-by".to_string(), MANAGED_BY.to_string()),
    ])
}

pub(super) fn selector_labels(plan: &Plan, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), name.to_string()),
        ("app.kubernetes.io/instance".to_string(), plan.instance.clone()),
    ])
}

pub(super) fn workload_labels(plan: &Plan, w: &Workload) -> BTreeMap<String, String> {
    let mut l = part_of_labels(plan);
    l.extend(selector_labels(plan, &w.name));
    if let Some(role) = &w.role {
        l.insert("app.kubernetes.io/component".into(), role.clone());
    }
    if let Some(tag) = crate::plan::image_tag(&w.image) {
        let tag: String =
            tag.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(63).collect();
        if !tag.is_empty() {
            l.insert("app.kubernetes.io/version".into(), tag);
        }
    }
    l
}

pub(super) fn meta(plan: &Plan, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(plan.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// The plan's annotations for objects that hold data (the Namespace, every claim).
pub(super) fn retain_annotations(plan: &Plan) -> Option<BTreeMap<String, String>> {
    (!plan.retain_annotations.is_empty()).then(|| plan.retain_annotations.clone())
}
