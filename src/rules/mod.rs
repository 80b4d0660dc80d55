//! The rule files in `mappings/`: what every compose service becomes. Built-in presets are compiled
//! into the binary; a user's file is layered on top (mappings merge key by key, lists are replaced).

pub mod images;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use indexmap::IndexMap;
use serde::Deserialize;
use yaml_serde::Value;

use crate::error::{Error, Result};

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
    /// StorageClass of every ReadWriteOnce claim and claim template; none or empty: the cluster's
    /// default class (no `storageClassName`).
    #[serde(default)]
    pub storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claims; empty: the cluster's default class; none: not
    /// chosen (the cluster's default, with a warning: default classes are rarely ReadWriteMany).
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
    /// `--expose TYPE` for the services that publish ports (when they are entry points).
    #[serde(skip)]
    pub published_service_type: Option<String>,
    /// The cluster's pod and Service ranges (`--cluster-cidr`, `--service-cidr`): added to every
    /// `egress.internet_except`, and to templates as `COMPOSE2DIFY_CLUSTER_RANGES`.
    #[serde(skip)]
    pub cluster_ranges: Vec<String>,
    /// Ranges the fenced workloads may reach all the same (`--allow-egress`), and templates as
    /// `COMPOSE2DIFY_ALLOWED_RANGES`.
    #[serde(skip)]
    pub allowed_ranges: Vec<String>,
    /// The entry point sits behind an Ingress (or route) controller, which sets `X-Forwarded-*`.
    #[serde(skip)]
    pub behind_proxy: bool,
    /// SHA-256 of the layered rules actually in force (preset and user file), for GENERATED.md.
    #[serde(skip)]
    pub fingerprint: String,
    /// Where the Secrets' values come from (`--secrets`).
    #[serde(skip)]
    pub secret_source: SecretSource,
    /// `--autoscale`: services with an `autoscale` rule get a HorizontalPodAutoscaler.
    #[serde(skip)]
    pub autoscale: bool,
    /// `--registry`: the registry (and path prefix) every image is pulled from.
    #[serde(skip)]
    pub registry: Option<String>,
    /// The Japanese of the rules' texts given in both languages (reasons, security notes), by their
    /// English (see `split_bilingual`).
    #[serde(skip)]
    pub ja: BTreeMap<String, String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Kind {
    Deployment,
    StatefulSet,
    /// One pod per node (compose's `deploy.mode: global`).
    DaemonSet,
    /// Runs to completion (compose's `restart: "no"` / `on-failure`, or a service others wait to
    /// complete).
    Job,
    /// Left out of the tree, with a reason.
    Omit,
    /// Absorbed into other workloads (a one-shot helper), with a reason.
    Fold,
    /// Run outside the cluster (a managed database): not deployed, and nothing may still point at it.
    External,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub allow_privilege_escalation: Option<bool>,
    pub drop_capabilities: Option<Vec<String>>,
    pub add_capabilities: Option<Vec<String>>,
    pub seccomp: Option<String>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
    pub read_only_root: Option<bool>,
    /// With a read-only root filesystem: paths that get an empty writable directory.
    pub writable_paths: Option<Vec<String>>,
    /// `privileged: true`: only where the compose file asks for it (never from the rules' defaults).
    pub privileged: Option<bool>,
}

/// `claim_settings:` entry: at this container path, these settings, for this reason.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClaimSettings {
    pub path: String,
    pub settings: BTreeMap<String, String>,
    pub why: String,
}

/// The application's own words for the tree's README (`guide:` in mappings/dify.yaml).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    /// The application's name (`Dify`); none: the guide speaks of "the application".
    pub product: Option<String>,
    /// Where upstream keeps its compose setup, as the guide names it (`docker/docker-compose.yaml`).
    pub compose_file: Option<String>,
    /// Links at the end of the guide, after the Kubernetes ones.
    #[serde(default)]
    pub links: Vec<GuideLink>,
    /// Title, purpose, layer and backup of a workload, by folder name or role.
    #[serde(default)]
    pub workloads: BTreeMap<String, GuideWorkload>,
    /// The workload in front that receives outside traffic (folder name or role); none: any
    /// workload with a LoadBalancer or NodePort Service.
    pub entry: Option<String>,
    /// The scheduler of periodic tasks, which must stay at one replica.
    pub scheduler: Option<String>,
    /// Workloads that keep internet access to call model providers and plugin sources.
    #[serde(default)]
    pub internet: Vec<String>,
    /// A workload whose outbound traffic goes through a proxy, and the proxy.
    pub proxied: Option<GuideProxied>,
    /// The upstream service that makes TLS certificates (Dify's `certbot`), which the guide names
    /// when it is left out.
    pub tls: Option<String>,
    /// The setting that holds the password the first start asks for (Dify's `INIT_PASSWORD` at
    /// `/install`): the guide says how to read it.
    pub admin_password: Option<String>,
    /// The program versions the tree's edits of a workload's config files were run with (folder name
    /// or role → `nginx 1.22`): the guide names them, and the nginx and squid tests fail when the
    /// programs they run are other versions.
    #[serde(default)]
    pub config_checked_with: BTreeMap<String, String>,
    /// The setting whose value signs and encrypts stored data (Dify's `SECRET_KEY`): moving an
    /// install keeps it, or the data the old value protects is lost.
    pub encryption_key: Option<String>,
    /// The workloads the guide's example commands use.
    #[serde(default)]
    pub examples: GuideExamples,
    /// The main traffic paths, one a line: hops of folder names or roles (comma-separated, each
    /// workload shown once per path) joined by `->` (or `<->` both ways); `Internet` is the outside,
    /// `<entry>` the entry workload. A hop ending in `?` ends the path where it has no workload;
    /// any other hop without one drops the path.
    #[serde(default)]
    pub traffic: Vec<String>,
    /// How the data of a workload is backed up by its image's repository (`postgres`, `mysql`,
    /// without registry, `library/` and tag), for workloads the rules' `workloads` give no backup.
    #[serde(default)]
    pub backup_images: BTreeMap<String, Backup>,
    /// The guide's example of files in object storage reached with the pods' own cloud identity.
    pub object_storage: Option<GuideObjectStorage>,
}

/// Files in S3 with the pods' own role (IRSA): the settings, the workloads that read and write the
/// files, and the plugin daemon's own object storage (which lets it run several replicas).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideObjectStorage {
    pub settings: Vec<String>,
    pub workloads: Vec<String>,
    pub plugin_workload: Option<String>,
    #[serde(default)]
    pub plugin_settings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideProxied {
    pub workload: String,
    pub proxy: String,
}

/// Folder names or roles of the workloads the guide's examples show.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideExamples {
    /// Applied alone (`kubectl apply -k services/<it>/`); none: the first workload.
    pub apply: Option<String>,
    /// Whose logs the status check follows (a Deployment).
    pub logs: Option<String>,
    /// Restarted and rolled back (a Deployment); none: the first Deployment.
    pub restart: Option<String>,
    /// Scaled (Deployments); none: the guide names no workload to scale.
    #[serde(default)]
    pub scale: Vec<String>,
}

/// Which part of the stack a workload belongs to, for the guide's service details.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Data,
    App,
    Support,
}

/// How a workload's data is backed up, beyond archiving its claims with `tar`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Backup {
    /// A PostgreSQL server: `pg_dumpall` and `psql`.
    PgDumpall,
    /// A Redis server: `redis-cli BGSAVE` and its `dump.rdb`.
    RedisBgsave,
    /// A MySQL server (the official image): `mysqldump` and `mysql`.
    Mysqldump,
    /// A MariaDB server (the official image): `mariadb-dump` and `mariadb`.
    MariadbDump,
    /// A MongoDB server (the official image): `mongodump --archive` and `mongorestore`.
    Mongodump,
    /// A database with a backup feature of its own (a vector store).
    OwnTool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideLink {
    pub en: String,
    pub ja: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideWorkload {
    pub title: Option<Text>,
    pub purpose: Option<Text>,
    /// Its part of the stack; none: a supporting service.
    pub layer: Option<Layer>,
    pub backup: Option<Backup>,
}

/// A text in both languages of the guide.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub ja: String,
}

impl Kind {
    /// The Kubernetes kind a workload of this kind is emitted as.
    pub fn object_kind(self) -> &'static str {
        match self {
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            _ => "Deployment",
        }
    }
}

impl Security {
    /// Fields of `over` win.
    pub fn layered(&self, over: &Security) -> Security {
        Security {
            allow_privilege_escalation: over.allow_privilege_escalation.or(self.allow_privilege_escalation),
            drop_capabilities: over.drop_capabilities.clone().or_else(|| self.drop_capabilities.clone()),
            add_capabilities: over.add_capabilities.clone().or_else(|| self.add_capabilities.clone()),
            seccomp: over.seccomp.clone().or_else(|| self.seccomp.clone()),
            run_as_non_root: over.run_as_non_root.or(self.run_as_non_root),
            run_as_user: over.run_as_user.or(self.run_as_user),
            run_as_group: over.run_as_group.or(self.run_as_group),
            fs_group: over.fs_group.or(self.fs_group),
            read_only_root: over.read_only_root.or(self.read_only_root),
            writable_paths: over.writable_paths.clone().or_else(|| self.writable_paths.clone()),
            privileged: over.privileged.or(self.privileged),
        }
    }
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRule {
    #[serde(default)]
    pub also: Vec<String>,
    /// Other host names upstream's settings reach this service by (through Docker's host).
    #[serde(default)]
    pub host_aliases: Vec<String>,
    pub name: Option<String>,
    pub kind: Option<Kind>,
    pub reason: Option<String>,
    pub role: Option<String>,
    pub description: Option<String>,
    pub replicas: Option<i32>,
    pub ports: Option<Vec<u16>>,
    pub service_type: Option<String>,
    pub probe: Option<ProbeRule>,
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimRule>,
    #[serde(default)]
    pub drop_mounts: BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// Arguments added after the command (compose's or the rule's).
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Memory-backed emptyDir volumes: container path → size limit.
    #[serde(default)]
    pub memory_volumes: BTreeMap<String, String>,
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    #[serde(default)]
    pub template_vars: IndexMap<String, TemplateVar>,
    #[serde(default)]
    pub fqdn_hosts: bool,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub resources: Option<Resources>,
    pub security: Option<Security>,
    /// Settings for images that have a feature (`images:` facts of the service's image tag: a
    /// lighter health check, a start-up that needs other capabilities): one rule or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub when: Vec<WhenRule>,
    /// For a `Fold` service: it runs as an init container of every workload that mounts one of its
    /// bind sources (its own image and command, at its own mount path), with this security.
    pub fold: Option<FoldRule>,
    /// Why its security context is what it is, for the tree's security table (one line).
    pub security_note: Option<String>,
    /// One-shot Jobs run from this service's pod (image, settings, storage): job name → rule.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobRule>,
    /// Init containers of the service's own image and settings: name → argv.
    #[serde(default)]
    pub init: BTreeMap<String, Vec<String>>,
    /// Containers of the pod share one process namespace (the first process is not PID 1).
    #[serde(default)]
    pub share_process_namespace: bool,
    /// An Ingress in front of this service's Service.
    pub ingress: Option<IngressRule>,
    /// Ingress annotations per IngressClass, each from one of the service's own settings.
    #[serde(default)]
    pub ingress_annotations: BTreeMap<String, BTreeMap<String, IngressAnnotation>>,
    /// A Gateway API HTTPRoute in front of this service's Service (usually from `--gateway`).
    pub gateway: Option<GatewayRule>,
    /// The HTTPRoute's `timeouts` (`request`, `backendRequest`), each from one of the service's own
    /// settings (an nginx time: `seconds: true`).
    #[serde(default)]
    pub route_timeouts: BTreeMap<String, IngressAnnotation>,
    /// The setting that holds the service's own request-body limit: the guide sizes the Gateway
    /// implementations' body-size policies by it (Gateway API has no standard field for it).
    pub route_body_size: Option<IngressAnnotation>,
    /// Why a checkov finding on this workload is accepted: check ID → reason.
    #[serde(default)]
    pub findings: BTreeMap<String, String>,
    /// Text added to rendered files (a location nginx answers itself, a proxy's deny rule).
    #[serde(default)]
    pub inserts: Vec<InsertRule>,
    /// An egress policy: the workload's flows, DNS, and addresses outside the cluster but these.
    pub egress: Option<EgressRule>,
    /// The service gets the project's env source (`.env`) whole through `env_file` but uses only
    /// its own settings: a setting only the env source gives makes no flow (NetworkPolicy).
    #[serde(default)]
    pub inherits_env_source: bool,
    /// Workloads (folder names) it never sends traffic to although its settings name them, each
    /// with the reason: no flow, so their ingress policies do not admit it.
    #[serde(default)]
    pub never_calls: BTreeMap<String, String>,
    /// Its Secret holds only the secret settings of its own `environment:` and those its image
    /// reads (the image facts' `reads` of its tag); what env files hand it besides is left out.
    #[serde(default)]
    pub secrets_by_need: bool,
    /// With `--ha`: how many replicas it runs (budgets and topology spread follow from more than
    /// one), and whether its claims become emptyDir volumes (seeded like the claims were).
    pub ha: Option<HaRule>,
    /// With `--autoscale`: a HorizontalPodAutoscaler (autoscaling/v2) on its CPU.
    pub autoscale: Option<AutoscaleRule>,
    /// Always replaced with `Recreate` (a scheduler that must never run twice at once).
    #[serde(default)]
    pub recreate: bool,
    /// Annotations of its ServiceAccount (`--service-account-annotation`: IRSA, Workload Identity).
    #[serde(default)]
    pub service_account_annotations: BTreeMap<String, String>,
}

/// A workload's production profile (`--ha`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaRule {
    pub replicas: i32,
    /// Its claims hold nothing that must outlive a pod: emptyDir volumes instead, seeded the same way.
    #[serde(default)]
    pub ephemeral_claims: bool,
}

/// A HorizontalPodAutoscaler on the workload's CPU (`--autoscale`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleRule {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target average CPU use, in percent of the container's CPU request.
    pub cpu_percent: i32,
}

/// Text added to a rendered file, before it is rendered (so it may use the template's variables):
/// after every line that starts with `after` (indented one level deeper), or before the first line
/// that starts with `before` (indented like it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertRule {
    /// The rendered file's path in the container.
    pub file: String,
    pub after: Option<String>,
    pub before: Option<String>,
    /// The text replaces every line that is exactly this (spaces around it aside).
    pub replace: Option<String>,
    /// A file without the anchor is fine (a release that lacks that part): no warning.
    #[serde(default)]
    pub optional: bool,
    pub text: String,
}

/// Egress of a workload that reaches addresses outside the cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressRule {
    /// Every address is allowed except these blocks (IPv4 and IPv6 CIDRs).
    pub internet_except: Vec<String>,
}

/// A Job made from a service's pod: named after the release, so it runs once per release.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRule {
    pub description: Option<String>,
    /// Settings set on the Job's container, over the service's own.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub backoff_limit: Option<i32>,
    /// Whether the Job mounts the service's claims (default true); a Job that needs none of them
    /// must not wait for one that cannot bind.
    #[serde(default = "yes")]
    pub claims: bool,
    /// Workloads (folder names) its pods never send traffic to, although its workload's do, each
    /// with the reason: their ingress policies do not admit the Job.
    #[serde(default)]
    pub never_calls: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenRule {
    /// The feature of the service's image (a fact in `images:`) that it applies to.
    pub fact: String,
    /// Layered over the service's security.
    #[serde(default)]
    pub security: Security,
    /// Capabilities added to the service's own (not replacing them).
    #[serde(default)]
    pub add_capabilities: Vec<String>,
    /// Replaces the service's probe.
    pub probe: Option<ProbeRule>,
    /// Replaces the service's `security_note`.
    pub security_note: Option<String>,
}

/// How a one-shot service folds into the pods that share its storage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldRule {
    /// Layered over the defaults (dropped capabilities, no privilege escalation, seccomp).
    #[serde(default)]
    pub security: Security,
    /// Why a checkov finding caused by the init container is accepted: check ID → reason.
    #[serde(default)]
    pub findings: BTreeMap<String, String>,
}

/// One rule, or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<WhenRule>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Box<WhenRule>),
        Many(Vec<WhenRule>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(r)) => vec![*r],
        Some(OneOrMany::Many(v)) => v,
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressRule {
    pub host: String,
    /// Service port (default: the first).
    pub port: Option<u16>,
    /// Secret holding the TLS certificate for `host` (no TLS without it).
    pub tls_secret: Option<String>,
    pub class: Option<String>,
    /// Annotations of the Ingress (`--ingress-annotation`); they win over derived ones.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The Gateway an HTTPRoute attaches to (`--gateway [NAMESPACE/]NAME`), and the Gateway to write
/// when `class` is given (`--gateway-class`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayRule {
    pub name: String,
    /// The Gateway's namespace (default: the app's).
    pub namespace: Option<String>,
    /// The listener the route attaches to (`sectionName`); all listeners without it.
    pub section: Option<String>,
    /// GatewayClass of a Gateway the tree creates; none: attach to an existing Gateway.
    pub class: Option<String>,
    /// Secret with the certificate of the created Gateway's HTTPS listener.
    pub tls_secret: Option<String>,
    /// Namespace of the Gateway's data plane, admitted by the entry point's NetworkPolicy
    /// (default: the Gateway's namespace, unless `sources` are given).
    pub data_plane_namespace: Option<String>,
    /// Address blocks of a data plane outside the cluster (a cloud load balancer), admitted too.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The route's host name (from `--public-url` or `--ingress-host`); none matches every host.
    pub hostname: Option<String>,
}

impl GatewayRule {
    /// The listener names of a Gateway the tree creates: `http`, and `https` with a certificate.
    pub fn listeners(&self) -> Vec<&'static str> {
        if self.tls_secret.is_some() {
            vec!["http", "https"]
        } else {
            vec!["http"]
        }
    }

    /// Refuse names the API server would refuse, and a created Gateway outside the app's namespace
    /// `app_namespace` (the tree writes every object there).
    fn check(&self, app_namespace: &str) -> Result<()> {
        let names = [
            ("--gateway", Some(&self.name), false),
            ("--gateway (namespace)", self.namespace.as_ref(), true),
            ("--gateway-section", self.section.as_ref(), false),
            ("--gateway-class", self.class.as_ref(), false),
            ("--gateway-tls-secret", self.tls_secret.as_ref(), false),
            ("--gateway-namespace", self.data_plane_namespace.as_ref(), true),
        ];
        for (flag, value, label) in names {
            let Some(value) = value else { continue };
            let ok = if label { crate::names::is_dns_label(value) } else { crate::names::is_dns_subdomain(value) };
            if !ok {
                let what = if label { "a DNS label" } else { "a DNS subdomain" };
                return Err(Error::usage(
                    format!(
                        "{flag} `{value}` is not {what} (lowercase letters, digits, `-`{})",
                        if label { "" } else { " and `.`" }
                    ),
                    "write it as --gateway infra/public-gateway (NAMESPACE/NAME), names as `kubectl get` shows them",
                ));
            }
        }
        if let Some(bad) = self.sources.iter().find(|c| !is_cidr(c)) {
            return Err(Error::usage(
                format!("--gateway-source `{bad}` is not an address block (ADDRESS/PREFIX)"),
                "write it as --gateway-source 10.0.0.0/16 (your VPC's CIDR) or --gateway-source 35.191.0.0/16",
            ));
        }
        if self.class.is_none() {
            return Ok(());
        }
        if let Some(ns) = self.namespace.as_deref().filter(|ns| *ns != app_namespace) {
            return Err(Error::usage(
                format!("--gateway-class writes the Gateway into the app's namespace `{app_namespace}`, not `{ns}`"),
                format!(
                    "drop the namespace (--gateway {}), or attach to a Gateway in `{ns}` without --gateway-class (a --gateway-class the tree records goes only with --reset-choices)",
                    self.name
                ),
            ));
        }
        if let Some(section) = self.section.as_deref().filter(|s| !self.listeners().contains(s)) {
            return Err(Error::usage(
                format!(
                    "--gateway-section `{section}` names no listener of the Gateway the tree creates ({})",
                    self.listeners().join(", ")
                ),
                "drop --gateway-section (the route attaches to every listener), or name one of those",
            ));
        }
        Ok(())
    }
}

/// An Ingress annotation whose value is one of the service's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressAnnotation {
    pub setting: String,
    /// Convert an nginx time (`3600s`, `1h`, `90`) to whole seconds, as the annotation expects.
    #[serde(default)]
    pub seconds: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRule {
    pub http: Option<HttpProbe>,
    pub tcp: Option<u16>,
    pub exec: Option<Vec<String>>,
    pub period_seconds: Option<i32>,
    pub timeout_seconds: Option<i32>,
    /// Failures in a row before the pod is restarted (liveness) or taken out of its Service.
    pub failure_threshold: Option<i32>,
    /// Adds a startupProbe that allows this long for the first success.
    pub startup_seconds: Option<i32>,
    /// A different check for liveness ({http}, {tcp} or {exec}); readiness keeps the one above.
    pub liveness: Option<Box<ProbeRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    pub path: String,
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    pub name: Option<String>,
    pub size: Option<String>,
    pub access_mode: Option<String>,
    pub storage_class: Option<String>,
    #[serde(default)]
    pub seed: bool,
    /// An emptyDir volume instead of a claim (set by `--ha` for `ha.ephemeral_claims`).
    #[serde(default)]
    pub ephemeral: bool,
}

/// A variable a start script would derive: a fixed value (interpolated with the service's settings),
/// or a rendered template, or empty when the `when` setting is not `true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateVar {
    pub when: Option<String>,
    pub value: Option<String>,
    pub template: Option<String>,
}

/// Deployment choices from the command line, applied over the rules in force.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// Services run outside the cluster: a compose name, an older name or the workload name.
    pub external: Vec<String>,
    /// Service type of the services the rules expose (ClusterIP, NodePort or LoadBalancer).
    pub expose: Option<String>,
    /// An Ingress in front of the exposed service.
    pub ingress: Option<IngressRule>,
    /// A Gateway API HTTPRoute in front of the exposed service.
    pub gateway: Option<GatewayRule>,
    /// Where the Secrets' values come from.
    pub secrets: SecretSource,
    /// `--storage-class`: class of the ReadWriteOnce claims (empty: the cluster's default).
    pub storage_class: Option<String>,
    /// `--rwx-storage-class`: class of the ReadWriteMany claims (empty: the cluster's default).
    pub rwx_storage_class: Option<String>,
    /// Namespace of every object (a DNS label).
    pub namespace: Option<String>,
    /// The cluster's DNS domain (`cluster.local`).
    pub cluster_domain: Option<String>,
    /// `--cluster-cidr` and `--service-cidr`: the cluster's own address ranges.
    pub cluster_ranges: Vec<String>,
    /// `--allow-egress`: ranges the fenced workloads may reach all the same.
    pub allowed_ranges: Vec<String>,
    /// The public URL is https (`--public-url https://…`, or an Ingress with TLS).
    pub public_https: bool,
    /// `--ha`: the rules' `ha` profile of every service.
    pub ha: bool,
    /// `--autoscale`: the rules' `autoscale` HorizontalPodAutoscalers (implies `ha`).
    pub autoscale: bool,
    /// `--registry HOST[/PATH]`: every image is pulled from there.
    pub registry: Option<String>,
    /// `--service-account-annotation WORKLOAD:KEY=VALUE`: (workload, key, value).
    pub service_account_annotations: Vec<(String, String, String)>,
}

/// Whether `text` is a registry for `--registry`: a host name or IPv4 address, an optional port, and
/// an optional path of lowercase components (`registry.example.com:5000/mirror`).
pub fn is_registry(text: &str) -> bool {
    let (authority, path) = text.split_once('/').unwrap_or((text, ""));
    let (host, port) = authority.rsplit_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
    let host_ok = crate::names::is_dns_subdomain(host) || host.parse::<std::net::Ipv4Addr>().is_ok();
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let path_ok = path.is_empty()
        || path.split('/').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        });
    host_ok && port_ok && path_ok
}

/// Whether `text` is an IPv4 or IPv6 range in CIDR form (`10.0.0.0/8`, `fd00::/8`).
pub fn is_cidr(text: &str) -> bool {
    let Some((address, bits)) = text.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

impl Rules {
    /// The choices' own form: class names, annotation keys, the Gateway, address ranges.
    fn check_choices(&self, choices: &Choices) -> Result<()> {
        for (flag, class) in
            [("--storage-class", &choices.storage_class), ("--rwx-storage-class", &choices.rwx_storage_class)]
        {
            if let Some(c) = class.as_deref().filter(|c| !c.is_empty() && !crate::names::is_dns_subdomain(c)) {
                return Err(Error::usage(
                    format!("{flag} `{c}` is not a StorageClass name (a DNS subdomain: lowercase letters, digits, `-` and `.`)"),
                    format!("name a class of `kubectl get storageclass`, or pass {flag} \"\" for the cluster's default class"),
                ));
            }
        }
        if let Some(ingress) = &choices.ingress {
            for key in ingress.annotations.keys() {
                if !crate::names::is_qualified_name(key) {
                    return Err(Error::usage(
                        format!("--ingress-annotation `{key}` is not an annotation key (`[prefix/]name`: a DNS subdomain prefix, a name of up to 63 letters, digits, `-`, `_`, `.`)"),
                        "write it as --ingress-annotation nginx.ingress.kubernetes.io/proxy-body-size=100m",
                    ));
                }
            }
        }
        if let Some(gateway) = &choices.gateway {
            gateway.check(choices.namespace.as_deref().unwrap_or(&self.namespace))?;
        }
        if let Some(registry) = choices.registry.as_deref().filter(|r| !is_registry(r)) {
            return Err(Error::usage(
                format!("--registry `{registry}` is not a registry host with an optional port and path"),
                "write it as --registry registry.example.com or --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub",
            ));
        }
        for (_, key, _) in &choices.service_account_annotations {
            if !crate::names::is_qualified_name(key) {
                return Err(Error::usage(
                    format!("--service-account-annotation key `{key}` is not an annotation key (`[prefix/]name`)"),
                    "write it as --service-account-annotation api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify",
                ));
            }
        }
        for (flag, ranges) in
            [("--cluster-cidr/--service-cidr", &choices.cluster_ranges), ("--allow-egress", &choices.allowed_ranges)]
        {
            if let Some(bad) = ranges.iter().find(|r| !is_cidr(r)) {
                return Err(Error::usage(
                    format!("{flag} `{bad}` is not an address range in CIDR form"),
                    "write it as 10.100.0.0/16 (IPv4) or fd00::/108 (IPv6)",
                ));
            }
        }
        Ok(())
    }

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

    /// Apply command-line choices. `services` are the compose file's service names.
    pub fn apply(&mut self, choices: &Choices, services: &[String]) -> Result<()> {
        self.check_choices(choices)?;
        self.cluster_ranges = choices.cluster_ranges.clone();
        self.allowed_ranges = choices.allowed_ranges.clone();
        self.behind_proxy = choices.ingress.is_some() || choices.gateway.is_some();
        if let Some(c) = &choices.storage_class {
            self.storage_class = Some(c.clone());
        }
        if let Some(c) = &choices.rwx_storage_class {
            self.rwx_storage_class = Some(c.clone());
        }
        if let Some(ns) = &choices.namespace {
            if !crate::names::is_dns_label(ns) {
                return Err(Error::usage(
                    format!("--namespace `{ns}` is not a DNS label"),
                    "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
                ));
            }
            self.namespace = ns.clone();
        }
        if let Some(domain) = &choices.cluster_domain {
            if !domain.split('.').all(crate::names::is_dns_label) || domain.len() > 253 {
                return Err(Error::usage(
                    format!("--cluster-domain `{domain}` is not a DNS domain"),
                    "use DNS labels joined by dots, as the cluster's kubelet --cluster-domain (e.g. cluster.local)",
                ));
            }
            self.dns.cluster_domain = domain.clone();
        }
        for wanted in &choices.external {
            let key = self
                .services
                .iter()
                .find(|(k, r)| *k == wanted || r.also.contains(wanted) || r.name.as_ref() == Some(wanted))
                .map(|(k, _)| k.clone())
                .or_else(|| services.iter().find(|s| *s == wanted || self.workload_name(s) == *wanted).cloned())
                .ok_or_else(|| {
                    Error::usage(
                        format!("--external `{wanted}` names no service of the compose file or the rules"),
                        format!("use a compose service or workload name, one of: {}", services.join(", ")),
                    )
                })?;
            let rule = self.services.entry(key).or_default();
            rule.kind = Some(Kind::External);
            let reason = "runs outside the cluster (--external); its settings point at your server";
            rule.reason = Some(reason.into());
            self.ja.insert(
                reason.into(),
                "クラスターの外で動きます（--external）。設定はお使いのサーバーを指します".into(),
            );
        }
        let exposed: Vec<String> = self
            .services
            .iter()
            .filter(|(_, r)| r.service_type.as_deref().is_some_and(|t| t != "ClusterIP"))
            .map(|(k, _)| k.clone())
            .collect();
        let way_in = choices.ingress.is_some() || choices.gateway.is_some();
        if exposed.is_empty() && self.published_ports_are_entry_points && !way_in {
            // The compose file's published ports are the entry points: the plan gives them the type.
            self.published_service_type = choices.expose.clone();
        } else if (choices.expose.is_some() || way_in) && exposed.is_empty() {
            return Err(Error::usage(
                "no service is exposed by the rules, so --expose, --ingress-host and --gateway have nothing to apply to",
                "give the entry service `service_type: LoadBalancer` in a rules file (--mappings)",
            ));
        }
        for key in &exposed {
            let rule = self.services.entry(key.clone()).or_default();
            // One way in: behind an Ingress or a route the Service needs no address of its own.
            match &choices.expose {
                Some(t) => rule.service_type = Some(t.clone()),
                None if way_in => rule.service_type = Some("ClusterIP".into()),
                None => {}
            }
            if let Some(ingress) = &choices.ingress {
                rule.ingress = Some(ingress.clone());
            }
            if let Some(gateway) = &choices.gateway {
                rule.gateway = Some(gateway.clone());
            }
        }
        self.secret_source = choices.secrets.clone();
        self.apply_operations(choices, services)?;
        if choices.external.is_empty()
            && choices.expose.is_none()
            && choices.ingress.is_none()
            && choices.gateway.is_none()
            && choices.secrets == SecretSource::Files
            && choices.storage_class.is_none()
            && choices.rwx_storage_class.is_none()
            && choices.namespace.is_none()
            && choices.cluster_domain.is_none()
            && choices.cluster_ranges.is_empty()
            && choices.allowed_ranges.is_empty()
            && !choices.ha
            && !choices.autoscale
            && choices.registry.is_none()
            && choices.service_account_annotations.is_empty()
        {
            return Ok(());
        }
        let seen = format!("{}{:?}", self.fingerprint, choices);
        self.fingerprint = crate::hash::sha256(seen.as_bytes());
        Ok(())
    }
}

impl Rules {
    /// `--ha`, `--autoscale`, `--registry` and `--service-account-annotation`: the rules' profiles
    /// switched on, the registry kept for the plan, the annotations on the named workloads' rules.
    fn apply_operations(&mut self, choices: &Choices, services: &[String]) -> Result<()> {
        self.autoscale = choices.autoscale;
        self.registry = choices.registry.as_ref().map(|r| r.trim_end_matches('/').to_string());
        if choices.ha || choices.autoscale {
            for rule in self.services.values_mut() {
                let Some(ha) = rule.ha.clone() else { continue };
                rule.replicas = Some(rule.replicas.unwrap_or(0).max(ha.replicas));
                if ha.ephemeral_claims {
                    for claim in rule.claims.values_mut() {
                        claim.ephemeral = true;
                    }
                }
            }
        }
        for (workload, key, value) in &choices.service_account_annotations {
            let Some(service) = services.iter().find(|s| self.workload_name(s) == *workload || *s == workload) else {
                let names: Vec<String> = services.iter().map(|s| self.workload_name(s)).collect();
                return Err(Error::usage(
                    format!("--service-account-annotation `{workload}` names no workload"),
                    format!("name one of: {}", names.join(", ")),
                ));
            };
            let key_of = self.service(service).map(|_| {
                self.services
                    .iter()
                    .find(|(k, r)| *k == service || r.also.contains(service))
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| service.clone())
            });
            let rule = self.services.entry(key_of.unwrap_or_else(|| service.clone())).or_default();
            rule.service_account_annotations.insert(key.clone(), value.clone());
        }
        Ok(())
    }
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

/// The rules for a preset, with an optional user file layered on top.
pub fn load(preset: Preset, user: Option<&Path>) -> Result<Rules> {
    let builtin =
        |name: &str, text: &str| -> Result<Value> { crate::read::yaml::parse(Path::new(name), text, "rules file") };
    let mut value = builtin("mappings/generic.yaml", GENERIC)?;
    // The fingerprint is of the files' text, each named: serializing the layered rules again only
    // to hash them cost an eighth of a Dify run.
    let mut seen = format!("mappings/generic.yaml\0{GENERIC}\0");
    if preset == Preset::Dify {
        layer(&mut value, builtin("mappings/dify.yaml", DIFY)?);
        layer(&mut value, builtin("mappings/dify-images.yaml", DIFY_IMAGES)?);
        seen.push_str(&format!("mappings/dify.yaml\0{DIFY}\0mappings/dify-images.yaml\0{DIFY_IMAGES}\0"));
    }
    if let Some(path) = user {
        // A regular file outside the system folders, bounded before it is read (never /proc, a FIFO
        // or /dev/zero), as every other file named on the command line.
        let bytes = crate::read::scope::read_named(path, 4 << 20).map_err(|e| {
            Error::file(path, format!("cannot read rules file: {e}"), "pass a readable YAML rules file to --mappings")
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::file(path, "the rules file is not UTF-8 text", "pass a YAML rules file to --mappings")
        })?;
        let user_value = crate::read::yaml::parse(path, &text, "rules file")?;
        // Check the user's file alone first, so a mistake points at its own line.
        check_user_rules(path, &text, &user_value)?;
        layer(&mut value, user_value);
        seen.push_str(&format!("--mappings\0{text}\0"));
    }
    let fingerprint = crate::hash::sha256(seen.as_bytes());
    let ja = split_bilingual(&mut value);
    let rules: Rules = yaml_serde::from_value(value).map_err(|e| {
        Error::usage(format!("the rules are invalid: {e}"), "check the rules file given with --mappings")
    })?;
    check_image_facts(&rules.images)?;
    Ok(Rules { fingerprint, ja, ..rules })
}

/// Every tag of the image facts names only facts and a `reads` set its image defines, and its user
/// is `root`, a uid or `uid:gid`.
fn check_image_facts(images: &BTreeMap<String, crate::rules::images::ImageRule>) -> Result<()> {
    for (image, rule) in images {
        for (tag, facts) in &rule.tags {
            let bad_fact = facts.facts.iter().find(|f| !rule.facts.contains_key(*f));
            let bad_reads = facts.reads.as_ref().filter(|r| !rule.reads.contains_key(*r));
            let bad_user = crate::rules::images::User::parse(&facts.user).is_none();
            let what = match (bad_fact, bad_reads, bad_user) {
                (Some(f), _, _) => format!("names the fact `{f}`, which `{image}` does not define under `facts:`"),
                (_, Some(r), _) => format!("names the reads set `{r}`, which `{image}` does not define under `reads:`"),
                (_, _, true) => format!("has the user `{}`; write root, a uid or uid:gid", facts.user),
                _ => continue,
            };
            return Err(Error::usage(
                format!("image facts: {image}:{tag} {what}"),
                "fix the tag's entry under `images:` (see mappings/dify-images.yaml)",
            ));
        }
    }
    Ok(())
}

/// Replaces every text given in both languages (`{en: …, ja: …}`: a reason, a finding's reason, a
/// security note) outside `guide:` by its English, which the plan carries, and returns the Japanese
/// of each by its English, for the Japanese guide. Plain strings are English only.
fn split_bilingual(value: &mut Value) -> BTreeMap<String, String> {
    fn walk(value: &mut Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Mapping(m) => {
                let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
                if let (2, Some(en), Some(ja)) = (m.len(), text("en"), text("ja")) {
                    out.insert(en.clone(), ja);
                    *value = Value::String(en);
                    return;
                }
                for (k, v) in m.iter_mut() {
                    if k.as_str() != Some("guide") {
                        walk(v, out);
                    }
                }
            }
            Value::Sequence(s) => s.iter_mut().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(value, &mut out);
    out
}

/// Deserialize the user's file on top of an all-optional view, so unknown or mistyped fields
/// are reported at their line in that file.
fn check_user_rules(path: &Path, text: &str, value: &Value) -> Result<()> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Partial {
        namespace: Option<String>,
        instance: Option<String>,
        storage_class: Option<String>,
        rwx_storage_class: Option<String>,
        retain_annotations: Option<BTreeMap<String, String>>,
        config_map: Option<String>,
        shared_secret: Option<String>,
        shared_env: Option<Vec<String>>,
        shared_claims: Option<BTreeMap<String, Value>>,
        dns: Option<Value>,
        defaults: Option<Value>,
        secrets: Option<Value>,
        ignored_keys: Option<BTreeMap<String, String>>,
        shared_settings: Option<BTreeMap<String, String>>,
        public_url: Option<IndexMap<String, String>>,
        internal_url: Option<IndexMap<String, String>>,
        findings: Option<BTreeMap<String, String>>,
        services: Option<IndexMap<String, ServiceRule>>,
        images: Option<BTreeMap<String, Value>>,
    }
    if !value.is_mapping() {
        return Err(Error::file(
            path,
            "rules file is not a mapping",
            "write the rules as a YAML mapping (see mappings/dify.yaml)",
        ));
    }
    // Re-parse from text so errors carry a line and column. The text has passed `yaml::parse`, so
    // its aliases expand to no more than `yaml::MAX_NODES` here either.
    let located: std::result::Result<Partial, _> = yaml_serde::from_str(text);
    match located {
        Ok(_) => Ok(()),
        Err(e) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            let help = "see mappings/dify.yaml for the fields a rule takes";
            match e.location() {
                Some(l) => Err(Error::at_offset(path, text, l.index(), format!("invalid rules: {message}"), help)),
                None => Err(Error::file(path, format!("invalid rules: {message}"), help)),
            }
        }
    }
}

/// Merge `over` into `base`: mappings key by key, everything else replaced.
fn layer(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => layer(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text given as `{en, ja}` outside `guide:` becomes its English, with its Japanese in the
    /// table; plain strings and the guide's own texts stay as they are.
    #[test]
    fn bilingual_texts_split_into_english_and_a_japanese_table() {
        let mut value: Value = yaml_serde::from_str(
            "a: plain\nb: {en: E, ja: J}\nc: [{reason: {en: F, ja: K}}]\nguide: {t: {en: G, ja: H}}\n",
        )
        .unwrap();
        let ja = split_bilingual(&mut value);
        assert_eq!(ja, BTreeMap::from([("E".into(), "J".into()), ("F".into(), "K".into())]));
        let expected: Value =
            yaml_serde::from_str("a: plain\nb: E\nc: [{reason: F}]\nguide: {t: {en: G, ja: H}}\n").unwrap();
        assert_eq!(value, expected);
        let dify = load(Preset::Dify, None).unwrap();
        let certbot = dify.service("certbot").and_then(|r| r.reason.clone()).unwrap();
        assert!(certbot.starts_with("TLS on Kubernetes"), "{certbot}");
        assert!(dify.ja[&certbot].contains("TLS"), "{:?}", dify.ja.get(&certbot));
        assert!(dify.ja.contains_key(&dify.findings["CKV_K8S_25"]));
        // The reason --external gives has its Japanese too.
        let mut dify = dify;
        let choices = Choices { external: vec!["db_postgres".into()], ..Default::default() };
        dify.apply(&choices, &["db_postgres".to_string()]).unwrap();
        let external = dify.service("db_postgres").and_then(|r| r.reason.clone()).unwrap();
        assert!(dify.ja[&external].contains("--external"), "{external}");
    }

    #[test]
    fn builtin_presets_load() {
        let dify = load(Preset::Dify, None).unwrap();
        assert_eq!(dify.namespace, "dify");
        assert_eq!(dify.service("db").and_then(|r| r.name.as_deref()), Some("postgres"));
        let generic = load(Preset::Generic, None).unwrap();
        assert!(generic.services.is_empty());
    }

    #[test]
    fn fingerprint_follows_preset_and_user_file() {
        let dify = load(Preset::Dify, None).unwrap();
        assert_eq!(dify.fingerprint, load(Preset::Dify, None).unwrap().fingerprint);
        assert_ne!(dify.fingerprint, load(Preset::Generic, None).unwrap().fingerprint);
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("rules.yaml");
        std::fs::write(&user, "services:\n  web:\n    replicas: 3\n").unwrap();
        assert_ne!(dify.fingerprint, load(Preset::Dify, Some(&user)).unwrap().fingerprint);
    }

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
