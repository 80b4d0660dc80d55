//! What the rules say of one compose service (`services:` in the rule files): its kind, name,
//! ports, probe, claims, commands, Jobs, way in, egress and profiles.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

use super::security::Security;

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

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
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
