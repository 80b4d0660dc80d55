//! The output tree in memory: tree-relative path → file bytes, in a stable order.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub files: BTreeMap<String, String>,
}

impl Tree {
    pub fn add(&mut self, path: &str, content: impl Into<String>) {
        self.files.insert(path.to_string(), content.into());
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
