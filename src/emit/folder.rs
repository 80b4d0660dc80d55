//! A folder of the tree being filled: the files the families put in it, and the resources its
//! kustomization lists.

use super::kustomization::Kustomization;
use super::yaml_text::to_yaml;
use crate::tree::layout::{file_in, KUSTOMIZATION};
use crate::tree::Tree;

pub(super) struct Folder<'t> {
    dir: String,
    /// What its kustomization lists, in the order the files were added.
    pub resources: Vec<String>,
    tree: &'t mut Tree,
}

impl<'t> Folder<'t> {
    pub fn new(dir: String, tree: &'t mut Tree) -> Self {
        Self { dir, resources: Vec::new(), tree }
    }

    /// A file of the folder that its kustomization lists.
    pub fn add(&mut self, file: &str, text: String) {
        self.write(file, text);
        self.list(file);
    }

    /// A file of the folder that its kustomization does not list (a Secret's template).
    pub fn write(&mut self, file: &str, text: String) {
        self.tree.add(&file_in(&self.dir, file), text);
    }

    /// A resource the kustomization lists that the tool does not write (the operator's secret file).
    pub fn list(&mut self, file: &str) {
        self.resources.push(file.to_string());
    }

    /// The folder's kustomization, in the tree's namespace, listing its resources in their order;
    /// the folder's path.
    pub fn finish(self, namespace: &str) -> String {
        let kustomization = Kustomization::new(Some(namespace), self.resources);
        self.tree.add(&file_in(&self.dir, KUSTOMIZATION), to_yaml(&[kustomization]));
        self.dir
    }
}
