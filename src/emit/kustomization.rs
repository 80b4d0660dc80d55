//! kustomize's Kustomization of every folder, and the `images:` list of the tree's top one.

use serde::Serialize;

use crate::plan::Plan;

/// kustomize's Kustomization file (not a Kubernetes API object, so not in k8s-openapi).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: &'static str,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub resources: Vec<String>,
    /// kustomize's image transformer: one entry per image name of the tree, so one place pins a
    /// digest or moves an image to another registry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<KustomizeImage>,
}

/// An entry of a Kustomization's `images:` list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeImage {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Kustomization {
    pub fn new(namespace: Option<&str>, resources: Vec<String>) -> Self {
        Self {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            namespace: namespace.map(str::to_string),
            resources,
            images: Vec::new(),
        }
    }
}

/// The `images:` list of the tree's top Kustomization: every image name with the tag (or digest)
/// it runs (none for an untagged image), which rewrites nothing until an operator changes it. A name that runs with two tags
/// gets no tag (one entry would move both).
pub fn kustomize_images(plan: &Plan) -> Vec<KustomizeImage> {
    let mut out: Vec<KustomizeImage> = Vec::new();
    for image in plan.images_in_tree() {
        let (name, tag, digest) = crate::plan::image_parts(image);
        let entry = KustomizeImage {
            name: name.to_string(),
            // An untagged image stays untagged (`latest` written out would change what kustomize renders).
            new_tag: tag.filter(|_| digest.is_none()).map(str::to_string),
            digest: digest.map(str::to_string),
        };
        match out.iter_mut().find(|e| e.name == entry.name) {
            Some(e) if e.new_tag != entry.new_tag || e.digest != entry.digest => {
                e.new_tag = None;
                e.digest = None;
            }
            Some(_) => {}
            None => out.push(entry),
        }
    }
    out
}
