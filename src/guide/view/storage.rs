//! The Storage chapter: the classes, every claim with who mounts it, and what keeps the data
//! through a change.

use super::lookup::{is_deployment, is_statefulset, Lookup};
use crate::guide::{ClaimFacts, Facts};

/// What the Storage chapter says.
#[derive(serde::Serialize)]
pub(super) struct StorageChapter {
    storage: StorageView,
    /// Every claim of the tree (a StatefulSet's one per pod), its class and who mounts it.
    claim_rows: Vec<ClaimRowView>,
    /// StatefulSets with claims of their own (volumeClaimTemplates).
    sts_claims: Vec<String>,
    /// Annotations on the Namespace and every claim (`key: value`).
    retain_annotations: Vec<String>,
    /// Deployments that mount a ReadWriteOnce claim.
    rwo_deployments: Vec<String>,
    /// Deployments updated with the Recreate strategy.
    recreated: Vec<String>,
    /// Whether the tree has claims.
    has_claims: bool,
}

/// The Storage chapter of the facts.
pub(super) fn storage_chapter(f: &Facts, r: &Lookup) -> StorageChapter {
    StorageChapter {
        storage: storage_view(f),
        claim_rows: claim_rows(f),
        sts_claims: f
            .workloads
            .iter()
            .filter(|w| is_statefulset(w) && w.claims.iter().any(|c| !r.is_shared(&c.name)))
            .map(|w| w.name.clone())
            .collect(),
        retain_annotations: f.storage.retain_annotations.clone(),
        rwo_deployments: f
            .workloads
            .iter()
            .filter(|w| is_deployment(w) && w.claims.iter().any(|c| c.access_mode == "ReadWriteOnce"))
            .map(|w| w.name.clone())
            .collect(),
        recreated: f.storage.recreated.clone(),
        has_claims: !f.storage.claim_classes.is_empty(),
    }
}

/// The storage classes and who mounts the shared claim.
#[derive(serde::Serialize)]
struct StorageView {
    /// Class of the ReadWriteOnce claims; none: the cluster's default.
    rwo_class: Option<String>,
    /// Class of the ReadWriteMany claims; none: the cluster's default.
    rwx_class: Option<String>,
    /// Whether the operator chose the ReadWriteMany class (`--rwx-storage-class`).
    rwx_chosen: bool,
    /// Workloads that mount the shared claim, each once.
    shared_users: Vec<String>,
}

/// A row of the table of claims: one claim, its class and who mounts it.
#[derive(serde::Serialize)]
struct ClaimRowView {
    name: String,
    size: String,
    access_mode: String,
    /// Its StorageClass; none: the cluster's default.
    class: Option<String>,
    /// `workload (`mount path`)`.
    users: Vec<String>,
}

/// A claim as a workload's section shows it.
#[derive(serde::Serialize)]
pub(super) struct ClaimView {
    name: String,
    size: String,
    access_mode: String,
    /// `RWO`, `RWX`, ...
    short_mode: String,
    mount_path: String,
    /// Whether it is the shared claim.
    shared: bool,
    /// Its StorageClass; none: the cluster's default.
    class: Option<String>,
}

/// Storage classes and who mounts the shared claim.
fn storage_view(f: &Facts) -> StorageView {
    StorageView {
        rwo_class: f.storage.rwo_class.clone(),
        rwx_class: f.storage.rwx_class.clone(),
        rwx_chosen: f.storage.rwx_class_chosen,
        shared_users: f.storage.shared_claim_users.iter().fold(Vec::new(), |mut users, (w, _)| {
            if !users.contains(w) {
                users.push(w.clone());
            }
            users
        }),
    }
}

/// Every claim of the tree: the shared one, a StatefulSet's one per pod (`<template>-<set>-<n>`),
/// every other once with all who mount it.
fn claim_rows(f: &Facts) -> Vec<ClaimRowView> {
    let class = |claim: &str| f.storage.claim_classes.get(claim).cloned().flatten();
    let shared = |claim: &str| f.shared_claim.as_ref().is_some_and(|c| c.name == claim);
    let mut rows: Vec<ClaimRowView> = Vec::new();
    if let Some(c) = &f.shared_claim {
        rows.push(ClaimRowView {
            name: c.name.clone(),
            size: c.size.clone(),
            access_mode: c.access_mode.clone(),
            class: class(&c.name),
            users: f.storage.shared_claim_users.iter().map(|(w, p)| format!("{w} (`{p}`)")).collect(),
        });
    }
    for w in &f.workloads {
        for c in &w.claims {
            let user = format!("{} (`{}`)", w.name, c.mount_path);
            if is_statefulset(w) && !shared(&c.name) {
                for i in 0..w.replicas.max(1) {
                    rows.push(ClaimRowView {
                        name: format!("{}-{}-{i}", c.name, w.name),
                        size: c.size.clone(),
                        access_mode: c.access_mode.clone(),
                        class: class(&c.name),
                        users: vec![user.clone()],
                    });
                }
            } else if let Some(r) = rows.iter_mut().find(|r| r.name == c.name) {
                if !r.users.contains(&user) {
                    r.users.push(user);
                }
            } else {
                rows.push(ClaimRowView {
                    name: c.name.clone(),
                    size: c.size.clone(),
                    access_mode: c.access_mode.clone(),
                    class: class(&c.name),
                    users: vec![user],
                });
            }
        }
    }
    rows
}

/// A claim of a workload (or the shared one), with its short access mode and class.
pub(super) fn claim_view(f: &Facts, c: &ClaimFacts) -> ClaimView {
    ClaimView {
        name: c.name.clone(),
        size: c.size.clone(),
        access_mode: c.access_mode.clone(),
        short_mode: short_mode(&c.access_mode).to_string(),
        mount_path: c.mount_path.clone(),
        shared: f.shared_claim.as_ref().is_some_and(|s| s.name == c.name),
        class: f.storage.claim_classes.get(&c.name).cloned().flatten(),
    }
}

fn short_mode(mode: &str) -> &str {
    match mode {
        "ReadWriteOnce" => "RWO",
        "ReadWriteMany" => "RWX",
        "ReadOnlyMany" => "ROX",
        "ReadWriteOncePod" => "RWOP",
        other => other,
    }
}
