//! Renders `k8s/README.md`, the operator guide that ships inside the generated tree.
//!
//! The guide is built from [`Facts`] about the tree that was just generated, so every
//! command it shows names objects that really exist: pods of StatefulSets are `<name>-0`,
//! `deployment/<name>` is only used for Deployments, backup commands only appear for the
//! workloads they apply to, and so on. The output is deterministic (no timestamps, no
//! absolute paths, no hash-map ordering) and ends with exactly one newline.
//!
//! The facts become a `View` (lists, names and commands, in the guide's language where the rules
//! give both), which `templates/readme.en.md.j2` or `templates/readme.ja.md.j2` renders: the
//! templates hold every sentence. What the guide knows of an application (its workloads' titles,
//! purposes, layers and backups, its entry point, example workloads and traffic paths) comes from
//! the rules' `guide:` (mappings/dify.yaml); this module names no service.

use crate::rules::{Backup, Layer, SecretSource};

/// Language of the rendered guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

/// Everything the guide needs to know about the generated tree.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Namespace of every object, e.g. `dify`.
    pub namespace: String,
    /// The release taken from the image tags, e.g. `Some("1.14.1")` (said only for a named product).
    pub release: Option<String>,
    /// What the rules say of the application (name, upstream compose file, links, workload titles).
    pub guide: crate::rules::Guide,
    /// Workloads in folder order.
    pub workloads: Vec<WorkloadFacts>,
    /// Tree-relative paths of every `secret.yaml.example`.
    pub secret_files: Vec<String>,
    /// Every Secret the pods read, with its keys.
    pub secrets: Vec<SecretFacts>,
    /// Where the Secrets' values come from (`--secrets`).
    pub secret_source: crate::rules::SecretSource,
    /// The shared ReadWriteMany claim (e.g. `dify-storage`, 20Gi).
    pub shared_claim: Option<ClaimFacts>,
    /// Storage classes, who mounts the shared claim, and what keeps claims from being deleted.
    pub storage: StorageFacts,
    /// Name of the shared ConfigMap, e.g. `dify-config`.
    pub config_map: String,
    /// Upstream services left out of the tree, with the reason.
    pub omitted: Vec<(String, String)>,
    /// Accepted checkov findings.
    pub security_findings: Vec<SecurityFinding>,
    /// Name of the database migration Job, if any.
    pub migration_job: Option<String>,
    /// The cluster's DNS domain the tree was generated for, e.g. `cluster.local`.
    pub cluster_domain: String,
    /// The node label pods of workloads with several replicas spread over (the rules'
    /// `topology_key`), if any.
    pub spread_key: Option<String>,
    /// Workloads whose config files name Services by their fully qualified names (nginx).
    pub fqdn_users: Vec<String>,
    /// Workloads that get the whole `.env` but only inherit it: its hosts open no flow for them.
    pub inherit_env_source: Vec<String>,
    /// The settings that send a browser somewhere (the rules' `public_url`) the tree has: name,
    /// value, and the ConfigMap files that hold it.
    pub public_urls: Vec<PublicUrlFacts>,
    /// The Japanese of the rules' reasons and notes, by their English.
    pub ja: std::collections::BTreeMap<String, String>,
    /// The command-line choices the tree was made with (GENERATED.md, Choices), one flag a line.
    pub choices: Vec<String>,
    /// `--cluster-cidr`/`--service-cidr` and `--allow-egress` ranges.
    pub cluster_ranges: Vec<String>,
    pub allowed_ranges: Vec<String>,
    /// The Pod Security Standard every pod meets (the Namespace enforces it), and each container
    /// that is not "restricted", by workload, with why.
    pub pod_security: PodSecurityView,
    /// Images, identities and availability (`--registry`, `--ha`, `--autoscale`).
    pub operations: OperationsView,
}

/// What the guide's production operations section says of this tree.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OperationsView {
    /// The names of the `images:` list of the tree's kustomization.yaml.
    pub images: Vec<String>,
    /// Images that run a moving tag: (name, reference).
    pub unpinned: Vec<(String, String)>,
    /// `--registry`.
    pub registry: Option<String>,
    /// `--ha` (or `--autoscale`) is in force.
    pub ha: bool,
    /// Workloads the rules scale with `--ha`, and those that stay single.
    pub ha_workloads: Vec<String>,
    pub single: Vec<String>,
    /// Workloads with a HorizontalPodAutoscaler.
    pub autoscaled: Vec<String>,
    /// Workloads that could get one with `--autoscale`.
    pub autoscalable: Vec<String>,
    /// The rules' object-storage example (IRSA), when they give one.
    pub object_storage: Option<crate::rules::GuideObjectStorage>,
}

/// The Pod Security level of the tree and the containers below "restricted".
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PodSecurityView {
    pub level: String,
    pub not_restricted: Vec<(String, crate::plan::RestrictedGap)>,
}

/// One public-URL setting in the tree.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublicUrlFacts {
    pub key: String,
    pub value: String,
    pub files: Vec<String>,
}

/// The egress policy of a workload (`restrict-egress-<name>`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EgressFacts {
    /// Workloads it may connect to (besides DNS).
    pub reaches: Vec<String>,
    /// Addresses outside the cluster it may reach: all but these blocks; `None`: none at all.
    pub internet_except: Option<Vec<String>>,
}

/// One Secret of the tree: its name, and per key the variables (placeholders) its value is made of;
/// keys with the same variable share one value.
#[derive(Debug, Clone)]
pub struct SecretFacts {
    pub name: String,
    pub keys: Vec<(String, Vec<String>)>,
}

/// Storage as the plan decided it.
#[derive(Debug, Clone, Default)]
pub struct StorageFacts {
    /// Class of the ReadWriteOnce claims; none: the cluster's default class.
    pub rwo_class: Option<String>,
    /// Class of the ReadWriteMany claims; none: the cluster's default class.
    pub rwx_class: Option<String>,
    /// Whether the operator chose the ReadWriteMany class (`--rwx-storage-class`).
    pub rwx_class_chosen: bool,
    /// Every claim's class (claim name → class; none: the cluster's default).
    pub claim_classes: std::collections::BTreeMap<String, Option<String>>,
    /// Who mounts the shared claim: (workload, mount path).
    pub shared_claim_users: Vec<(String, String)>,
    /// Deployments replaced with the Recreate strategy (they mount a ReadWriteOnce claim).
    pub recreated: Vec<String>,
    /// Annotations on the Namespace and every claim (`key=value`).
    pub retain_annotations: Vec<String>,
    /// Value of the `app.kubernetes.io/part-of` label of every object.
    pub instance: String,
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

/// An accepted finding of the static security scan.
#[derive(Debug, Clone)]
pub struct SecurityFinding {
    pub check_id: String,
    pub resource: String,
    pub reason: String,
}

/// The guide's templates, one per language: they hold all of its prose (embedded, so the binary
/// needs no files beside it).
const TEMPLATE_EN: &str = include_str!("../../templates/readme.en.md.j2");
const TEMPLATE_JA: &str = include_str!("../../templates/readme.ja.md.j2");

/// Renders the guide for `facts` in `lang`.
pub fn render(facts: &Facts, lang: Lang) -> String {
    let view = View::new(facts, lang);
    let (name, source) = match lang {
        Lang::En => ("readme.en.md.j2", TEMPLATE_EN),
        Lang::Ja => ("readme.ja.md.j2", TEMPLATE_JA),
    };
    let text = environment()
        .template_from_named_str(name, source)
        .and_then(|t| t.render(&view))
        .unwrap_or_else(|e| panic!("the guide's template {name} does not render: {e:#}"));
    normalize(&text)
}

/// The template engine as the guide uses it: a fact the view lacks is an error, never an empty
/// string; block tags take their line with them; and the filters for Markdown spans.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // Every fact is shown with its control characters escaped: a name from the inputs cannot start
    // a line of its own.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() => out.write_str(&crate::text::escape_hidden(s)).map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("code", |s: String| code(&s));
    // A word of a shell command in a ```bash block, quoted when it needs it (a mount path from the
    // compose file must not run anything on the operator's machine).
    env.add_filter("sh", |s: String| shell_words::quote(&s).into_owned());
    env.add_filter("cell", |s: String| cell(&s));
    // Laid out from the template's own text, whose facts are already escaped.
    env.add_filter("layout", |t: String| minijinja::Value::from_safe_string(layout(t)));
    // A heading's anchor as GitHub makes it (lowercase, spaces as dashes).
    env.add_filter("slug", |s: String| s.to_lowercase().replace(' ', "-"));
    // Inline-code items joined with a separator (", " unless given), the last two with `last` when
    // given (`a`, `b` and `c`).
    env.add_filter("codes", |items: Vec<String>, sep: Option<String>, last: Option<String>| {
        let codes: Vec<String> = items.iter().map(|s| code(s)).collect();
        let sep = sep.as_deref().unwrap_or(", ");
        match (codes.split_last(), last) {
            (Some((tail, rest)), Some(last)) if !rest.is_empty() => format!("{}{last}{tail}", rest.join(sep)),
            _ => codes.join(sep),
        }
    });
    env
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

/// Every claim of the tree: the shared one, a StatefulSet's one per pod (`<template>-<set>-<n>`),
/// every other once with all who mount it.
fn claim_rows(f: &Facts) -> Vec<ClaimRowView> {
    let class = |claim: &str| f.storage.claim_classes.get(claim).cloned().flatten();
    let shared = |claim: &str| f.shared_claim.as_ref().is_some_and(|c| c.name == claim);
    let mut rows: Vec<ClaimRowView> = Vec::new();
    if let Some(c) = &f.shared_claim {
        rows.push(ClaimRowView {
            name: c.name.clone(),
            size: c.size.clone(),
            access_mode: c.access_mode.clone(),
            class: class(&c.name),
            users: f.storage.shared_claim_users.iter().map(|(w, p)| format!("{w} (`{p}`)")).collect(),
        });
    }
    for w in &f.workloads {
        for c in &w.claims {
            let user = format!("{} (`{}`)", w.name, c.mount_path);
            if is_statefulset(w) && !shared(&c.name) {
                for i in 0..w.replicas.max(1) {
                    rows.push(ClaimRowView {
                        name: format!("{}-{}-{i}", c.name, w.name),
                        size: c.size.clone(),
                        access_mode: c.access_mode.clone(),
                        class: class(&c.name),
                        users: vec![user.clone()],
                    });
                }
            } else if let Some(r) = rows.iter_mut().find(|r| r.name == c.name) {
                if !r.users.contains(&user) {
                    r.users.push(user);
                }
            } else {
                rows.push(ClaimRowView {
                    name: c.name.clone(),
                    size: c.size.clone(),
                    access_mode: c.access_mode.clone(),
                    class: class(&c.name),
                    users: vec![user],
                });
            }
        }
    }
    rows
}

fn claim_view(f: &Facts, c: &ClaimFacts) -> ClaimView {
    ClaimView {
        name: c.name.clone(),
        size: c.size.clone(),
        access_mode: c.access_mode.clone(),
        short_mode: short_mode(&c.access_mode).to_string(),
        mount_path: c.mount_path.clone(),
        shared: f.shared_claim.as_ref().is_some_and(|s| s.name == c.name),
        class: f.storage.claim_classes.get(&c.name).cloned().flatten(),
    }
}

/// Aligns a layout drawing's notes: each `path # note` line becomes the path, padded to two past the
/// longest path, then `# note`.
fn layout(text: String) -> String {
    let rows: Vec<(&str, Option<&str>)> =
        text.lines().map(|l| l.split_once(" # ").map_or((l, None), |(p, n)| (p, Some(n)))).collect();
    let width = rows.iter().map(|(p, _)| p.chars().count()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (path, note) in rows {
        out.push_str(path);
        if let Some(note) = note {
            out.push_str(&" ".repeat(width - path.chars().count()));
            out.push_str("# ");
            out.push_str(note);
        }
        out.push('\n');
    }
    out
}

/// What the templates see: facts and the lists and commands made from them, in the guide's
/// language where the rules give both.
#[derive(serde::Serialize)]
struct View {
    namespace: String,
    /// The Pod Security level the Namespace enforces, and the containers below "restricted".
    pod_security: PodSecurityView,
    /// Images, identities and availability.
    operations: OperationsView,
    /// The application's name; none: the generic preset's "the application".
    product: Option<String>,
    /// Where upstream keeps its compose setup (`docker/docker-compose.yaml`), when the rules say.
    compose_file: Option<String>,
    release: Option<String>,
    /// Value of every object's `app.kubernetes.io/part-of` label.
    part_of: String,
    findings: Vec<FindingView>,
    /// Checks every object fails on purpose (not listed per object).
    not_listed: Vec<&'static str>,
    /// Workloads with a PodDisruptionBudget.
    pdbs: Vec<String>,
    /// The node label their pods spread over.
    spread_key: Option<String>,
    /// StatefulSets of the data layer: single instances without replication.
    single_data: Vec<String>,
    /// The application's own links (the rules').
    links: Vec<LinkView>,
    /// Name of the shared ConfigMap.
    config_map: String,
    secrets: SecretsView,
    /// The shared claim, when there is one.
    shared_claim: Option<ClaimView>,
    /// Workloads in folder order.
    workloads: Vec<WorkloadView>,
    migration_job: Option<String>,
    /// Upstream services left out, with the reason.
    omitted: Vec<OmittedView>,
    storage: StorageView,
    /// The first workload exposed through a Service of type LoadBalancer.
    load_balancer: Option<String>,
    /// The settings that send a browser somewhere, and whether any is empty or local.
    public_urls: Vec<PublicUrlFacts>,
    public_urls_local: bool,
    /// The workload that receives outside traffic.
    entry: Option<EntryView>,
    /// The folder the guide shows applying alone.
    apply_example: Option<String>,
    /// Kinds for `kubectl get` (`statefulsets`, `deployments`, `jobs`), those the tree has.
    status_kinds: Vec<&'static str>,
    /// The workload whose logs the status check follows (`deployment/api`).
    log_example: Option<String>,
    /// First pods of the StatefulSets (`postgres-0`).
    sts_pods: Vec<String>,
    /// The layers of the stack that have workloads, data first.
    layers: Vec<LayerView>,
    /// The main traffic paths (`a -> b`).
    traffic: Vec<String>,
    /// Workloads that get the whole `.env` but only inherit it.
    inherit_env_source: Vec<String>,
    /// Workloads that keep internet access to call model providers and plugin sources.
    internet_users: Vec<String>,
    /// The cluster's ranges and the ranges let through (`--cluster-cidr`, `--service-cidr`, `--allow-egress`).
    cluster_ranges: Vec<String>,
    allowed_ranges: Vec<String>,
    /// Workloads whose config files name Services by their fully qualified names.
    fqdn_users: Vec<String>,
    cluster_domain: String,
    /// Every claim of the tree (a StatefulSet's one per pod), its class and who mounts it.
    claim_rows: Vec<ClaimRowView>,
    /// StatefulSets with claims of their own (volumeClaimTemplates).
    sts_claims: Vec<String>,
    /// Annotations on the Namespace and every claim (`key: value`).
    retain_annotations: Vec<String>,
    /// Deployments that mount a ReadWriteOnce claim.
    rwo_deployments: Vec<String>,
    /// Deployments updated with the Recreate strategy.
    recreated: Vec<String>,
    /// Init containers that change file owners, with the workloads that run them.
    chown_inits: Vec<InitView>,
    /// The upstream service that made certificates (the rules' `guide.tls`), when it is left out.
    tls_omitted: Option<String>,
    /// Every container whose security the table shows.
    containers: Vec<ContainerView>,
    /// Each probe kind with the workloads probed so, in order of first use.
    probes: Vec<ProbeKindView>,
    /// Workloads without a probe.
    no_probe: Vec<String>,
    /// Whether some Deployment runs several replicas.
    replicated_deployments: bool,
    /// Deployments the scaling example scales, with one replica more.
    scale_examples: Vec<ScaleView>,
    statefulsets: Vec<String>,
    /// The periodic-task scheduler, which must stay at one replica.
    scheduler: Option<String>,
    /// Workloads whose config files the tree edits, with the program version the edits were run with.
    config_checked: Vec<CheckedView>,
    /// Whether the tree has claims.
    has_claims: bool,
    /// The Deployment the guide restarts as an example (`deployment/api`).
    restart_example: Option<String>,
    /// The databases saved with their own dump tool (PostgreSQL, MySQL, MariaDB, MongoDB).
    databases: Vec<DbView>,
    /// The Redis servers saved with BGSAVE.
    caches: Vec<CacheView>,
    /// What a database restore stops first: the Deployments without a backup of their own
    /// (`all`: every Deployment), and the selector of their pods.
    restore_stop: Option<StopView>,
    /// The command that regenerates the tree with every recorded choice, without one flag
    /// (`--public-url`, …), which the guide adds.
    regenerate: RegenerateView,
    /// Claims archived with `tar` through a pod.
    file_backups: Vec<FileBackupView>,
    /// Moving a Docker Compose install's data into this tree.
    moving: MoveView,
    /// Vector stores with claims.
    vector_stores: Vec<String>,
    /// A Service name to resolve in the DNS test.
    dns_example: Option<String>,
    /// A workload whose outbound traffic goes through a proxy, and the proxy.
    proxied: Option<ProxiedView>,
}

#[derive(serde::Serialize)]
struct ProbeKindView {
    kind: String,
    /// The liveness probe's kind, when it differs.
    liveness: Option<String>,
    workloads: Vec<String>,
}

/// A workload whose config files the tree edits, and the program version the edits ran with.
#[derive(serde::Serialize)]
struct CheckedView {
    workload: String,
    program: String,
}

#[derive(serde::Serialize)]
struct ScaleView {
    kref: String,
    replicas: i32,
}

/// A database saved with its own dump tool.
#[derive(serde::Serialize)]
struct DbView {
    name: String,
    /// Its compose service (`db_postgres`), where a compose install's data is.
    upstream: String,
    /// `postgres`, `mysql`, `mariadb` or `mongo`.
    engine: &'static str,
    /// `postgres-0` for a StatefulSet, else the workload reference.
    pod: String,
    /// The shell commands run in its container: the one that writes the dump to its output, and
    /// the one that reads it back.
    dump: String,
    restore: String,
    /// The dump's file name.
    file: String,
}

/// A Redis server saved with BGSAVE.
#[derive(serde::Serialize)]
struct CacheView {
    name: String,
    pod: String,
    /// The folder it saves `dump.rdb` to (its claim's, else the official image's `/data`).
    dir: String,
    /// Whether `kubectl cp` reaches its pod by name (a StatefulSet's); else the file is read with
    /// `kubectl exec … cat`.
    named_pod: bool,
    /// Whether its container has `REDISCLI_AUTH`, which `redis-cli` reads the password from.
    cli_auth: bool,
}

/// The Deployments a database restore stops.
#[derive(serde::Serialize)]
struct StopView {
    /// Every Deployment of the tree.
    all: bool,
    /// `deployment/api`, … (those stopped).
    krefs: Vec<String>,
    /// The label selector of their pods.
    selector: String,
}

/// Regenerating with the recorded choices.
#[derive(serde::Serialize)]
struct RegenerateView {
    /// Every recorded choice, one flag a line as GENERATED.md keeps them.
    choices: Vec<String>,
    /// The choices without `--public-url`, joined (`--ingress-host` stays: a `--public-url` wins
    /// over the address it implies).
    without_public_url: String,
    /// The choices without `--rwx-storage-class`, joined.
    without_rwx_storage_class: String,
}

#[derive(serde::Serialize)]
struct FileBackupView {
    pod: String,
    path: String,
    archive: String,
    /// The init container that copies config files onto the claim at every start.
    seed_init: Option<String>,
    /// The compose file's host folder the claim was made from (`./volumes/app/storage`).
    host: Option<String>,
}

/// A claim filled from a folder of the compose host, through a pod that mounts it.
#[derive(serde::Serialize)]
struct MoveFileView {
    pod: String,
    path: String,
    archive: String,
    /// The folder as the shell names it: below `"$compose_dir"` when the compose file names it
    /// relatively, else as written (`~` as `"$HOME"`).
    from: String,
}

/// Moving a Docker Compose install: what stops, what is waited for, what is copied, what is kept.
#[derive(serde::Serialize)]
struct MoveView {
    /// The compose install's folder as seen from the tree: beside `k8s/` as the rules' compose file
    /// names it (`../docker`), else the folder that holds `k8s/`.
    compose_dir: String,
    /// Compose services stopped before anything is copied: every one but the databases.
    stop: Vec<String>,
    /// Workloads the copy waits for (`statefulset/postgres`, `deployment/api`).
    wait: Vec<String>,
    /// Claims filled from a folder of the compose host (seeded ones are not: they are rewritten at
    /// every start).
    files: Vec<MoveFileView>,
    /// Claims with data that no compose host folder holds (named volumes).
    volumes: Vec<String>,
    /// Vector stores and the compose host folders of their data.
    vector_folders: Vec<(String, String)>,
    /// The setting that signs and encrypts stored data, when a Secret of the tree holds it.
    keep: Option<String>,
    /// The variables the databases' passwords are made of.
    db_password_vars: Vec<String>,
}

#[derive(serde::Serialize)]
struct ProxiedView {
    workload: String,
    proxy: String,
    proxy_pod: String,
}

/// An HTTP probe: path, port, and whether the workload's own config answers it.
#[derive(serde::Serialize)]
struct HttpProbeView {
    path: String,
    port: u16,
    answered: bool,
}

#[derive(serde::Serialize)]
struct ClaimRowView {
    name: String,
    size: String,
    access_mode: String,
    /// Its StorageClass; none: the cluster's default.
    class: Option<String>,
    /// `workload (`mount path`)`.
    users: Vec<String>,
}

#[derive(serde::Serialize)]
struct InitView {
    init: String,
    workloads: Vec<String>,
    /// The first workload's reference, for `kubectl logs … -c init`.
    kref: String,
}

#[derive(serde::Serialize)]
struct ContainerView {
    workload: String,
    /// The init container's name, for a folded init container.
    init: Option<String>,
    user: Option<i64>,
    non_root: bool,
    capabilities: Vec<String>,
    read_only_root: bool,
    why: Option<String>,
}

#[derive(serde::Serialize)]
struct StorageView {
    /// Class of the ReadWriteOnce claims; none: the cluster's default.
    rwo_class: Option<String>,
    /// Class of the ReadWriteMany claims; none: the cluster's default.
    rwx_class: Option<String>,
    /// Whether the operator chose the ReadWriteMany class (`--rwx-storage-class`).
    rwx_chosen: bool,
    /// Workloads that mount the shared claim, each once.
    shared_users: Vec<String>,
}

#[derive(serde::Serialize)]
struct EntryView {
    name: String,
    service_type: String,
    /// Its first port (80 when it has none).
    port: u16,
    /// The host of an Ingress in front of it, and whether it serves TLS.
    ingress_host: Option<String>,
    ingress_tls: bool,
    route: Option<RouteFacts>,
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

/// Where the Secrets' values come from.
#[derive(serde::Serialize)]
struct SecretsView {
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

#[derive(serde::Serialize)]
struct ClaimView {
    name: String,
    size: String,
    access_mode: String,
    /// `RWO`, `RWX`, ...
    short_mode: String,
    mount_path: String,
    /// Whether it is the shared claim.
    shared: bool,
    /// Its StorageClass; none: the cluster's default.
    class: Option<String>,
}

#[derive(serde::Serialize)]
struct WorkloadView {
    name: String,
    upstream: String,
    kind: String,
    replicas: i32,
    ports: Vec<u16>,
    probe: Option<String>,
    /// The liveness probe's kind, when it differs from `probe`.
    liveness: Option<String>,
    claims: Vec<ClaimView>,
    /// The rules' title (in the guide's language), else the folder name.
    title: String,
    /// `deployment/api`, `statefulset/postgres`, ...
    kref: String,
    image: String,
    service_type: Option<String>,
    /// What it is for (the rules' purpose in the guide's language, else the plan's description).
    purpose: Option<String>,
    /// The user ID it runs as when the rules make it run as non-root.
    non_root_user: Option<i64>,
    /// Services that run as containers of its pod.
    joined: Vec<String>,
    egress: Option<EgressFacts>,
    proxy_denies: Vec<String>,
    secret_keys: Vec<String>,
    reached_by: Vec<String>,
    /// `data`, `app` or `support`.
    layer: &'static str,
    /// Where `kubectl logs`/`exec` go: `postgres-0` for a StatefulSet, else the reference.
    pod_target: String,
    http_probe: Option<HttpProbeView>,
}

/// The workloads of one layer of the stack (indices into `workloads`).
#[derive(serde::Serialize)]
struct LayerView {
    layer: &'static str,
    members: Vec<usize>,
}

#[derive(serde::Serialize)]
struct OmittedView {
    service: String,
    reason: String,
}

#[derive(serde::Serialize)]
struct FindingView {
    check_id: String,
    resource: String,
    reason: String,
}

#[derive(serde::Serialize)]
struct LinkView {
    title: String,
    url: String,
}

impl View {
    fn new(f: &Facts, lang: Lang) -> View {
        let r = Lookup { f };
        let say = |text: &str| say(f, lang, text);
        View {
            namespace: f.namespace.clone(),
            product: f.guide.product.clone(),
            compose_file: f.guide.compose_file.clone(),
            release: f.release.clone(),
            part_of: f.storage.instance.clone(),
            findings: f
                .security_findings
                .iter()
                .map(|s| FindingView {
                    check_id: s.check_id.clone(),
                    resource: s.resource.clone(),
                    reason: say(&s.reason),
                })
                .collect(),
            not_listed: crate::plan::findings::NOT_LISTED.to_vec(),
            pdbs: f.workloads.iter().filter(|w| w.pdb).map(|w| w.name.clone()).collect(),
            spread_key: f.spread_key.clone(),
            single_data: f
                .workloads
                .iter()
                .filter(|w| is_statefulset(w) && layer(&f.guide, w) == Some(Layer::Data))
                .map(|w| w.name.clone())
                .collect(),
            links: link_views(f, lang),
            config_map: f.config_map.clone(),
            secrets: secrets_view(f),
            shared_claim: f.shared_claim.as_ref().map(|c| claim_view(f, c)),
            workloads: f.workloads.iter().map(|w| workload_view(f, w, lang)).collect(),
            migration_job: f.migration_job.clone(),
            storage: storage_view(f),
            load_balancer: f
                .workloads
                .iter()
                .find(|w| w.service_type.as_deref() == Some("LoadBalancer"))
                .map(|w| w.name.clone()),
            public_urls: f.public_urls.clone(),
            public_urls_local: f
                .public_urls
                .iter()
                .any(|u| u.value.is_empty() || u.value.contains("://localhost") || u.value.contains("://127.0.0.1")),
            entry: r.entry().map(entry_view),
            apply_example: r
                .by_key(f.guide.examples.apply.as_deref())
                .or_else(|| f.workloads.first())
                .map(|w| w.name.clone()),
            status_kinds: [
                ("statefulsets", f.workloads.iter().any(is_statefulset)),
                ("deployments", f.workloads.iter().any(is_deployment)),
                ("jobs", f.migration_job.is_some()),
            ]
            .into_iter()
            .filter_map(|(kind, has)| has.then_some(kind))
            .collect(),
            log_example: r.deployment(f.guide.examples.logs.as_deref()).map(kref),
            sts_pods: f.workloads.iter().filter(|w| is_statefulset(w)).map(|w| format!("{}-0", w.name)).collect(),
            layers: layers(f),
            traffic: r.traffic_paths(),
            inherit_env_source: f.inherit_env_source.clone(),
            internet_users: r.names_of(&f.guide.internet),
            cluster_ranges: f.cluster_ranges.clone(),
            allowed_ranges: f.allowed_ranges.clone(),
            fqdn_users: f.fqdn_users.clone(),
            cluster_domain: f.cluster_domain.clone(),
            claim_rows: claim_rows(f),
            sts_claims: f
                .workloads
                .iter()
                .filter(|w| is_statefulset(w) && w.claims.iter().any(|c| !r.is_shared(&c.name)))
                .map(|w| w.name.clone())
                .collect(),
            retain_annotations: f.storage.retain_annotations.clone(),
            rwo_deployments: f
                .workloads
                .iter()
                .filter(|w| is_deployment(w) && w.claims.iter().any(|c| c.access_mode == "ReadWriteOnce"))
                .map(|w| w.name.clone())
                .collect(),
            recreated: f.storage.recreated.clone(),
            chown_inits: chown_inits(f),
            tls_omitted: f.guide.tls.clone().filter(|t| f.omitted.iter().any(|(s, _)| s == t)),
            containers: containers(f, lang),
            pod_security: f.pod_security.clone(),
            operations: f.operations.clone(),
            omitted: f
                .omitted
                .iter()
                .map(|(service, reason)| OmittedView { service: service.clone(), reason: say(reason) })
                .collect(),
            probes: probe_kinds(f),
            no_probe: f.workloads.iter().filter(|w| w.probe.is_none()).map(|w| w.name.clone()).collect(),
            replicated_deployments: r.deployments().iter().any(|w| w.replicas > 1),
            scale_examples: scale_examples(f, &r),
            statefulsets: f.workloads.iter().filter(|w| is_statefulset(w)).map(|w| w.name.clone()).collect(),
            scheduler: r.by_key(f.guide.scheduler.as_deref()).map(|w| w.name.clone()),
            config_checked: f
                .guide
                .config_checked_with
                .iter()
                .filter_map(|(k, v)| {
                    r.by_key(Some(k)).map(|w| CheckedView { workload: w.name.clone(), program: v.clone() })
                })
                .collect(),
            has_claims: !f.storage.claim_classes.is_empty(),
            restart_example: r
                .deployment(f.guide.examples.restart.as_deref())
                .or_else(|| r.deployments().first().copied())
                .map(kref),
            databases: databases(f),
            caches: backed_up_by(f, Backup::RedisBgsave).map(cache_view).collect(),
            restore_stop: restore_stop(f),
            regenerate: regenerate_view(&f.choices),
            file_backups: r.file_backups(),
            moving: moving(f, &r),
            vector_stores: backed_up_by(f, Backup::OwnTool)
                .filter(|w| !w.claims.is_empty())
                .map(|w| w.name.clone())
                .collect(),
            dns_example: f.workloads.iter().find(|w| w.service_type.is_some()).map(|w| w.name.clone()),
            proxied: proxied_view(f, &r),
        }
    }
}

/// The workload whose outbound traffic goes through a proxy, and the proxy, when both exist.
fn proxied_view(f: &Facts, r: &Lookup) -> Option<ProxiedView> {
    match f.guide.proxied.as_ref().map(|p| (r.by_key(Some(&p.workload)), r.by_key(Some(&p.proxy)))) {
        Some((Some(s), Some(p))) => {
            Some(ProxiedView { workload: s.name.clone(), proxy: p.name.clone(), proxy_pod: pod_target(p) })
        }
        _ => None,
    }
}

/// Storage classes and who mounts the shared claim.
fn storage_view(f: &Facts) -> StorageView {
    StorageView {
        rwo_class: f.storage.rwo_class.clone(),
        rwx_class: f.storage.rwx_class.clone(),
        rwx_chosen: f.storage.rwx_class_chosen,
        shared_users: f.storage.shared_claim_users.iter().fold(Vec::new(), |mut users, (w, _)| {
            if !users.contains(w) {
                users.push(w.clone());
            }
            users
        }),
    }
}

/// The workload in front that receives outside traffic.
fn entry_view(e: &WorkloadFacts) -> EntryView {
    EntryView {
        name: e.name.clone(),
        service_type: e.service_type.clone().unwrap_or_default(),
        port: e.ports.first().copied().unwrap_or(80),
        ingress_host: e.ingress.as_ref().map(|(h, _)| h.clone()),
        ingress_tls: e.ingress.as_ref().is_some_and(|(_, tls)| *tls),
        route: e.route.clone(),
    }
}

/// The cache saved with BGSAVE: its pod and the folder it saves to.
fn cache_view(w: &WorkloadFacts) -> CacheView {
    CacheView {
        name: w.name.clone(),
        pod: pod_target(w),
        dir: w.claims.first().map_or_else(|| "/data".to_string(), |c| c.mount_path.trim_end_matches('/').to_string()),
        named_pod: is_statefulset(w),
        cli_auth: w.env.contains("REDISCLI_AUTH"),
    }
}

/// The databases saved with their own dump tool, each with the commands its image runs.
fn databases(f: &Facts) -> Vec<DbView> {
    let dbs: Vec<(&WorkloadFacts, Backup)> = f
        .workloads
        .iter()
        .filter_map(|w| backup(&f.guide, w).map(|b| (w, b)))
        .filter(|(_, b)| matches!(b, Backup::PgDumpall | Backup::Mysqldump | Backup::MariadbDump | Backup::Mongodump))
        .collect();
    let single = dbs.len() == 1;
    dbs.into_iter()
        .map(|(w, b)| {
            let (engine, dump, restore, ext) = match b {
                Backup::PgDumpall => (
                    "postgres",
                    r#"pg_dumpall --clean --if-exists -U "${POSTGRES_USER:-postgres}""#.to_string(),
                    r#"psql -U "${POSTGRES_USER:-postgres}" -d postgres"#.to_string(),
                    "sql",
                ),
                Backup::Mongodump => {
                    // The official image creates its root user from these at first start; without
                    // them the server runs without authentication.
                    let auth = if w.env.contains("MONGO_INITDB_ROOT_USERNAME") {
                        r#" -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin"#
                    } else {
                        ""
                    };
                    (
                        "mongo",
                        format!("exec mongodump --archive{auth}"),
                        format!("exec mongorestore --archive --drop{auth}"),
                        "archive",
                    )
                }
                _ => {
                    let maria = b == Backup::MariadbDump;
                    let (dump, client) = if maria { ("mariadb-dump", "mariadb") } else { ("mysqldump", "mysql") };
                    let login = mysql_login(w, maria);
                    (
                        if maria { "mariadb" } else { "mysql" },
                        format!("exec {dump} --single-transaction --no-tablespaces {login}"),
                        format!("exec {client} {login}"),
                        "sql",
                    )
                }
            };
            let file = if single && f.guide.product.is_some() {
                format!("{}-db.{ext}", f.storage.instance)
            } else {
                format!("{}.{ext}", w.name)
            };
            DbView { name: w.name.clone(), upstream: w.upstream.clone(), engine, pod: pod_target(w), dump, restore, file }
        })
        .collect()
}

/// What moving a Docker Compose install needs: the compose services to stop, the workloads to wait
/// for, the host folders to copy into claims, and the secrets that must keep their values.
fn moving(f: &Facts, r: &Lookup) -> MoveView {
    let dbs = databases(f);
    let is_db = |w: &WorkloadFacts| dbs.iter().any(|d| d.name == w.name);
    let mut stop: Vec<String> = Vec::new();
    for w in f.workloads.iter().filter(|w| !is_db(w)) {
        for s in std::iter::once(&w.upstream).chain(&w.joined) {
            if !stop.contains(s) {
                stop.push(s.clone());
            }
        }
    }
    let (files, volumes): (Vec<FileBackupView>, Vec<FileBackupView>) =
        r.file_backups().into_iter().filter(|b| b.seed_init.is_none()).partition(|b| b.host.is_some());
    let files: Vec<MoveFileView> = files
        .into_iter()
        .map(|b| {
            let host = b.host.unwrap_or_default();
            let from = if let Some(rest) = host.strip_prefix("~/") {
                format!(r#""$HOME"/{}"#, shell_words::quote(rest))
            } else if host.starts_with('/') || host.get(1..2) == Some(":") {
                shell_words::quote(&host).into_owned()
            } else {
                format!(r#""$compose_dir"/{}"#, shell_words::quote(host.strip_prefix("./").unwrap_or(&host)))
            };
            MoveFileView { pod: b.pod, path: b.path, archive: b.archive, from }
        })
        .collect();
    let mut wait: Vec<String> = Vec::new();
    let targets = dbs.iter().map(|d| d.name.as_str()).chain(
        files.iter().filter_map(|b| f.workloads.iter().find(|w| pod_target(w) == b.pod).map(|w| w.name.as_str())),
    );
    for name in targets {
        if let Some(w) = f.workloads.iter().find(|w| w.name == name) {
            if !wait.contains(&kref(w)) {
                wait.push(kref(w));
            }
        }
    }
    let variables_of = |keys: &[String]| -> Vec<String> {
        let mut vars: Vec<String> = Vec::new();
        for s in &f.secrets {
            for (key, of) in &s.keys {
                if keys.contains(key) {
                    for v in of {
                        if !vars.contains(v) {
                            vars.push(v.clone());
                        }
                    }
                }
            }
        }
        vars
    };
    let db_keys: Vec<String> =
        f.workloads.iter().filter(|w| is_db(w)).flat_map(|w| w.secret_keys.iter().cloned()).collect();
    let compose_dir = match f.guide.compose_file.as_deref().and_then(|c| c.rsplit_once('/')) {
        Some((dir, _)) if !dir.is_empty() => format!("../{dir}"),
        _ => "..".to_string(),
    };
    MoveView {
        compose_dir,
        stop,
        wait,
        volumes: volumes.into_iter().map(|b| b.archive).collect(),
        files,
        vector_folders: backed_up_by(f, Backup::OwnTool)
            .flat_map(|w| w.claims.iter().filter_map(move |c| c.host.clone().map(|h| (w.name.clone(), h))))
            .collect(),
        keep: f
            .guide
            .encryption_key
            .clone()
            .filter(|k| f.secrets.iter().any(|s| s.keys.iter().any(|(_, of)| of.contains(k)))),
        db_password_vars: variables_of(&db_keys),
    }
}

/// The login and database of a MySQL or MariaDB official image, from the variables its container
/// has: the application user (`MYSQL_USER`, or `MARIADB_USER` for MariaDB) and its database, else
/// root with the root password and every database.
fn mysql_login(w: &WorkloadFacts, maria: bool) -> String {
    let has = |names: &[&'static str]| names.iter().copied().find(|n| w.env.contains(*n));
    let names = |suffix: &str| -> Vec<&'static str> {
        let all: [(&str, &'static str, &'static str); 4] = [
            ("USER", "MARIADB_USER", "MYSQL_USER"),
            ("PASSWORD", "MARIADB_PASSWORD", "MYSQL_PASSWORD"),
            ("DATABASE", "MARIADB_DATABASE", "MYSQL_DATABASE"),
            ("ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"),
        ];
        let (_, m, y) = all.into_iter().find(|(s, _, _)| *s == suffix).expect("a known suffix");
        if maria {
            vec![m, y]
        } else {
            vec![y]
        }
    };
    match (has(&names("USER")), has(&names("PASSWORD"))) {
        (Some(user), Some(password)) => {
            let db = has(&names("DATABASE")).map_or_else(|| "--all-databases".to_string(), |d| format!(r#""${d}""#));
            format!(r#"-u"${user}" -p"${password}" {db}"#)
        }
        _ => {
            let root = has(&names("ROOT_PASSWORD")).unwrap_or(if maria {
                "MARIADB_ROOT_PASSWORD"
            } else {
                "MYSQL_ROOT_PASSWORD"
            });
            let db = has(&names("DATABASE")).map_or_else(|| "--all-databases".to_string(), |d| format!(r#""${d}""#));
            format!(r#"-uroot -p"${root}" {db}"#)
        }
    }
}

/// The Deployments a database restore stops: those without a backup of their own.
fn restore_stop(f: &Facts) -> Option<StopView> {
    let deployments: Vec<&WorkloadFacts> = f.workloads.iter().filter(|w| is_deployment(w)).collect();
    let stopped: Vec<&&WorkloadFacts> = deployments.iter().filter(|w| backup(&f.guide, w).is_none()).collect();
    (!stopped.is_empty()).then(|| StopView {
        all: stopped.len() == deployments.len(),
        krefs: stopped.iter().map(|w| kref(w)).collect(),
        selector: format!(
            "app.kubernetes.io/part-of={},app.kubernetes.io/name in ({})",
            f.storage.instance,
            stopped.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(",")
        ),
    })
}

/// The recorded choices, and them without the flags the guide tells to change.
fn regenerate_view(choices: &[String]) -> RegenerateView {
    let without = |flags: &[&str]| -> String {
        choices
            .iter()
            .filter(|c| !flags.iter().any(|f| c.split_whitespace().next() == Some(f)))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    RegenerateView {
        choices: choices.to_vec(),
        without_public_url: without(&["--public-url"]),
        without_rwx_storage_class: without(&["--rwx-storage-class"]),
    }
}

/// The workloads the rules (or their image) back up with `tool`.
fn backed_up_by(f: &Facts, tool: Backup) -> impl Iterator<Item = &WorkloadFacts> {
    f.workloads.iter().filter(move |w| backup(&f.guide, w) == Some(tool))
}

/// A reason or note of the rules in the guide's language: the Japanese the rules give for it (for
/// each `; `-joined part, and for the head of a part that ends in a parenthesis, such as the profiles
/// of `profile not active (vastbase)`), else the English.
fn say(f: &Facts, lang: Lang, text: &str) -> String {
    let part = |p: &str| -> String {
        if let Some(ja) = f.ja.get(p) {
            return ja.clone();
        }
        match p.split_once(" (").filter(|_| p.ends_with(')')) {
            Some((head, rest)) if f.ja.contains_key(head) => format!("{}（{}", f.ja[head], &rest.replace(')', "）")),
            _ => p.to_string(),
        }
    };
    match lang {
        Lang::En => text.to_string(),
        Lang::Ja => match f.ja.get(text) {
            Some(ja) => ja.clone(),
            None => text.split("; ").map(part).collect::<Vec<_>>().join("; "),
        },
    }
}

fn pick(lang: Lang, en: &str, ja: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Ja => ja.to_string(),
    }
}

/// Where the Secrets come from, their files and keys, and the store's remote keys.
fn secrets_view(f: &Facts) -> SecretsView {
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
        base_template: f.secret_files.iter().any(|p| p == "base/secret.yaml.example"),
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

fn workload_view(f: &Facts, w: &WorkloadFacts, lang: Lang) -> WorkloadView {
    WorkloadView {
        name: w.name.clone(),
        secret_keys: w.secret_keys.clone(),
        reached_by: w.reached_by.clone(),
        upstream: w.upstream.clone(),
        kind: w.kind.clone(),
        replicas: w.replicas,
        ports: w.ports.clone(),
        probe: w.probe.clone(),
        liveness: w.liveness.clone(),
        claims: w.claims.iter().map(|c| claim_view(f, c)).collect(),
        kref: kref(w),
        image: w.image.clone(),
        service_type: w.service_type.clone(),
        purpose: {
            let k = known(&f.guide, w).and_then(|k| k.purpose.as_ref());
            match lang {
                Lang::En => w.description.clone().or_else(|| k.map(|k| k.en.clone())),
                Lang::Ja => k.map(|k| k.ja.clone()).or_else(|| w.description.clone()),
            }
            .map(|p| p.trim().to_string())
        },
        non_root_user: w.non_root_user,
        joined: w.joined.clone(),
        egress: w.egress.clone(),
        proxy_denies: w.proxy_denies.clone(),
        pod_target: pod_target(w),
        http_probe: w.http_probe.as_ref().map(|(path, port, answered)| HttpProbeView {
            path: path.clone(),
            port: *port,
            answered: *answered,
        }),
        layer: match layer(&f.guide, w) {
            Some(Layer::Data) => "data",
            Some(Layer::App) => "app",
            Some(Layer::Support) | None => "support",
        },
        title: match known(&f.guide, w).and_then(|k| k.title.as_ref()) {
            Some(t) => pick(lang, &t.en, &t.ja),
            None => w.name.clone(),
        },
    }
}

/// The workloads by the rules' layers, data first; without any (the generic preset), one list.
fn layers(f: &Facts) -> Vec<LayerView> {
    if f.workloads.iter().all(|w| layer(&f.guide, w).is_none()) {
        vec![LayerView { layer: "none", members: (0..f.workloads.len()).collect() }]
    } else {
        [(Layer::Data, "data"), (Layer::App, "app"), (Layer::Support, "support")]
            .into_iter()
            .map(|(l, name)| LayerView {
                layer: name,
                members: f
                    .workloads
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| layer(&f.guide, w).unwrap_or(Layer::Support) == l)
                    .map(|(i, _)| i)
                    .collect(),
            })
            .filter(|l| !l.members.is_empty())
            .collect()
    }
}

/// The init containers that change file owners, each with the workloads that run it.
fn chown_inits(f: &Facts) -> Vec<InitView> {
    {
        let mut inits: Vec<InitView> = Vec::new();
        for w in &f.workloads {
            for (init, _) in &w.init_security {
                match inits.iter_mut().find(|i| &i.init == init) {
                    Some(i) => i.workloads.push(w.name.clone()),
                    None => inits.push(InitView { init: init.clone(), workloads: vec![w.name.clone()], kref: kref(w) }),
                }
            }
        }
        inits
    }
}

/// Every container's security, with the rules' reason in the guide's language.
fn containers(f: &Facts, lang: Lang) -> Vec<ContainerView> {
    f.workloads
        .iter()
        .flat_map(|w| {
            std::iter::once((w, None, &w.security))
                .chain(w.init_security.iter().map(move |(n, s)| (w, Some(n.clone()), s)))
        })
        .map(|(w, init, s)| ContainerView {
            workload: w.name.clone(),
            init,
            user: s.user,
            non_root: s.non_root,
            capabilities: s.capabilities.clone(),
            read_only_root: s.read_only_root,
            why: s.why.as_deref().map(|t| say(f, lang, t)),
        })
        .collect()
}

/// The kinds of probe (readiness, and liveness when it differs), each with the workloads that use
/// it.
fn probe_kinds(f: &Facts) -> Vec<ProbeKindView> {
    let mut kinds: Vec<ProbeKindView> = Vec::new();
    for w in &f.workloads {
        let Some(kind) = w.probe.clone() else { continue };
        match kinds.iter_mut().find(|k| k.kind == kind && k.liveness == w.liveness) {
            Some(k) => k.workloads.push(w.name.clone()),
            None => kinds.push(ProbeKindView { kind, liveness: w.liveness.clone(), workloads: vec![w.name.clone()] }),
        }
    }
    kinds
}

/// Deployments to show `kubectl scale` on: the rules' examples only. Which services may run as
/// several copies is the application's knowledge; without it the guide names none.
/// The application's own links, in the guide's language.
fn link_views(f: &Facts, lang: Lang) -> Vec<LinkView> {
    f.guide.links.iter().map(|l| LinkView { title: pick(lang, &l.en, &l.ja), url: l.url.clone() }).collect()
}

fn scale_examples(f: &Facts, r: &Lookup) -> Vec<ScaleView> {
    f.guide
        .examples
        .scale
        .iter()
        .filter_map(|k| r.deployment(Some(k)))
        .map(|w| ScaleView { kref: kref(w), replicas: w.replicas.max(1).saturating_add(1) })
        .collect()
}

// ---------------------------------------------------------------------------
// Known workloads
// ---------------------------------------------------------------------------

/// The rules' title and purpose of a workload: by folder name first, then by role.
fn known<'a>(guide: &'a crate::rules::Guide, w: &WorkloadFacts) -> Option<&'a crate::rules::GuideWorkload> {
    guide.workloads.get(&w.name).or_else(|| w.role.as_deref().and_then(|r| guide.workloads.get(r)))
}

/// Which part of the stack the rules put a workload in; none: they do not say.
fn layer(guide: &crate::rules::Guide, w: &WorkloadFacts) -> Option<Layer> {
    known(guide, w).and_then(|k| k.layer)
}

/// How the rules back up a workload's data beyond its claims' files.
/// The rules' `workloads` first, then its image's repository (`backup_images`).
fn backup(guide: &crate::rules::Guide, w: &WorkloadFacts) -> Option<Backup> {
    known(guide, w)
        .and_then(|k| k.backup)
        .or_else(|| guide.backup_images.get(&crate::plan::image_repository(&w.image)).copied())
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn is_deployment(w: &WorkloadFacts) -> bool {
    w.kind == "Deployment"
}

fn is_statefulset(w: &WorkloadFacts) -> bool {
    w.kind == "StatefulSet"
}

/// `deployment/api`, `statefulset/postgres`, ... (usable with rollout, scale, logs, exec).
fn kref(w: &WorkloadFacts) -> String {
    format!("{}/{}", w.kind.to_ascii_lowercase(), w.object_name)
}

/// A target for `kubectl exec` / `kubectl logs`: the first pod of a StatefulSet,
/// otherwise the workload reference.
fn pod_target(w: &WorkloadFacts) -> String {
    if is_statefulset(w) {
        format!("{}-0", w.name)
    } else {
        kref(w)
    }
}

fn short_mode(mode: &str) -> &str {
    match mode {
        "ReadWriteOnce" => "RWO",
        "ReadWriteMany" => "RWX",
        "ReadOnlyMany" => "ROX",
        "ReadWriteOncePod" => "RWOP",
        other => other,
    }
}

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('|', "\\|")
}

/// A code span that no backtick in the text can close early (names come from the compose file).
fn code(s: &str) -> String {
    crate::text::code_span(s)
}

/// Collapses runs of blank lines, trims trailing spaces and ends with exactly one newline.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true; // suppress leading blank lines
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if blank {
                continue;
            }
            blank = true;
        } else {
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------

/// Finds workloads in the facts by name, role, kind or Service.
struct Lookup<'a> {
    f: &'a Facts,
}

impl<'a> Lookup<'a> {
    /// The workloads a key of the rules' guide names: the one with that folder name, else every one
    /// with that role.
    fn resolve(&self, key: &str) -> Vec<&'a WorkloadFacts> {
        let ws = &self.f.workloads;
        match ws.iter().find(|w| w.name == key) {
            Some(w) => vec![w],
            None => ws.iter().filter(|w| w.role.as_deref() == Some(key)).collect(),
        }
    }

    /// The first workload a key names.
    fn by_key(&self, key: Option<&str>) -> Option<&'a WorkloadFacts> {
        key.and_then(|k| self.resolve(k).first().copied())
    }

    /// Names of the workloads the keys name, each once.
    fn names_of<S: AsRef<str>>(&self, keys: &[S]) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for w in keys.iter().flat_map(|k| self.resolve(k.as_ref())) {
            if !v.contains(&w.name) {
                v.push(w.name.clone());
            }
        }
        v
    }

    /// The Deployment a key names.
    fn deployment(&self, key: Option<&str>) -> Option<&'a WorkloadFacts> {
        key.and_then(|k| self.resolve(k).into_iter().find(|w| is_deployment(w)))
    }

    fn deployments(&self) -> Vec<&'a WorkloadFacts> {
        self.f.workloads.iter().filter(|w| is_deployment(w)).collect()
    }

    /// The workload that receives outside traffic: the rules' entry when it has a Service, else any
    /// workload with an externally reachable Service.
    fn entry(&self) -> Option<&'a WorkloadFacts> {
        self.by_key(self.f.guide.entry.as_deref()).filter(|w| w.service_type.is_some()).or_else(|| {
            self.f
                .workloads
                .iter()
                .find(|w| matches!(w.service_type.as_deref(), Some("LoadBalancer") | Some("NodePort")))
        })
    }

    fn is_shared(&self, claim: &str) -> bool {
        self.f.shared_claim.as_ref().is_some_and(|c| c.name == claim)
    }

    /// The rules' main traffic paths (`a -> b`) with the workloads that exist (see
    /// `Guide::traffic`).
    fn traffic_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        'path: for line in &self.f.guide.traffic {
            let (arrow, hops) = match line.contains("<->") {
                true => (" <-> ", line.split("<->").collect::<Vec<_>>()),
                false => (" -> ", line.split("->").collect::<Vec<_>>()),
            };
            let mut shown: Vec<String> = Vec::new();
            let mut out: Vec<String> = Vec::new();
            for hop in hops {
                let hop = hop.trim();
                let (hop, optional) = hop.strip_suffix('?').map_or((hop, false), |h| (h, true));
                let names: Vec<String> = match hop {
                    "Internet" => vec![hop.to_string()],
                    "<entry>" => self.entry().map(|e| e.name.clone()).into_iter().collect(),
                    _ => self.names_of(&hop.split(',').map(str::trim).collect::<Vec<_>>()),
                };
                let names: Vec<String> = names.into_iter().filter(|n| !shown.contains(n)).collect();
                match (names.is_empty(), optional) {
                    (true, true) => break,
                    (true, false) => continue 'path,
                    (false, _) => {
                        shown.extend(names.iter().cloned());
                        out.push(names.join(", "));
                    }
                }
            }
            if out.len() > 1 {
                paths.push(out.join(arrow));
            }
        }
        paths
    }

    /// `tar` through a pod for every claim that holds data and has no other backup above.
    fn file_backups(&self) -> Vec<FileBackupView> {
        let f = self.f;
        let mut targets: Vec<FileBackupView> = Vec::new();
        if let Some(c) = &f.shared_claim {
            let user = f.storage.shared_claim_users.iter().find_map(|(w, p)| {
                f.workloads.iter().find(|x| &x.name == w && x.replicas > 0).map(|x| (pod_target(x), p.clone()))
            });
            if let Some((pod, path)) = user {
                targets.push(FileBackupView {
                    pod,
                    path,
                    archive: c.name.clone(),
                    seed_init: c.seed_init.clone(),
                    host: c.host.clone(),
                });
            }
        }
        for w in &f.workloads {
            // A Job's pods have finished: nothing to exec into. A database backed up with its own
            // tool has its own section: a copy of a running server's files may not restore.
            if w.kind == "Job" || backup(&f.guide, w).is_some() {
                continue;
            }
            for c in w.claims.iter().filter(|c| !self.is_shared(&c.name)) {
                let archive = if is_statefulset(w) { format!("{}-{}-0", c.name, w.name) } else { c.name.clone() };
                if !targets.iter().any(|t| t.archive == archive) {
                    targets.push(FileBackupView {
                        pod: pod_target(w),
                        path: c.mount_path.clone(),
                        archive,
                        seed_init: c.seed_init.clone(),
                        host: c.host.clone(),
                    });
                }
            }
        }
        targets
    }
}

#[cfg(test)]
mod tests;
