//! The output tree in memory: tree-relative path → file bytes, in a stable order.

pub mod immutable;
pub mod layout;
pub mod write;

use std::collections::BTreeMap;

/// Largest tree written: far more than any stack of thousands of services needs.
pub const MAX_TREE_BYTES: usize = 512 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub files: BTreeMap<String, String>,
}

impl Tree {
    pub fn add(&mut self, path: &str, content: impl Into<String>) {
        let mut content = content.into();
        // A text built by appending holds up to twice its length; the tree keeps thousands.
        content.shrink_to_fit();
        self.files.insert(path.to_string(), content);
    }

    /// The tree, refused when its files together pass `MAX_TREE_BYTES`, naming the folder (a
    /// service's) that holds the most.
    pub fn bounded(self) -> crate::error::Result<Tree> {
        let total: usize = self.files.values().map(String::len).sum();
        if total <= MAX_TREE_BYTES {
            return Ok(self);
        }
        let mut by_folder: BTreeMap<&str, usize> = BTreeMap::new();
        for (path, content) in &self.files {
            let folder = path.rsplit_once('/').map_or(".", |(f, _)| f);
            *by_folder.entry(folder).or_default() += content.len();
        }
        let largest = by_folder.iter().max_by_key(|(_, n)| **n).map_or(".", |(f, _)| *f);
        Err(crate::error::Error::usage(
            format!("the tree would be {total} bytes, more than {MAX_TREE_BYTES}; `{largest}` holds the most"),
            "a stack this large is not one application; split the compose file, or leave out what makes it so large",
        ))
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The tree as one text, for snapshots: each file under a `=== path` header.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (path, content) in &self.files {
            out.push_str("=== ");
            out.push_str(path);
            out.push('\n');
            out.push_str(content);
            if !content.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

/// Kinds kustomize puts first, in its order (its "legacy" ordering); every other kind follows, by
/// group, version and kind, then namespace and name.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// An object's place in kustomize's order (kind rank, group/version/kind, namespace, name) and its text.
type Placed = ((usize, String, String, String), String);

impl Tree {
    /// Every object the tree deploys as one YAML stream, in the order `kubectl kustomize` prints
    /// them: the kustomizations' resources from the top, with each missing `secret.yaml` read from
    /// its `.example` (placeholders, never values).
    pub fn objects(&self) -> String {
        let mut docs: Vec<Placed> = Vec::new();
        self.collect("", &mut docs);
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        docs.into_iter().map(|(_, doc)| format!("---\n{doc}")).collect()
    }

    fn collect(&self, folder: &str, docs: &mut Vec<Placed>) {
        let at = |name: &str| if folder.is_empty() { name.to_string() } else { format!("{folder}/{name}") };
        let Some(kustomization) = self.get(&at(layout::KUSTOMIZATION)) else { return };
        let Ok(parsed) = crate::read::yaml::document(kustomization) else { return };
        for entry in parsed["resources"].as_sequence().into_iter().flatten().filter_map(|r| r.as_str()) {
            let path = at(entry);
            if self.get(&layout::file_in(&path, layout::KUSTOMIZATION)).is_some() {
                self.collect(&path, docs);
                continue;
            }
            let template = layout::template_of(&path);
            let Some(text) = self.get(&path).or_else(|| self.get(&template)) else { continue };
            for doc in text.split("\n---\n").map(|d| d.trim_start_matches("---\n").trim_end()) {
                let Ok(value) = crate::read::yaml::document(doc) else { continue };
                let kind = value["kind"].as_str().unwrap_or_default().to_string();
                let (group, version) = value["apiVersion"].as_str().unwrap_or_default().rsplit_once('/').map_or(
                    ("~G".to_string(), value["apiVersion"].as_str().unwrap_or_default().to_string()),
                    |(g, v)| (g.to_string(), v.to_string()),
                );
                let rank = KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len());
                let gvk = if rank < KIND_ORDER.len() { String::new() } else { format!("{group}_{version}_{kind}") };
                let meta = &value["metadata"];
                let key = (
                    rank,
                    gvk,
                    meta["namespace"].as_str().unwrap_or_default().to_string(),
                    meta["name"].as_str().unwrap_or_default().to_string(),
                );
                docs.push((key, format!("{doc}\n")));
            }
        }
    }
}
