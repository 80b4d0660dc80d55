//! What the guide knows of each workload: its objects, claims, probes, security and reach, read
//! from the plan's workload record.

use std::collections::{BTreeSet, HashMap};

use crate::plan::{self, Plan};
use crate::rules;

/// One generated workload (one folder under `services/`).
#[derive(Debug, Clone)]
pub struct WorkloadFacts {
    /// Folder and object name, e.g. `postgres`.
    pub name: String,
    /// The secret keys its pods receive (its own Secret's and the shared one's).
    pub secret_keys: Vec<String>,
    /// The workloads whose flows reach it (and `outside`, when it is exposed).
    pub reached_by: Vec<String>,
    /// Compose service name, e.g. `db_postgres`.
    pub upstream: String,
    /// `Deployment`, `StatefulSet`, `DaemonSet` or `Job`.
    pub kind: String,
    /// The object's name: the folder's, but for a Job (its name carries a hash of its pod).
    pub object_name: String,
    pub replicas: i32,
    /// Container ports exposed by its Service.
    pub ports: Vec<u16>,
    /// Service type when the workload has a Service.
    pub service_type: Option<String>,
    /// `HTTP`, `TCP` or `Exec` (readiness).
    pub probe: Option<String>,
    /// The liveness probe's kind, when it differs from the readiness probe's.
    pub liveness: Option<String>,
    pub claims: Vec<ClaimFacts>,
    pub image: String,
    /// Free tag from the rules, e.g. `postgres`, `redis`, `api`, `vector-store`.
    pub role: Option<String>,
    /// One-line purpose (English).
    pub description: Option<String>,
    /// Services that run as containers of its pod (compose's `network_mode: service:<it>`).
    pub joined: Vec<String>,
    /// Host name of an Ingress in front of it, and whether it serves TLS.
    pub ingress: Option<(String, bool)>,
    /// The Gateway API HTTPRoute in front of it.
    pub route: Option<RouteFacts>,
    /// The user ID it runs as when the rules make it run as non-root.
    pub non_root_user: Option<i64>,
    /// An HTTP probe's path and port, and whether its own config answers that path (nginx's
    /// `location = /healthz { return 200; }`) rather than passing it on.
    pub http_probe: Option<(String, u16, bool)>,
    /// Whether the tree gives it a PodDisruptionBudget (`services/<name>/pdb.yaml`).
    pub pdb: bool,
    /// Its egress policy, when it has one.
    pub egress: Option<EgressFacts>,
    /// Destinations its proxy config denies before any other access rule (squid's `dst` ACL).
    pub proxy_denies: Vec<String>,
    /// Its main container's security context, and that of init containers that differ from it.
    pub security: SecurityFacts,
    pub init_security: Vec<(String, SecurityFacts)>,
    /// Names of the environment variables its main container gets (its own and the shared ones).
    pub env: std::collections::BTreeSet<String>,
}

/// What the guide says of an HTTPRoute (`--gateway`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RouteFacts {
    /// The Gateway's name, and its namespace when it is not the app's.
    pub gateway: String,
    pub gateway_namespace: Option<String>,
    pub section: Option<String>,
    /// The GatewayClass of the Gateway the tree writes; none when it attaches to an existing one.
    pub class: Option<String>,
    pub tls_secret: Option<String>,
    pub hostname: Option<String>,
    /// The namespace nginx's NetworkPolicy admits (none: only `sources`).
    pub data_plane_namespace: Option<String>,
    /// Address blocks of a data plane outside the cluster, admitted too.
    pub sources: Vec<String>,
    /// The route's request timeout, and the setting it comes from.
    pub timeout: Option<(String, String)>,
    /// The entry point's own request-body limit: (setting, value).
    pub body_size: Option<(String, String)>,
}

/// The egress policy of a workload (`restrict-egress-<name>`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EgressFacts {
    /// Workloads it may connect to (besides DNS).
    pub reaches: Vec<String>,
    /// Addresses outside the cluster it may reach: all but these blocks; `None`: none at all.
    pub internet_except: Option<Vec<String>>,
}

/// What a container runs as, for the security table.
#[derive(Debug, Clone, Default)]
pub struct SecurityFacts {
    /// `runAsUser`, when the tree sets one.
    pub user: Option<i64>,
    pub non_root: bool,
    /// Capabilities added back after dropping all.
    pub capabilities: Vec<String>,
    pub read_only_root: bool,
    /// Why (from the rules: a note, else the reason of an accepted finding).
    pub why: Option<String>,
}

/// A persistent volume claim as seen from a workload.
#[derive(Debug, Clone)]
pub struct ClaimFacts {
    pub name: String,
    pub size: String,
    pub access_mode: String,
    pub mount_path: String,
    /// The init container that copies the tree's config files onto it at every start, if any.
    pub seed_init: Option<String>,
    /// The compose file's host folder it was made from (`./volumes/app/storage`), if any.
    pub host: Option<String>,
}

/// What the guide says of one workload.
pub(super) fn workload_facts(plan: &Plan, w: &plan::Workload, reasons: &HashMap<(&str, &str), &str>) -> WorkloadFacts {
    WorkloadFacts {
        secret_keys: w
            .secrets
            .keys()
            .chain(plan.shared_secrets.keys().filter(|_| w.uses_shared))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        reached_by: reached_by(plan, w),
        name: w.name.clone(),
        upstream: w.upstream.clone(),
        kind: w.kind.object_kind().into(),
        object_name: w.one_shot.as_ref().map_or_else(|| w.name.clone(), |o| o.object_name.clone()),
        replicas: w.replicas,
        ports: w.ports.clone(),
        service_type: w.serves().then(|| w.service_type.clone()),
        probe: w.one_shot.is_none().then(|| w.probe.action.kind().to_string()),
        liveness: w
            .probe
            .liveness
            .as_ref()
            .map(|l| l.kind())
            .filter(|k| w.one_shot.is_none() && *k != w.probe.action.kind())
            .map(str::to_string),
        claims: w
            .claims
            .iter()
            .map(|c| claim_facts(c, &w.volumes, &plan::VolumeSource::Claim(c.name.clone())))
            .collect(),
        image: w.image.clone(),
        role: w.role.clone(),
        description: w.description.clone(),
        joined: plan
            .workloads
            .iter()
            .filter(|j| j.joins.as_deref() == Some(w.name.as_str()))
            .map(|j| j.name.clone())
            .collect(),
        ingress: w.ingress.as_ref().map(|i| (i.host.clone(), i.tls_secret.is_some())),
        route: w.route.as_ref().map(|r| route_facts(plan, r)),
        non_root_user: w.security.run_as_user.filter(|_| w.security.run_as_non_root == Some(true)),
        security: security_facts(&w.security, w.security_note.clone().or_else(|| finding_reason(reasons, w))),
        init_security: w
            .folded
            .iter()
            .map(|f| (f.name.clone(), security_facts(&f.security, f.reason.clone())))
            .collect(),
        http_probe: match &w.probe.action {
            plan::ProbeAction::Http { path, port } => Some((path.clone(), *port, w.answers_probe_itself)),
            _ => None,
        },
        egress: egress_facts(plan, w),
        proxy_denies: w.proxy_denies.clone(),
        pdb: w.disruption_budget,
        env: env_names(plan, w),
    }
}

/// The workloads whose flows reach `w` (their Jobs too, but those that never call it), after
/// `outside` when it is reached from outside: a Service of its own type, an Ingress, published
/// ports, or a Gateway's route.
fn reached_by(plan: &Plan, w: &plan::Workload) -> Vec<String> {
    let mut reached_by: Vec<String> = plan
        .workloads
        .iter()
        .filter(|o| o.talks_to.contains_key(&w.name))
        .flat_map(|o| {
            let jobs = o.jobs.iter().filter(|j| !j.never_calls.contains(&w.name)).map(|j| j.name.clone());
            std::iter::once(o.name.clone()).chain(jobs)
        })
        .collect();
    if w.exposed || !w.published.is_empty() || w.route.is_some() {
        reached_by.insert(0, "outside".into());
    }
    reached_by
}

/// Its egress policy, when it has one: the workloads with a Service it may reach, and the
/// addresses outside the cluster.
fn egress_facts(plan: &Plan, w: &plan::Workload) -> Option<EgressFacts> {
    (w.egress_only_to.is_some() || w.internet_except.is_some()).then(|| EgressFacts {
        reaches: w
            .talks_to
            .keys()
            .filter(|t| w.egress_only_to.as_ref().is_none_or(|m| m.contains(*t)))
            .filter(|t| plan.workloads.iter().any(|o| &o.name == *t && o.serves()))
            .cloned()
            .collect(),
        internet_except: w.internet_except.clone(),
    })
}

/// The names of the variables its main container gets: its own settings and secrets, then the
/// shared ones.
fn env_names(plan: &Plan, w: &plan::Workload) -> BTreeSet<String> {
    w.config
        .keys()
        .chain(w.secrets.keys())
        .chain(plan.shared_config.keys().filter(|_| w.uses_shared))
        .chain(plan.shared_secrets.keys().filter(|_| w.uses_shared))
        .cloned()
        .collect()
}

/// A claim as the guide shows it, with where the first volume of `source` mounts it.
pub(super) fn claim_facts<'a>(
    c: &plan::Claim,
    volumes: impl IntoIterator<Item = &'a plan::Volume>,
    source: &plan::VolumeSource,
) -> ClaimFacts {
    let volume = volumes.into_iter().find(|v| &v.source == source);
    let path = volume.and_then(|v| v.mounts.first()).map(|m| m.path.clone()).unwrap_or_default();
    ClaimFacts {
        name: c.name.clone(),
        size: c.size.clone(),
        access_mode: c.access_mode.clone(),
        mount_path: path,
        seed_init: volume.and_then(plan::Volume::seed_container),
        host: volume.and_then(|v| v.host.clone()),
    }
}

/// What the guide says of a workload's HTTPRoute.
fn route_facts(plan: &Plan, r: &plan::Route) -> RouteFacts {
    let g = &r.gateway;
    RouteFacts {
        gateway: g.name.clone(),
        gateway_namespace: g.namespace.clone().filter(|ns| *ns != plan.namespace),
        section: g.section.clone(),
        class: g.class.clone(),
        tls_secret: g.tls_secret.clone(),
        hostname: g.hostname.clone(),
        data_plane_namespace: g
            .data_plane_namespace
            .clone()
            .or_else(|| g.sources.is_empty().then(|| plan.namespace.clone())),
        sources: g.sources.clone(),
        timeout: r.timeouts.get("request").map(|t| (t.clone(), r.timeout_setting.clone().unwrap_or_default())),
        body_size: r.body_size.clone(),
    }
}

fn security_facts(s: &rules::Security, why: Option<String>) -> SecurityFacts {
    SecurityFacts {
        user: s.run_as_user,
        non_root: s.run_as_non_root == Some(true),
        capabilities: s.add_capabilities.clone().unwrap_or_default(),
        read_only_root: s.read_only_root == Some(true),
        why,
    }
}

/// The accepted findings' reasons by check and object name (the first of a kind wins), so each
/// workload's row is a lookup rather than a scan of every finding.
pub(super) fn reasons_by_object(plan: &Plan) -> HashMap<(&str, &str), &str> {
    let mut out = HashMap::new();
    for f in &plan.findings {
        out.entry((f.check_id.as_str(), f.object.as_str())).or_insert(f.reason.as_str());
    }
    out
}

/// The reason the rules give for the workload running as root or with capabilities (its accepted
/// checkov findings), when it does.
fn finding_reason(reasons: &HashMap<(&str, &str), &str>, w: &plan::Workload) -> Option<String> {
    let object = w.one_shot.as_ref().map_or(&w.name, |o| &o.object_name);
    // Only the main container's own: a folded init container's findings are its own row's.
    let root = (w.security.run_as_non_root != Some(true)).then_some("CKV_K8S_23");
    let caps = w.security.add_capabilities.as_ref().filter(|c| !c.is_empty()).map(|_| "CKV_K8S_25");
    let found: Vec<&str> =
        root.iter().chain(caps.iter()).filter_map(|check| reasons.get(&(*check, object.as_str())).copied()).collect();
    (!found.is_empty()).then(|| found.join("; "))
}
