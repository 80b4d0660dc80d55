//! Plan → Kubernetes objects (k8s-openapi types) → the files of the output tree. Emitters never
//! decide anything; every choice was made in the plan.
//!
//! This module only says which folders the tree has and in what order each family of objects is
//! put in them. The families (`namespace`, `config`, `storage`, `network_policy`, `workloads` with
//! the pod they run (`pod`, `volumes`, `container`), `services`, `ingress`, `gateway_api`,
//! `external_secret`) build their objects from shared pieces (`meta` for labels and metadata,
//! `folder` for the files and kustomization of a folder, `kustomization`) and serialize them with
//! `yaml_text`. None of them reaches back here; one uses another beside it only where an object
//! depends on the other's (each such import says why).

mod config;
mod container;
pub mod external_secret;
mod folder;
pub mod gateway_api;
mod ingress;
mod kustomization;
mod meta;
mod namespace;
mod network_policy;
mod pod;
mod services;
mod storage;
mod volumes;
mod workloads;
mod yaml_text;

pub use kustomization::{kustomize_images, Kustomization, KustomizeImage};
pub use meta::{part_of_labels, MANAGED_BY};
pub use network_policy::network_policies;
pub use yaml_text::{docs, to_yaml};

use crate::plan::{Plan, Workload};
use crate::tree::layout::{self, BASE, KUSTOMIZATION, NAMESPACE_FILE};
use crate::tree::Tree;
use folder::Folder;

/// Write the whole tree for a plan (except README.md, GENERATED.md and scripts, see `layout`).
pub fn emit(plan: &Plan, tree: &mut Tree) {
    base(plan, tree);
    let mut top = vec![BASE.to_string()];
    top.extend(plan.workloads.iter().filter_map(|w| workload_folder(plan, w, tree)));
    let mut kustomization = Kustomization::new(None, top);
    kustomization.images = kustomize_images(plan);
    tree.add(KUSTOMIZATION, to_yaml(&[kustomization]));
}

/// `base/`: the namespace, the shared ConfigMap, Secret and claims, and the network policies.
fn base(plan: &Plan, tree: &mut Tree) {
    let mut folder = Folder::new(BASE.to_string(), tree);
    folder.add(NAMESPACE_FILE, to_yaml(&[namespace::namespace(plan)]));
    config::add_shared_config_map(plan, &mut folder);
    let common = part_of_labels(plan);
    config::add_secret(plan, &plan.shared_secret, common, &plan.shared_secrets, &mut folder);
    storage::add_shared_claims(plan, &mut folder);
    network_policy::add_network_policies(plan, &mut folder);
    folder.finish(&plan.namespace);
}

/// `services/<name>/`: the workload's controller, claims, Service, Ingress, Jobs, ConfigMaps,
/// Secret and budget; its folder, unless it holds nothing (a container of another's pod with no
/// settings, files or claims of its own).
fn workload_folder(plan: &Plan, w: &Workload, tree: &mut Tree) -> Option<String> {
    let mut folder = Folder::new(layout::service_dir(&w.name), tree);
    let labels = meta::workload_labels(plan, w);
    workloads::add_controller(plan, w, &labels, &mut folder);
    storage::add_claims(plan, w, &labels, &mut folder);
    workloads::add_service_account(plan, w, &labels, &mut folder);
    workloads::add_autoscaler(plan, w, &labels, &mut folder);
    services::add_services(plan, w, &labels, &mut folder);
    ingress::add_ingress(plan, w, &labels, &mut folder);
    gateway_api::add_routes(plan, w, &labels, &mut folder);
    workloads::add_jobs(plan, w, &mut folder);
    config::add_config_maps(plan, w, &labels, &mut folder);
    if !w.secrets.is_empty() {
        config::add_secret(plan, &format!("{}-secret", w.name), labels.clone(), &w.secrets, &mut folder);
    }
    workloads::add_disruption_budget(plan, w, &labels, &mut folder);
    if folder.resources.is_empty() {
        return None;
    }
    folder.resources.sort();
    Some(folder.finish(&plan.namespace))
}
