//! The tree's Secrets in the cluster, through `kubectl` (its current context): read for
//! `--from-cluster`, made or completed by `--apply`. Values go to kubectl through standard input
//! and private files, never on a command line.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::secret_text::{learn, max_lengths};
use super::{examples, invented, Origin, Origins};
use crate::error::{Error, Result};
use crate::placeholders::{fill, tokens};
use crate::tree::layout::{file_in, BASE, NAMESPACE_FILE};

/// What `apply` did to each Secret in the cluster.
#[derive(Debug, Default)]
pub struct Applied {
    /// Where the values written came from, by placeholder name.
    pub origins: Origins,
    /// Secrets created (`namespace/name`).
    pub created: Vec<String>,
    /// Secrets that existed and gained keys, with those keys.
    pub added: Vec<(String, Vec<String>)>,
    /// Secrets that had every key already.
    pub kept: Vec<String>,
}

/// A Secret template of the tree (`secret.yaml.example`): name, namespace and settings.
struct Template {
    name: String,
    namespace: String,
    data: BTreeMap<String, String>,
    /// Placeholders whose value must be short (its `compose2dify.io/max-length` annotation).
    limits: BTreeMap<String, usize>,
}

/// `compose2dify secrets DIR --apply`: every Secret the tree names, made or completed in the cluster
/// through `kubectl` (the current context): missing Secrets are created with random values, existing
/// ones keep every value and gain the keys they lack, and a placeholder already set anywhere keeps
/// its value everywhere. Values go to kubectl through standard input and private files, never on a
/// command line.
pub fn apply(dir: &Path, kubectl: &Path, env: Option<&crate::commands::secret_env::EnvValues>) -> Result<Applied> {
    let templates = templates(dir)?;
    let mut existing: Vec<Option<BTreeMap<String, String>>> = Vec::new();
    for t in &templates {
        existing.push(cluster_secret(kubectl, t)?);
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (t, have) in templates.iter().zip(&existing) {
        if let Some(have) = have {
            learn_values(&t.data, have, &mut values);
        }
    }
    let mut from_env = Vec::new();
    if let Some(env) = env {
        let texts: Vec<String> =
            templates.iter().map(|t| t.data.values().map(|v| format!("  x: {v}\n")).collect()).collect();
        env.check_fit(&texts.iter().map(String::as_str).collect::<Vec<_>>())?;
        for (token, value) in env.values() {
            if !values.contains_key(token) {
                values.insert(token.clone(), value.clone());
                from_env.push(token.clone());
            }
        }
    }
    let mut applied = Applied::default();
    for (t, have) in templates.iter().zip(existing) {
        let missing: BTreeMap<&String, &String> =
            t.data.iter().filter(|(k, _)| have.as_ref().is_none_or(|h| !h.contains_key(*k))).collect();
        let id = format!("{}/{}", t.namespace, t.name);
        if missing.is_empty() {
            applied.kept.push(id);
            continue;
        }
        for template in missing.values() {
            for token in tokens(template) {
                let from = if from_env.contains(&token) { Origin::Env } else { Origin::Kept };
                if let std::collections::btree_map::Entry::Vacant(slot) = values.entry(token.clone()) {
                    slot.insert(invented(t.limits.get(&token).copied())?);
                    applied.origins.note(&token, Origin::Generated);
                } else {
                    applied.origins.note(&token, from);
                }
            }
        }
        let filled: BTreeMap<&String, String> = missing.iter().map(|(k, v)| (*k, fill(v, &values))).collect();
        let staged = tempfile::Builder::new()
            .prefix(".compose2dify-secret-")
            .tempfile()
            .map_err(|e| Error::usage(format!("cannot make a private temporary file: {e}"), "check TMPDIR"))?;
        if have.is_none() {
            let secret = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": t.name, "namespace": t.namespace},
                "stringData": filled,
            });
            fs::write(staged.path(), secret.to_string())
                .map_err(|e| Error::file(staged.path(), e.to_string(), "check TMPDIR"))?;
            run_kubectl(kubectl, &["create", "-f", &staged.path().to_string_lossy()])?;
            applied.created.push(id);
        } else {
            fs::write(staged.path(), serde_json::json!({ "stringData": filled }).to_string())
                .map_err(|e| Error::file(staged.path(), e.to_string(), "check TMPDIR"))?;
            let file = staged.path().to_string_lossy().to_string();
            run_kubectl(
                kubectl,
                &["patch", "secret", &t.name, "-n", &t.namespace, "--type", "merge", "--patch-file", &file],
            )?;
            applied.added.push((id, missing.keys().map(|k| k.to_string()).collect()));
        }
    }
    Ok(applied)
}

fn templates(dir: &Path) -> Result<Vec<Template>> {
    let mut out = Vec::new();
    for example in examples(dir)? {
        let text = crate::read::scope::read_tree_text(&example, 16 << 20)
            .map_err(|e| Error::file(&example, format!("cannot read: {e}"), "make it a regular, readable file"))?;
        let doc = crate::read::yaml::document(&text)
            .map_err(|e| Error::file(&example, format!("not a Secret template: {e}"), "regenerate the tree"))?;
        let text_of = |v: &yaml_serde::Value| v.as_str().map(str::to_string);
        let (Some(name), Some(namespace)) = (text_of(&doc["metadata"]["name"]), text_of(&doc["metadata"]["namespace"]))
        else {
            return Err(Error::file(
                &example,
                "a Secret template without metadata.name and namespace",
                "regenerate the tree",
            ));
        };
        let data = doc["stringData"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((text_of(k)?, text_of(v).unwrap_or_default())))
            .collect();
        out.push(Template { name, namespace, data, limits: max_lengths(&text) });
    }
    // Every Secret of the tree lives in the tree's namespace: a template naming another (a forged
    // file) never makes `--from-cluster` or `--apply` reach into it.
    if let Some(t) = out.iter().find(|t| out.first().is_some_and(|f| f.namespace != t.namespace)) {
        return Err(Error::file(
            dir,
            format!("the Secret template {} names the namespace `{}`, not the tree's", t.name, t.namespace),
            "regenerate the tree; remove secret templates you did not generate",
        ));
    }
    if let (Some(first), Some(tree)) = (out.first(), tree_namespace(dir)) {
        if first.namespace != tree {
            return Err(Error::file(
                dir,
                format!(
                    "the Secret templates name the namespace `{}`, the tree's Namespace is `{tree}`",
                    first.namespace
                ),
                "regenerate the tree",
            ));
        }
    }
    Ok(out)
}

/// The namespace the tree creates (its base/namespace.yaml), when it has one.
fn tree_namespace(dir: &Path) -> Option<String> {
    let text = crate::read::scope::read_tree_text(&dir.join(file_in(BASE, NAMESPACE_FILE)), 1 << 20).ok()?;
    let doc = crate::read::yaml::document(&text).ok()?;
    doc["metadata"]["name"].as_str().map(str::to_string)
}

/// The Secret's decoded data in the cluster, or `None` when it does not exist.
fn cluster_secret(kubectl: &Path, t: &Template) -> Result<Option<BTreeMap<String, String>>> {
    let out = std::process::Command::new(kubectl)
        .args(["get", "secret", &t.name, "-n", &t.namespace, "-o", "json", "--ignore-not-found"])
        .output()
        .map_err(|e| kubectl_missing(kubectl, &e))?;
    if !out.status.success() {
        return Err(Error::usage(
            format!(
                "kubectl get secret {}/{} failed: {}",
                t.namespace,
                t.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "check the kubectl context and your access to the namespace",
        ));
    }
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::usage(format!("kubectl printed no Secret: {e}"), "check the kubectl context"))?;
    let mut data = BTreeMap::new();
    for (key, value) in doc["data"].as_object().into_iter().flatten() {
        let decoded = value
            .as_str()
            .and_then(|v| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok())
            .unwrap_or_default();
        data.insert(key.clone(), String::from_utf8_lossy(&decoded).to_string());
    }
    Ok(Some(data))
}

/// Placeholder values the tree's Secrets hold in the cluster (`--from-cluster`), or `None` when the
/// cluster holds none of them.
pub(super) fn live_values(dir: &Path, kubectl: &Path) -> Result<Option<BTreeMap<String, String>>> {
    let mut values = BTreeMap::new();
    let mut found = false;
    for t in &templates(dir)? {
        if let Some(have) = cluster_secret(kubectl, t)? {
            found = true;
            learn_values(&t.data, &have, &mut values);
        }
    }
    Ok(found.then_some(values))
}

/// Placeholder values from a Secret that has them: the same key of the template tells which.
fn learn_values(
    template: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
    values: &mut BTreeMap<String, String>,
) {
    let as_text = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect::<String>();
    learn(&format!("stringData:\n{}", as_text(template)), &format!("stringData:\n{}", as_text(have)), values);
}

fn run_kubectl(kubectl: &Path, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(kubectl).args(args).output().map_err(|e| kubectl_missing(kubectl, &e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::usage(
        format!("kubectl {} failed: {}", args[..2].join(" "), String::from_utf8_lossy(&out.stderr).trim()),
        "check the kubectl context and your access to the namespace",
    ))
}

fn kubectl_missing(kubectl: &Path, e: &std::io::Error) -> Error {
    Error::usage(format!("cannot run {}: {e}", kubectl.display()), "install kubectl, or pass --kubectl PATH")
}
