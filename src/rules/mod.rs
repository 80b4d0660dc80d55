//! The rule files in `mappings/`: what every compose service becomes. Built-in presets are compiled
//! into the binary; a user's file is layered on top (mappings merge key by key, lists are replaced).
//! `Rules` holds what the files say and what follows from their text alone (its fingerprint, the
//! Japanese of its bilingual texts); what the command line decides is the choices module's.
//!
//! Here the rules as a whole; `service` the rule of one service, `security` a container's security
//! context, `secrets` which settings are secrets, `guide` the application's words for the README,
//! `images` the facts of image tags, `load` reading and layering the files.

pub mod guide;
pub mod images;
mod load;
pub mod secrets;
pub mod security;
pub mod service;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{Error, Result};

pub use guide::*;
pub use load::load;
pub use secrets::*;
pub use security::*;
pub use service::*;

pub const GENERIC: &str = include_str!("../../mappings/generic.yaml");
pub const DIFY: &str = include_str!("../../mappings/dify.yaml");
pub const DIFY_IMAGES: &str = include_str!("../../mappings/dify-images.yaml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Dify's rules (mappings/dify.yaml over mappings/generic.yaml).
    Dify,
    /// Rules that need no knowledge of the application (mappings/generic.yaml).
    Generic,
}

/// The rules in force: the preset's files with the user's over them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub namespace: String,
    pub instance: String,
    /// What the tree's README says of the application; empty (the generic preset): a neutral guide.
    #[serde(default)]
    pub guide: Guide,
    /// Settings a service gets when a claim is mounted at a path, unless it sets them itself: what an
    /// image needs to start on a fresh volume that compose's empty one never shows (a file system's
    /// `lost+found` at the root of the claim).
    #[serde(default)]
    pub claim_settings: Vec<ClaimSettings>,
    /// The port an image listens on (its Dockerfile's `EXPOSE`), by repository name without registry
    /// and tag (`postgres`, `bitnami/redis` → `redis`): a service that declares no port and that a
    /// client names without one (`DB_HOST: db`) is reached there, as on compose's network.
    #[serde(default)]
    pub image_ports: BTreeMap<String, u16>,
    /// StorageClass of every ReadWriteOnce claim and claim template, unless `--storage-class` names
    /// one; none or empty: the cluster's default class (no `storageClassName`).
    #[serde(default)]
    pub storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claims, unless `--rwx-storage-class` names one; empty: the
    /// cluster's default class; none: not chosen (the cluster's default, with a warning: default
    /// classes are rarely ReadWriteMany).
    #[serde(default)]
    pub rwx_storage_class: Option<String>,
    /// Annotations on the Namespace and every claim, so GitOps tools never prune or delete data.
    #[serde(default)]
    pub retain_annotations: BTreeMap<String, String>,
    pub config_map: String,
    pub shared_secret: String,
    #[serde(default)]
    pub shared_env: Vec<String>,
    #[serde(default)]
    pub shared_claims: BTreeMap<String, SharedClaim>,
    pub dns: Dns,
    pub defaults: Defaults,
    pub secrets: SecretRules,
    #[serde(default)]
    pub ignored_keys: BTreeMap<String, String>,
    /// Settings every `shared_env` service gets, replacing upstream's value.
    #[serde(default)]
    pub shared_settings: BTreeMap<String, String>,
    /// The settings a browser (or a caller outside the cluster) is sent to, and their value for a
    /// public URL (`--public-url`): `{url}` is the URL, `{ws}` the same with `ws`/`wss`, `{host}`
    /// its host. Settings a release does not have are skipped.
    #[serde(default)]
    pub public_url: IndexMap<String, String>,
    /// Settings that name an in-cluster address, and their value: set where the release has the
    /// setting and no `--set` names it.
    #[serde(default)]
    pub internal_url: IndexMap<String, String>,
    /// Why a checkov finding is accepted: check ID → reason (a service's `findings` win).
    #[serde(default)]
    pub findings: BTreeMap<String, String>,
    #[serde(default)]
    pub services: IndexMap<String, ServiceRule>,
    /// Facts about images per tag, by repository (`langgenius/dify-api`): `mappings/dify-images.yaml`.
    #[serde(default)]
    pub images: BTreeMap<String, crate::rules::images::ImageRule>,
    /// A port the compose file publishes (`"8080:80"`) is an entry point of the stack: anyone may
    /// reach that port (and only it), and `--expose TYPE` sets its Service's type.
    #[serde(default)]
    pub published_ports_are_entry_points: bool,
    /// SHA-256 of the rule files in force (preset and user file), for GENERATED.md.
    #[serde(skip)]
    pub fingerprint: String,
    /// The Japanese of the rules' texts given in both languages (reasons, security notes), by their
    /// English (see `split_bilingual`).
    #[serde(skip)]
    pub ja: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedClaim {
    pub source: String,
    pub size: String,
    pub access_mode: String,
    /// Only while these settings have one of the listed values (e.g. local file storage; a setting
    /// the service lacks does not count against it); otherwise the bind mount is dropped, no claim.
    #[serde(default)]
    pub when: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    pub docker_resolver: String,
    /// The cluster's DNS Service, as a name relative to the cluster domain (`kube-dns.kube-system.svc`).
    pub cluster_resolver: String,
    /// The cluster's DNS domain (`cluster.local`; `--cluster-domain`).
    pub cluster_domain: String,
}

impl Dns {
    /// The fully qualified name of a Service: `<name>.<namespace>.svc.<cluster domain>`.
    pub fn service_suffix(&self, namespace: &str) -> String {
        format!("{namespace}.svc.{}", self.cluster_domain)
    }

    /// The fully qualified name of the cluster's DNS Service.
    pub fn resolver(&self) -> String {
        format!("{}.{}", self.cluster_resolver, self.cluster_domain)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub kind: Kind,
    pub replicas: i32,
    pub service_type: String,
    pub claim_size: String,
    pub access_mode: String,
    pub resources: Resources,
    pub security: Security,
    pub probe: ProbeTiming,
    /// Workloads with more than one replica spread their pods over this node label.
    pub topology_key: Option<String>,
    /// The reasons the plan gives itself (English here; the Japanese is in `Rules::ja`).
    pub reasons: Reasons,
}

/// The plan's own reasons: why a service is left out, why a finding is accepted without a rule.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Reasons {
    /// A service whose profiles are not active (followed by the profiles in parentheses).
    pub profile_inactive: String,
    /// A service the rules leave out without saying why.
    pub left_out: String,
    /// A service with no image.
    pub no_image: String,
    /// A finding the rules give no reason for.
    pub no_reason: String,
}

/// `claim_settings:` entry: at this container path, these settings, for this reason.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClaimSettings {
    pub path: String,
    pub settings: BTreeMap<String, String>,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeTiming {
    pub period_seconds: i32,
    pub timeout_seconds: i32,
    pub failure_threshold: i32,
    /// How long a pod may take to start before its liveness probe counts (a startupProbe); none: no
    /// allowance beyond the liveness probe's own failures.
    #[serde(default)]
    pub startup_seconds: Option<i32>,
}

impl Rules {
    /// The rule for an upstream service: by its name, else by one of the rules' older names.
    pub fn service(&self, upstream: &str) -> Option<&ServiceRule> {
        self.services.get(upstream).or_else(|| self.services.values().find(|r| r.also.iter().any(|a| a == upstream)))
    }

    /// The workload name of an upstream service: the rule's `name`, else its name made DNS-safe.
    pub fn workload_name(&self, upstream: &str) -> String {
        self.service(upstream).and_then(|r| r.name.clone()).unwrap_or_else(|| crate::names::dns_label(upstream))
    }

    /// The settings `--public-url URL` sets (the rules' `public_url`, filled in), in rule order. The
    /// URL is `http(s)://host[:port][/path]`; a trailing `/` is dropped.
    pub fn public_settings(&self, url: &str) -> Result<Vec<(String, String)>> {
        let bad = || {
            Error::usage(
                format!("--public-url `{url}` is not an http(s) URL"),
                "give the address users type in their browser, e.g. --public-url https://dify.example.com",
            )
        };
        let url = url.trim_end_matches('/');
        let (ws, rest) = match url.split_once("://") {
            Some(("https", rest)) => ("wss", rest),
            Some(("http", rest)) => ("ws", rest),
            _ => return Err(bad()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let port_ok = authority.rsplit_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !crate::names::is_dns_subdomain(&host.to_ascii_lowercase()) && host.parse::<std::net::Ipv4Addr>().is_err()
            || !port_ok
            || rest.contains(['?', '#', ' ', '"', '\\'])
        {
            return Err(bad());
        }
        let ws_url = format!("{ws}://{rest}");
        Ok(self
            .public_url
            .iter()
            .map(|(k, t)| (k.clone(), t.replace("{url}", url).replace("{ws}", &ws_url).replace("{host}", host)))
            .collect())
    }
}
