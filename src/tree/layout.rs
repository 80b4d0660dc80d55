//! Where things are in the generated tree: the folders and file names that the emitters, the
//! writing to disk (`write`) and the commands must agree on, spelled once.

use std::path::{Path, PathBuf};

/// The folder of what every workload shares: the namespace, the shared ConfigMap, Secret and
/// claims, the network policies.
pub const BASE: &str = "base";

/// The folder that holds one folder per workload (`services/<name>/`).
pub const SERVICES: &str = "services";

/// kustomize's file of every folder (and of the tree's top).
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The Namespace of the tree, in [`BASE`].
pub const NAMESPACE_FILE: &str = "namespace.yaml";

/// The ConfigMaps of a folder.
pub const CONFIG_MAP_FILE: &str = "configmap.yaml";

/// The Secret of a folder as the operator fills it (`--secrets files`); never written by the tool,
/// ignored by git.
pub const SECRET_FILE: &str = "secret.yaml";

/// The template of a folder's Secret: its settings with placeholders for the values.
pub const SECRET_TEMPLATE: &str = "secret.yaml.example";

/// The SOPS-encrypted secret file of a kustomization (`--secrets sops`), committed.
pub const SOPS_FILE: &str = "secret.sops.yaml";

/// The ExternalSecret that stands in for a folder's Secret (`--secrets external-secrets`).
pub const EXTERNAL_SECRET_FILE: &str = "external-secret.yaml";

/// The script that fills the secret files for people without the tool.
pub const SETUP_SECRETS_SCRIPT: &str = "scripts/setup-secrets.sh";

/// Lists the files the tool generated, so a later run prunes only its own stale files.
pub const MANIFEST: &str = ".compose2dify-manifest";

/// The generated guide.
pub const README: &str = "README.md";

/// The tree's provenance, with the choices `upgrade` replays.
pub const GENERATED: &str = "GENERATED.md";

/// What keeps the secret files out of git.
pub const GITIGNORE: &str = ".gitignore";

/// The files of the tree's top folder.
pub const TOP_FILES: &[&str] = &[KUSTOMIZATION, README, GENERATED, GITIGNORE];

/// The folder of workload `name`: `services/<name>`.
pub fn service_dir(name: &str) -> String {
    format!("{SERVICES}/{name}")
}

/// A file of a folder of the tree (`base`, `pvc.yaml` → `base/pvc.yaml`).
pub fn file_in(dir: &str, file: &str) -> String {
    format!("{dir}/{file}")
}

/// The template a secret file of the tree is made from (`base/secret.yaml` and
/// `base/secret.sops.yaml` → `base/secret.yaml.example`).
pub fn template_of(secret: &str) -> String {
    format!("{}.example", secret.replace(SOPS_FILE, SECRET_FILE))
}

/// The secret file a template (`…/secret.yaml.example`) is filled into: beside it, its name without
/// `.example`, or the encrypted file for a sops tree.
pub fn secret_of(template: &Path, sops: bool) -> PathBuf {
    if sops {
        template.with_file_name(SOPS_FILE)
    } else {
        template.with_extension("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_the_tree() {
        assert_eq!(service_dir("api"), "services/api");
        assert_eq!(file_in(BASE, "pvc.yaml"), "base/pvc.yaml");
        assert_eq!(template_of("base/secret.sops.yaml"), "base/secret.yaml.example");
        assert_eq!(template_of("services/api/secret.yaml"), "services/api/secret.yaml.example");
        let template = Path::new("t/services/api/secret.yaml.example");
        assert_eq!(secret_of(template, false), Path::new("t/services/api/secret.yaml"));
        assert_eq!(secret_of(template, true), Path::new("t/services/api/secret.sops.yaml"));
    }
}
