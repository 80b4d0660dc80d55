//! What the templates see: the facts and the lists and commands made from them, in the guide's
//! language where the rules give both. The overview and deployment chapters' part is here; each
//! later chapter's is a module of its own, flattened into the one view the templates read.

mod backup;
pub(super) mod lookup;
mod moving;
mod network;
mod operations;
mod secrets;
mod security;
mod storage;
mod workloads;

use self::backup::{backup_chapter, BackupChapter};
use self::lookup::{is_deployment, is_statefulset, kref, pick, say, Lookup};
use self::moving::{moving, MoveView};
use self::network::{network_chapter, NetworkChapter};
use self::operations::{operations_chapter, OperationsChapter};
use self::secrets::{secrets_view, SecretsView};
use self::security::{security_chapter, SecurityChapter};
use self::storage::{claim_view, storage_chapter, ClaimView, StorageChapter};
use self::workloads::{layers, workload_view, LayerView, WorkloadView};
use crate::guide::{Facts, Lang, PublicUrlFacts, RouteFacts, WorkloadFacts};

/// What the templates see: facts and the lists and commands made from them, in the guide's
/// language where the rules give both.
#[derive(serde::Serialize)]
pub(super) struct View {
    namespace: String,
    /// The application's name; none: the generic preset's "the application".
    product: Option<String>,
    /// Where upstream keeps its compose setup (`docker/docker-compose.yaml`), when the rules say.
    compose_file: Option<String>,
    release: Option<String>,
    /// Value of every object's `app.kubernetes.io/part-of` label.
    part_of: String,
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
    #[serde(flatten)]
    network_chapter: NetworkChapter,
    #[serde(flatten)]
    storage_chapter: StorageChapter,
    #[serde(flatten)]
    security_chapter: SecurityChapter,
    #[serde(flatten)]
    operations_chapter: OperationsChapter,
    #[serde(flatten)]
    backup_chapter: BackupChapter,
    /// Moving a Docker Compose install's data into this tree (it names the Backup chapter's tools).
    moving: MoveView,
}

impl View {
    /// The view of `f` in `lang`: this part, then each chapter's.
    pub(super) fn new(f: &Facts, lang: Lang) -> View {
        let r = Lookup { f };
        View {
            namespace: f.namespace.clone(),
            product: f.guide.product.clone(),
            compose_file: f.guide.compose_file.clone(),
            release: f.release.clone(),
            part_of: f.storage.instance.clone(),
            links: link_views(f, lang),
            config_map: f.config_map.clone(),
            secrets: secrets_view(f),
            shared_claim: f.shared_claim.as_ref().map(|c| claim_view(f, c)),
            workloads: f.workloads.iter().map(|w| workload_view(f, w, lang)).collect(),
            migration_job: f.migration_job.clone(),
            omitted: f
                .omitted
                .iter()
                .map(|(service, reason)| OmittedView { service: service.clone(), reason: say(f, lang, reason) })
                .collect(),
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
            status_kinds: status_kinds(f),
            log_example: r.deployment(f.guide.examples.logs.as_deref()).map(kref),
            sts_pods: f.workloads.iter().filter(|w| is_statefulset(w)).map(|w| format!("{}-0", w.name)).collect(),
            layers: layers(f),
            network_chapter: network_chapter(f, &r),
            storage_chapter: storage_chapter(f, &r),
            security_chapter: security_chapter(f, lang),
            operations_chapter: operations_chapter(f, &r),
            backup_chapter: backup_chapter(f, &r),
            moving: moving(f, &r),
        }
    }
}

/// The kinds `kubectl get` lists in the status check: those the tree has.
fn status_kinds(f: &Facts) -> Vec<&'static str> {
    [
        ("statefulsets", f.workloads.iter().any(is_statefulset)),
        ("deployments", f.workloads.iter().any(is_deployment)),
        ("jobs", f.migration_job.is_some()),
    ]
    .into_iter()
    .filter_map(|(kind, has)| has.then_some(kind))
    .collect()
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

#[derive(serde::Serialize)]
struct OmittedView {
    service: String,
    reason: String,
}

#[derive(serde::Serialize)]
struct LinkView {
    title: String,
    url: String,
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

/// The application's own links, in the guide's language.
fn link_views(f: &Facts, lang: Lang) -> Vec<LinkView> {
    f.guide.links.iter().map(|l| LinkView { title: pick(lang, &l.en, &l.ja), url: l.url.clone() }).collect()
}
