//! Each workload as the Service details show it (title, purpose, claims, probes, reach), and the
//! layers of the stack they are grouped in.

use super::lookup::{known, kref, layer, pick, pod_target};
use super::storage::{claim_view, ClaimView};
use crate::guide::{EgressFacts, Facts, Lang, WorkloadFacts};
use crate::rules::Layer;

/// One workload as its section of the Service details shows it.
#[derive(serde::Serialize)]
pub(super) struct WorkloadView {
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

/// An HTTP probe: path, port, and whether the workload's own config answers it.
#[derive(serde::Serialize)]
struct HttpProbeView {
    path: String,
    port: u16,
    answered: bool,
}

/// The workloads of one layer of the stack (indices into `workloads`).
#[derive(serde::Serialize)]
pub(super) struct LayerView {
    layer: &'static str,
    members: Vec<usize>,
}

/// A workload's section, its title and purpose in the guide's language.
pub(super) fn workload_view(f: &Facts, w: &WorkloadFacts, lang: Lang) -> WorkloadView {
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
pub(super) fn layers(f: &Facts) -> Vec<LayerView> {
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
