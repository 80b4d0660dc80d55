//! The Security chapter: the Pod Security level, every container's user and capabilities with the
//! rules' reason, the init containers that change owners, and the accepted checkov findings.

use super::lookup::{kref, say};
use crate::guide::{Facts, Lang, PodSecurityView};

/// What the Security chapter says.
#[derive(serde::Serialize)]
pub(super) struct SecurityChapter {
    /// The Pod Security level the Namespace enforces, and the containers below "restricted".
    pod_security: PodSecurityView,
    findings: Vec<FindingView>,
    /// Checks every object fails on purpose (not listed per object).
    not_listed: Vec<&'static str>,
    /// Init containers that change file owners, with the workloads that run them.
    chown_inits: Vec<InitView>,
    /// The upstream service that made certificates (the rules' `guide.tls`), when it is left out.
    tls_omitted: Option<String>,
    /// Every container whose security the table shows.
    containers: Vec<ContainerView>,
}

/// The Security chapter of the facts, its reasons in `lang`.
pub(super) fn security_chapter(f: &Facts, lang: Lang) -> SecurityChapter {
    SecurityChapter {
        pod_security: f.pod_security.clone(),
        findings: f
            .security_findings
            .iter()
            .map(|s| FindingView {
                check_id: s.check_id.clone(),
                resource: s.resource.clone(),
                reason: say(f, lang, &s.reason),
            })
            .collect(),
        not_listed: crate::plan::findings::NOT_LISTED.to_vec(),
        chown_inits: chown_inits(f),
        tls_omitted: f.guide.tls.clone().filter(|t| f.omitted.iter().any(|(s, _)| s == t)),
        containers: containers(f, lang),
    }
}

#[derive(serde::Serialize)]
struct FindingView {
    check_id: String,
    resource: String,
    reason: String,
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

/// The init containers that change file owners, each with the workloads that run it.
fn chown_inits(f: &Facts) -> Vec<InitView> {
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
