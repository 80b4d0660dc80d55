//! Which settings are secrets (`secrets:` in the rule files), and where the tree's Secrets get
//! their values.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRules {
    pub patterns: Vec<String>,
    #[serde(default)]
    pub not_secret: Vec<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub generate: Vec<String>,
    /// Generated values of these variables are at most this long (a form field that takes no more).
    #[serde(default)]
    pub max_length: BTreeMap<String, usize>,
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub public_values: Vec<String>,
    pub min_value_length: usize,
    /// Secret settings with the same literal value, in services that reach one another, share one
    /// placeholder (a database's password and its client's); `pairs` win.
    #[serde(default)]
    pub share_equal_values: bool,
}

/// Where the values of the tree's Secrets come from (`--secrets MODE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretSource {
    /// `secret.yaml` files made from the `.example` templates beside them (setup-secrets.sh), git-ignored.
    #[default]
    Files,
    /// Secrets created in the cluster out of band (`compose2dify secrets DIR --apply`); the tree only
    /// names them.
    External,
    /// `secret.sops.yaml` files, SOPS-encrypted to age recipients and committed (Flux decrypts
    /// them; Argo CD with a plugin); `compose2dify secrets DIR` writes them.
    Sops { recipients: Vec<String> },
    /// One ExternalSecret (external-secrets.io) per Secret, from a store.
    ExternalSecrets {
        store: String,
        /// `SecretStore` or `ClusterSecretStore`.
        store_kind: String,
        /// Remote keys are `<prefix><VARIABLE>` (`dify/DB_PASSWORD`).
        prefix: String,
    },
}

/// Compiled name patterns for secret detection (built once, used for every setting).
pub struct SecretMatcher {
    patterns: GlobSet,
    not_secret: GlobSet,
    keys: Vec<String>,
    /// Answers so far: every service that merges a shared env block asks about the same names.
    answers: RefCell<HashMap<String, bool>>,
}

impl SecretMatcher {
    pub fn new(rules: &SecretRules) -> Result<Self> {
        Ok(Self {
            patterns: globs(&rules.patterns)?,
            not_secret: globs(&rules.not_secret)?,
            keys: rules.keys.clone(),
            answers: RefCell::default(),
        })
    }

    pub fn is_secret(&self, key: &str) -> bool {
        if let Some(known) = self.answers.borrow().get(key) {
            return *known;
        }
        let secret =
            self.keys.iter().any(|k| k == key) || (self.patterns.is_match(key) && !self.not_secret.is_match(key));
        self.answers.borrow_mut().insert(key.to_string(), secret);
        secret
    }
}

fn globs(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| Error::usage(format!("invalid secret pattern `{p}`: {e}"), "fix the pattern in the rules"))?;
        b.add(glob);
    }
    b.build().map_err(|e| Error::usage(format!("invalid secret patterns: {e}"), "fix the patterns in the rules"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{load, Preset};

    #[test]
    fn secret_names() {
        let rules = load(Preset::Dify, None).unwrap();
        let m = SecretMatcher::new(&rules.secrets).unwrap();
        for k in [
            "DB_PASSWORD",
            "SECRET_KEY",
            "PLUGIN_DAEMON_KEY",
            "CELERY_BROKER_URL",
            "WEAVIATE_API_KEY",
            "UPSTASH_VECTOR_TOKEN",
        ] {
            assert!(m.is_secret(k), "{k}");
        }
        for k in [
            "RESET_PASSWORD_TOKEN_EXPIRY_MINUTES",
            "DB_HOST",
            "PLUGIN_BASED_TOKEN_COUNTING_ENABLED",
            "REDIS_KEY_PREFIX",
        ] {
            assert!(!m.is_secret(k), "{k}");
        }
    }
}
