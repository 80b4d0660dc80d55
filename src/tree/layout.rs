//! Names of files in the generated tree that several modules must agree on.

/// The SOPS-encrypted secret file of a kustomization (`--secrets sops`), committed.
pub const SOPS_FILE: &str = "secret.sops.yaml";
