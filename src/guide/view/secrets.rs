//! The Secrets chapter: where the Secrets' values come from, the templates to copy, and (for
//! Secrets made outside the tree) every key with the keys that share its value.

use crate::guide::Facts;
use crate::rules::SecretSource;
use crate::tree::layout;

/// Where the Secrets' values come from.
#[derive(serde::Serialize)]
pub(super) struct SecretsView {
    /// `files`, `external` or `external-secrets` (`--secrets`).
    source: &'static str,
    /// The first-start password (the rules' `guide.admin_password`) and the Secret holding it.
    admin_password: Option<(String, String)>,
    /// Whether `base/` holds a `secret.yaml.example`.
    base_template: bool,
    /// Every secret template, with the file made from it.
    files: Vec<SecretFileView>,
    /// `external`: every key with a placeholder.
    keys: Vec<SecretKeyView>,
    /// `external-secrets`: the store, its kind, the remote keys' prefix and the remote keys.
    store: String,
    store_kind: String,
    prefix: String,
    remote_keys: Vec<RemoteKeyView>,
}

/// A Secret's key that carries a placeholder, and the other keys that share its value.
#[derive(serde::Serialize)]
struct SecretKeyView {
    secret: String,
    key: String,
    same_as: String,
}

/// A remote key of the secret store and the Secret keys that read it.
#[derive(serde::Serialize)]
struct RemoteKeyView {
    variable: String,
    read_as: Vec<String>,
}

/// A `secret.yaml.example` and the `secret.yaml` made from it.
#[derive(serde::Serialize)]
struct SecretFileView {
    example: String,
    target: String,
}

/// Where the Secrets come from, their files and keys, and the store's remote keys.
pub(super) fn secrets_view(f: &Facts) -> SecretsView {
    SecretsView {
        admin_password: f.guide.admin_password.as_ref().and_then(|key| {
            f.secrets.iter().find(|s| s.keys.iter().any(|(k, _)| k == key)).map(|s| (key.clone(), s.name.clone()))
        }),
        source: match f.secret_source {
            SecretSource::Files => "files",
            SecretSource::External => "external",
            SecretSource::Sops { .. } => "sops",
            SecretSource::ExternalSecrets { .. } => "external-secrets",
        },
        base_template: f.secret_files.iter().any(|p| *p == layout::file_in(layout::BASE, layout::SECRET_TEMPLATE)),
        files: f
            .secret_files
            .iter()
            .map(|p| SecretFileView { example: p.clone(), target: p.strip_suffix(".example").unwrap_or(p).to_string() })
            .collect(),
        // Only the guide of `--secrets external` shows them: a table as long as every key.
        keys: if matches!(f.secret_source, SecretSource::External) { secret_keys(f) } else { Vec::new() },
        store: match &f.secret_source {
            SecretSource::ExternalSecrets { store, .. } => store.clone(),
            _ => String::new(),
        },
        store_kind: match &f.secret_source {
            SecretSource::ExternalSecrets { store_kind, .. } => store_kind.clone(),
            _ => String::new(),
        },
        prefix: match &f.secret_source {
            SecretSource::ExternalSecrets { prefix, .. } => prefix.clone(),
            _ => String::new(),
        },
        remote_keys: remote_keys(f),
    }
}

/// Every key of every Secret that carries a placeholder, with the other keys that share its value.
fn secret_keys(f: &Facts) -> Vec<SecretKeyView> {
    // Who reads each variable, in Secret and key order, indexed once: a shared password read by
    // every service would otherwise be searched for in every key of every Secret.
    let mut readers: std::collections::HashMap<&String, Vec<(&str, &str)>> = Default::default();
    for s in &f.secrets {
        for (k, vars) in &s.keys {
            for var in vars {
                let list = readers.entry(var).or_default();
                if list.last() != Some(&(s.name.as_str(), k.as_str())) {
                    list.push((s.name.as_str(), k.as_str()));
                }
            }
        }
    }
    let mut rows = Vec::new();
    for secret in &f.secrets {
        for (key, vars) in secret.keys.iter().filter(|(_, v)| !v.is_empty()) {
            let same: Vec<String> = vars
                .iter()
                .map(|var| {
                    let others: Vec<String> = readers[var]
                        .iter()
                        .filter(|(s, k)| !(*s == secret.name && *k == key))
                        .map(|(s, k)| format!("{s}/{k}"))
                        .collect();
                    others.join(", ")
                })
                .collect();
            rows.push(SecretKeyView { secret: secret.name.clone(), key: key.clone(), same_as: same.join(", ") });
        }
    }
    rows
}

/// Every variable the Secrets are made of, with the `Secret/key`s that read it.
fn remote_keys(f: &Facts) -> Vec<RemoteKeyView> {
    let mut used: std::collections::BTreeMap<&String, Vec<String>> = Default::default();
    for secret in &f.secrets {
        for (key, vars) in &secret.keys {
            for var in vars {
                used.entry(var).or_default().push(format!("{}/{key}", secret.name));
            }
        }
    }
    used.into_iter().map(|(var, read_as)| RemoteKeyView { variable: var.clone(), read_as }).collect()
}
