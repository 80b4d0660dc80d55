//! Finding workloads in the facts (by folder name, role, kind, or the entry point), what the rules'
//! guide knows of each, and the references commands use (`deployment/api`, `postgres-0`).

use crate::guide::{Facts, Lang, WorkloadFacts};
use crate::rules::{Backup, Guide, GuideWorkload, Layer};

/// Finds workloads in the facts by name, role, kind or Service.
pub(in crate::guide) struct Lookup<'a> {
    pub(in crate::guide) f: &'a Facts,
}

impl<'a> Lookup<'a> {
    /// The workloads a key of the rules' guide names: the one with that folder name, else every one
    /// with that role.
    pub(super) fn resolve(&self, key: &str) -> Vec<&'a WorkloadFacts> {
        let ws = &self.f.workloads;
        match ws.iter().find(|w| w.name == key) {
            Some(w) => vec![w],
            None => ws.iter().filter(|w| w.role.as_deref() == Some(key)).collect(),
        }
    }

    /// The first workload a key names.
    pub(super) fn by_key(&self, key: Option<&str>) -> Option<&'a WorkloadFacts> {
        key.and_then(|k| self.resolve(k).first().copied())
    }

    /// Names of the workloads the keys name, each once.
    pub(super) fn names_of<S: AsRef<str>>(&self, keys: &[S]) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for w in keys.iter().flat_map(|k| self.resolve(k.as_ref())) {
            if !v.contains(&w.name) {
                v.push(w.name.clone());
            }
        }
        v
    }

    /// The Deployment a key names.
    pub(super) fn deployment(&self, key: Option<&str>) -> Option<&'a WorkloadFacts> {
        key.and_then(|k| self.resolve(k).into_iter().find(|w| is_deployment(w)))
    }

    pub(super) fn deployments(&self) -> Vec<&'a WorkloadFacts> {
        self.f.workloads.iter().filter(|w| is_deployment(w)).collect()
    }

    /// The workload that receives outside traffic: the rules' entry when it has a Service, else any
    /// workload with an externally reachable Service.
    pub(super) fn entry(&self) -> Option<&'a WorkloadFacts> {
        self.by_key(self.f.guide.entry.as_deref()).filter(|w| w.service_type.is_some()).or_else(|| {
            self.f
                .workloads
                .iter()
                .find(|w| matches!(w.service_type.as_deref(), Some("LoadBalancer") | Some("NodePort")))
        })
    }

    pub(super) fn is_shared(&self, claim: &str) -> bool {
        self.f.shared_claim.as_ref().is_some_and(|c| c.name == claim)
    }
}

/// The rules' title and purpose of a workload: by folder name first, then by role.
pub(super) fn known<'a>(guide: &'a Guide, w: &WorkloadFacts) -> Option<&'a GuideWorkload> {
    guide.workloads.get(&w.name).or_else(|| w.role.as_deref().and_then(|r| guide.workloads.get(r)))
}

/// Which part of the stack the rules put a workload in; none: they do not say.
pub(super) fn layer(guide: &Guide, w: &WorkloadFacts) -> Option<Layer> {
    known(guide, w).and_then(|k| k.layer)
}

/// How the rules back up a workload's data beyond its claims' files.
/// The rules' `workloads` first, then its image's repository (`backup_images`).
pub(super) fn backup(guide: &Guide, w: &WorkloadFacts) -> Option<Backup> {
    known(guide, w)
        .and_then(|k| k.backup)
        .or_else(|| guide.backup_images.get(&crate::plan::image_repository(&w.image)).copied())
}

pub(super) fn is_deployment(w: &WorkloadFacts) -> bool {
    w.kind == "Deployment"
}

pub(super) fn is_statefulset(w: &WorkloadFacts) -> bool {
    w.kind == "StatefulSet"
}

/// `deployment/api`, `statefulset/postgres`, ... (usable with rollout, scale, logs, exec).
pub(super) fn kref(w: &WorkloadFacts) -> String {
    format!("{}/{}", w.kind.to_ascii_lowercase(), w.object_name)
}

/// A target for `kubectl exec` / `kubectl logs`: the first pod of a StatefulSet,
/// otherwise the workload reference.
pub(super) fn pod_target(w: &WorkloadFacts) -> String {
    if is_statefulset(w) {
        format!("{}-0", w.name)
    } else {
        kref(w)
    }
}

/// A reason or note of the rules in the guide's language: the Japanese the rules give for it (for
/// each `; `-joined part, and for the head of a part that ends in a parenthesis, such as the profiles
/// of `profile not active (vastbase)`), else the English.
pub(super) fn say(f: &Facts, lang: Lang, text: &str) -> String {
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

pub(super) fn pick(lang: Lang, en: &str, ja: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Ja => ja.to_string(),
    }
}
