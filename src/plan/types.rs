//! What the plan is made of: one record per workload with every decision made.

use std::collections::{BTreeMap, BTreeSet};

use crate::rules::{Kind, Resources, Security};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub namespace: String,
    pub instance: String,
    /// The Dify release, from the image tag of the first shared service (`langgenius/dify-api:1.14.1`).
    pub release: Option<String>,
    /// The cluster's own ranges and the ranges let through (from `--cluster-cidr`, `--service-cidr`,
    /// `--allow-egress`), for the guide.
    pub cluster_ranges: Vec<String>,
    pub allowed_ranges: Vec<String>,
    /// Placeholders whose generated value is at most so long (`CHANGE_ME_INIT_PASSWORD` → 30).
    pub secret_max_length: BTreeMap<String, usize>,
    /// The Pod Security Standard every pod meets: what the Namespace enforces.
    pub pod_security: PodSecurity,
    /// The facts of every image the rules know (`images:`), once per image and tag, and where they
    /// came from (GENERATED.md, the release report).
    pub images: Vec<crate::rules::images::ImageFacts>,
    pub config_map: String,
    pub shared_secret: String,
    /// Non-secret settings every shared service has with the same value.
    pub shared_config: BTreeMap<String, String>,
    /// Secret settings of the shared services, with `CHANGE_ME_…` placeholders.
    pub shared_secrets: BTreeMap<String, String>,
    pub shared_claims: Vec<Claim>,
    pub workloads: Vec<Workload>,
    /// Upstream services left out (inactive profile, omitted or folded), with the reason.
    pub omitted: Vec<(String, String)>,
    pub warnings: Vec<crate::warning::Warning>,
    /// StorageClass of the ReadWriteOnce claims (none: the cluster's default class).
    pub storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claims (none: the cluster's default class), and whether
    /// the operator chose it (a default class is rarely ReadWriteMany).
    pub rwx_storage_class: Option<String>,
    pub rwx_storage_class_chosen: bool,
    /// Annotations on the Namespace and every claim (GitOps tools never prune or delete them).
    pub retain_annotations: BTreeMap<String, String>,
    pub dns: crate::rules::Dns,
    /// Pods of workloads with more than one replica spread over this node label.
    pub topology_key: Option<String>,
    /// checkov findings the tree accepts, each with its reason (for the README): filled by
    /// `generate` from `findings::accepted`, empty from `plan()` alone.
    pub findings: Vec<Finding>,
    /// Where the Secrets' values come from.
    pub secret_source: crate::rules::SecretSource,
}

/// A Gateway API HTTPRoute to a workload's Service: the Gateway it attaches to (and the Gateway the
/// tree writes, with a class), the Service port, and its timeouts as Gateway API durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub gateway: crate::rules::GatewayRule,
    pub port: u16,
    /// `request`, `backendRequest` → a duration (`1h`, `90s`).
    pub timeouts: BTreeMap<String, String>,
    /// The setting the request timeout comes from (for the guide).
    pub timeout_setting: Option<String>,
    /// The service's own request-body limit: (setting, value), for the guide's policies.
    pub body_size: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub upstream: String,
    pub name: String,
    pub kind: Kind,
    pub role: Option<String>,
    pub description: Option<String>,
    pub replicas: i32,
    pub image: String,
    /// The facts of its image's tag, when the rules know the image.
    pub image_facts: Option<crate::rules::images::ImageFacts>,
    /// The Pod Security Standard its pod meets, and what keeps each container from "restricted".
    pub pod_security: PodSecurity,
    pub restricted_gaps: Vec<RestrictedGap>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    /// TCP container ports, exposed by the Service (probes use the first).
    pub ports: Vec<u16>,
    /// UDP container ports, exposed by the Service too.
    pub udp_ports: Vec<u16>,
    /// Ports the compose file publishes, when they are entry points (the rules'
    /// `published_ports_are_entry_points`): (container port, published port, `TCP`/`UDP`). Anyone
    /// may reach these container ports; a Service that is not ClusterIP also listens on the
    /// published port.
    pub published: Vec<(u16, Option<u16>, &'static str)>,
    pub service_type: String,
    pub probe: Probe,
    pub uses_shared: bool,
    /// Own non-secret settings (→ `<name>-config`) and secret ones (→ `<name>-secret`, placeholders).
    pub config: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub volumes: Vec<Volume>,
    /// Claims of this workload alone (StatefulSet: claim templates; Deployment: PVCs).
    pub claims: Vec<Claim>,
    /// Config files: ConfigMap key → content (→ `<name>-files`).
    pub files: BTreeMap<String, String>,
    /// Config files that are not text (→ `binaryData` of `<name>-files`).
    pub binary_files: BTreeMap<String, Vec<u8>>,
    /// Its config files name Services by their fully qualified names (nginx's
    /// `api.dify.svc.cluster.local`): moving the tree to another namespace breaks them.
    pub fqdn_in_files: bool,
    /// Its HTTP probe's path is answered by its own config files (nginx's
    /// `location = /healthz { return 200; }`) rather than passed on to another service.
    pub answers_probe_itself: bool,
    /// Destinations its proxy config denies before any other access rule (squid's `dst` ACLs named
    /// by a first `http_access deny`).
    pub proxy_denies: Vec<String>,
    pub resources: Resources,
    pub security: Security,
    /// Hash of every setting and file the pods read, so a change rolls them.
    pub checksum: String,
    /// Workloads (names) this one sends traffic to, with the reason.
    pub talks_to: BTreeMap<String, String>,
    /// Compose networks it is on.
    pub networks: BTreeSet<String>,
    /// Only on internal networks: egress limited to its flows to those networks' members, and DNS.
    pub egress_only_to: Option<BTreeSet<String>>,
    /// Egress limited to its flows, DNS and every address outside these blocks (the rules' `egress`).
    pub internet_except: Option<Vec<String>>,
    /// With `internet_except`: ranges it may reach all the same (`--allow-egress`).
    pub egress_allowed: Vec<String>,
    /// Settings it only inherits (the env source handed whole, `inherits_env_source`): no flows.
    pub inherited: BTreeSet<String>,
    /// One-shot Jobs run from this workload's pod (the release's database migration).
    pub jobs: Vec<Job>,
    /// Init containers of the workload's own image and settings: (name, argv).
    pub init: Vec<(String, Vec<String>)>,
    pub share_process_namespace: bool,
    /// The Ingress in front of it, its annotations derived from settings with explicit ones over them.
    pub ingress: Option<crate::rules::IngressRule>,
    /// The Gateway API HTTPRoute in front of it (`--gateway`).
    pub route: Option<Route>,
    /// Replace pods with `Recreate` (a Deployment with a ReadWriteOnce claim: a new pod on another
    /// node would wait forever for the volume the old pod still holds).
    pub recreate: bool,
    /// One-shot services folded into this pod because it mounts their storage (upstream's
    /// `init_permissions`): they run first, as init containers.
    pub folded: Vec<FoldedInit>,
    /// Why its security context is what it is (from the rules), for the tree's security table.
    pub security_note: Option<String>,
    /// Compose's `working_dir`, `stdin_open`, `tty`.
    pub working_dir: Option<String>,
    pub stdin: bool,
    pub tty: bool,
    /// Compose's `hostname` (a Deployment's pods; a StatefulSet names its pods' hosts itself).
    pub hostname: Option<String>,
    /// Compose's numeric `group_add`.
    pub supplemental_groups: Vec<i64>,
    /// Why checkov findings caused by what the compose file asks for (privileged, cap_add, root) are
    /// accepted: check → reason, over the rules' reasons.
    pub compose_findings: BTreeMap<String, String>,
    /// A Job workload: how it runs to completion.
    pub one_shot: Option<OneShot>,
    /// Node affinity from compose's placement constraints: (label, operator, values), all required.
    pub node_affinity: Vec<(String, String, Vec<String>)>,
    /// Node labels its pods spread over (placement preferences), besides the rules' topology key.
    pub spread: Vec<String>,
    /// Rolling update from compose's `update_config`: (maxSurge, maxUnavailable).
    pub rollout: Option<(String, String)>,
    /// Compose's `network_mode: service:X`: this service runs as a second container of X's pod (they
    /// share localhost, as in compose). Its folder keeps its settings, files and claims; it has no
    /// pod, Service or policy of its own: X's carry its ports and flows.
    pub joins: Option<String>,
    /// A PodDisruptionBudget keeps one pod running through node drains (several replicas, a pod of
    /// its own).
    pub disruption_budget: bool,
    /// Reached from anywhere: its Service is not ClusterIP, or an Ingress leads to it (whose
    /// controller may run anywhere). A route alone admits only its Gateway's data plane.
    pub exposed: bool,
    /// Node labels its pods spread over: the rules' topology key when several replicas of a pod
    /// that serves run (not one per node), then compose's placement preferences.
    pub spread_over: Vec<String>,
    /// Annotations of its ServiceAccount (`--service-account-annotation`: IRSA, Workload Identity).
    pub service_account_annotations: BTreeMap<String, String>,
    /// A HorizontalPodAutoscaler on its CPU (`--autoscale` and the rules' `autoscale`).
    pub autoscale: Option<crate::rules::AutoscaleRule>,
}

/// A service that runs to completion, as a Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    /// The Job's name: the workload's name and a hash of its pod, so that a changed task is a new
    /// Job that runs once (a Job's pod template cannot change), and an unchanged one is not re-run.
    pub object_name: String,
    /// `Never` (compose `restart: "no"`) or `OnFailure` (`on-failure`).
    pub restart_policy: String,
    pub backoff_limit: i32,
}

/// A folded one-shot service, run as an init container of a pod that mounts its bind source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedInit {
    /// Container name (the upstream service's name made DNS-safe).
    pub name: String,
    pub image: String,
    /// Its compose entrypoint and command, as one argv.
    pub command: Vec<String>,
    /// The pod volume of the shared source, mounted at the folded service's own path.
    pub volume: String,
    pub mount_path: String,
    pub security: Security,
    /// Why it runs (the fold rule's reason).
    pub reason: Option<String>,
    /// Why checkov findings it causes are accepted (the fold rule's `findings`).
    pub findings: BTreeMap<String, String>,
}

impl Plan {
    /// Every image the tree runs (containers, init containers, Jobs), once each, sorted.
    pub fn images_in_tree(&self) -> Vec<&str> {
        let mut images: Vec<&str> = self.workloads.iter().flat_map(Workload::images).collect();
        images.sort_unstable();
        images.dedup();
        images
    }

    /// The image names of the tree (registry and repository, without tag or digest), once each in
    /// the order of `images_in_tree`: the names of the top kustomization's `images:` list.
    pub fn image_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for image in self.images_in_tree() {
            let name = super::image_parts(image).0;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// Images pulled by a moving tag (`:latest`, or none, and no digest): each start may run another build.
    pub fn unpinned(&self) -> Vec<&str> {
        self.images_in_tree().into_iter().filter(|i| super::is_unpinned(i)).collect()
    }
}

impl Workload {
    /// Whether it has a Service (any TCP or UDP port).
    /// It has a Service: ports, and a pod of its own (not a container in another's pod).
    /// The images its pod runs: its own (container, init containers, Jobs), then the folded ones'.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.image.as_str()).chain(self.folded.iter().map(|f| f.image.as_str()))
    }

    pub fn serves(&self) -> bool {
        (!self.ports.is_empty() || !self.udp_ports.is_empty()) && self.joins.is_none()
    }
}

/// A Job made from a workload's pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Object name, carrying the release so that each release's Job runs once (`api-migrate-1-14-1`).
    pub name: String,
    /// Its pods' `app.kubernetes.io/name` (`api-migrate`), so no Service or budget of the workload
    /// selects them.
    pub label: String,
    pub description: Option<String>,
    /// Settings over the workload's own.
    pub env: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub backoff_limit: i32,
    /// The volumes its pod mounts (the workload's, without claims when the rule says so).
    pub volumes: Vec<Volume>,
    /// Workloads its pods never call, although its workload does.
    pub never_calls: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub action: ProbeAction,
    pub period_seconds: i32,
    pub timeout_seconds: i32,
    pub failure_threshold: i32,
    /// Seconds allowed for the first success (startupProbe), when slow to start.
    pub startup_seconds: Option<i32>,
    /// The startupProbe that allows them: (period, failure threshold), checking at least every 10
    /// seconds (or the probe's own period when shorter). Set by the last pass.
    pub startup: Option<(i32, i32)>,
    /// A cheaper check for liveness than for readiness (a database that is recovering rejects
    /// clients, and must not be restarted for it).
    pub liveness: Option<ProbeAction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    Http { path: String, port: u16 },
    Tcp(u16),
    Exec(Vec<String>),
}

impl ProbeAction {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeAction::Http { .. } => "HTTP",
            ProbeAction::Tcp(_) => "TCP",
            ProbeAction::Exec(_) => "Exec",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub size: String,
    pub access_mode: String,
    /// None: the cluster's default class (no `storageClassName`).
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Volume name inside the pod.
    pub name: String,
    pub source: VolumeSource,
    pub mounts: Vec<Mount>,
    /// Config-file keys copied into this (claim) volume by an init container before start.
    pub seed: Vec<String>,
    /// For a claim made from a bind mount: the compose file's host folder as written
    /// (`./volumes/app/storage`), where a compose install keeps this data.
    pub host: Option<String>,
}

impl Volume {
    /// The init container that copies its seed files onto it at every start (`seed-<volume>`),
    /// when it has seed files.
    pub fn seed_container(&self) -> Option<String> {
        (!self.seed.is_empty()).then(|| format!("seed-{}", self.name).chars().take(63).collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub path: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A claim shared by several workloads (base/pvc.yaml).
    SharedClaim(String),
    /// A claim of this workload (claim template of a StatefulSet, or PVC of a Deployment).
    Claim(String),
    /// The workload's `<name>-files` ConfigMap.
    Files,
    EmptyDir {
        memory: bool,
        /// Its sizeLimit.
        size: Option<String>,
    },
}

/// A checkov finding the tree accepts (`findings::accepted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check_id: String,
    /// As checkov names it: `Deployment.dify.nginx`.
    pub resource: String,
    /// The object's own name, as the resource ends (`nginx`, a Job's `api-migrate-1-14-1`).
    pub object: String,
    pub reason: String,
}

/// A level of the Pod Security Standards, in order: `Privileged` < `Baseline` < `Restricted`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodSecurity {
    Privileged,
    Baseline,
    #[default]
    Restricted,
}

impl PodSecurity {
    /// The level's name, as the `pod-security.kubernetes.io/*` labels take it.
    pub fn name(self) -> &'static str {
        match self {
            PodSecurity::Privileged => "privileged",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Restricted => "restricted",
        }
    }
}

/// What keeps one container from the "restricted" level.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestrictedGap {
    /// The init container's name; none: the main container.
    pub init: Option<String>,
    /// It runs as root (or is not declared non-root).
    pub root: bool,
    /// Capabilities it adds beyond NET_BIND_SERVICE.
    pub capabilities: Vec<String>,
    /// It may escalate privileges.
    pub escalation: bool,
    pub drops_all: bool,
    /// Its seccomp profile is RuntimeDefault or Localhost.
    pub seccomp: bool,
    pub privileged: bool,
}
