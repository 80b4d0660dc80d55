//! Pass 1: which upstream services become workloads, under which names, and every name a workload
//! answers to; pass 2: every key of every chosen service is translated or said.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::names::HostMap;
use crate::read::compose::Service;
use crate::read::project::Project;
use crate::rules::{FoldRule, Kind, Rules, ServiceRule};
use crate::warning::{Warning, WarningKind};

/// The services that become workloads, with their rules, and what the later passes look up.
pub(super) struct Selection<'a> {
    /// Services that become workloads, in compose order, each with its rule (or an empty one).
    pub chosen: Vec<(&'a Service, &'a ServiceRule)>,
    /// The kind of each chosen service: its rule's, else what compose says (a one-shot task,
    /// `deploy.mode: global`), else the rules' default.
    pub kinds: Vec<Kind>,
    /// Every name a service answers to (its own, aliases, container name, hostname) → workload.
    pub hosts: HostMap,
    /// Upstream service name → workload name, for every service (chosen or not).
    pub k8s_name: BTreeMap<String, String>,
    /// Workload names of services the rules run outside the cluster.
    pub externals: Vec<String>,
    /// Services folded into the pods that mount their storage, with the fold rule and its reason.
    pub folded: Vec<(&'a Service, &'a FoldRule, Option<String>)>,
    /// Upstream services left out, with the reason.
    pub omitted: Vec<(String, String)>,
    /// Workload names, in the order of `chosen`.
    pub deployed: Vec<String>,
    /// The facts of each chosen service's image tag, when the rules know the image (resolved once:
    /// the settings pass reads what the image reads, the workload pass its user and features).
    pub image_facts: Vec<Option<crate::rules::images::ImageFacts>>,
}

impl Selection<'_> {
    /// The workload name of a chosen service.
    pub fn name(&self, svc: &Service) -> &str {
        &self.k8s_name[&svc.name]
    }

    /// Members (workload names) of each compose network.
    pub fn network_members(&self) -> BTreeMap<&String, Vec<&String>> {
        let mut members: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
        for (svc, _) in &self.chosen {
            for net in svc.networks.keys() {
                members.entry(net).or_default().push(&self.k8s_name[&svc.name]);
            }
        }
        members
    }
}

pub(super) fn select<'a>(project: &'a Project, rules: &'a Rules, warnings: &mut Vec<Warning>) -> Result<Selection<'a>> {
    // Services others wait to complete are one-shot tasks.
    let awaited: BTreeSet<&str> = project
        .services
        .values()
        .flat_map(|s| &s.depends_on)
        .filter(|d| d.condition == "service_completed_successfully")
        .map(|d| d.service.as_str())
        .collect();
    let mut sel = Selection {
        chosen: Vec::new(),
        kinds: Vec::new(),
        hosts: HostMap::default(),
        k8s_name: BTreeMap::new(),
        externals: Vec::new(),
        folded: Vec::new(),
        omitted: Vec::new(),
        deployed: Vec::new(),
        image_facts: Vec::new(),
    };
    for svc in project.services.values() {
        let rule = rules.service(&svc.name);
        sel.add_names(svc, rule, rules);
        let kind = match rule.and_then(|r| r.kind) {
            Some(kind) => kind,
            None => compose_kind(svc, &awaited, warnings).unwrap_or(rules.defaults.kind),
        };
        sel.choose(svc, rule, kind, project, rules, warnings);
    }
    let mut seen_names = BTreeSet::new();
    for (svc, _) in &sel.chosen {
        let name = &sel.k8s_name[&svc.name];
        if !seen_names.insert(name.clone()) {
            return Err(Error::usage(
                format!("two services become the workload `{name}` (one of them is `{}`)", svc.name),
                "give one of them another `name:` in a rules file (--mappings)",
            ));
        }
    }
    sel.deployed = sel.chosen.iter().map(|(s, _)| sel.k8s_name[&s.name].clone()).collect();
    warnings.extend(coverage(project, rules, sel.chosen.iter().map(|(s, _)| *s)));
    sel.image_facts = sel
        .chosen
        .iter()
        .map(|(svc, _)| {
            let image = svc.image.as_deref().unwrap_or_default();
            crate::rules::images::resolve(
                &rules.images,
                &super::image_repository(image),
                super::image_tag(image),
                &project.checkout,
            )
        })
        .collect();
    Ok(sel)
}

impl<'a> Selection<'a> {
    /// The workload name of a service, and every name it answers to (its own, its networks'
    /// aliases, container name, hostname and the rule's host aliases).
    fn add_names(&mut self, svc: &Service, rule: Option<&ServiceRule>, rules: &Rules) {
        let name = rules.workload_name(&svc.name);
        self.hosts.insert(&svc.name, &name);
        let rule_aliases = rule.map(|r| r.host_aliases.as_slice()).unwrap_or_default();
        for alias in svc
            .networks
            .values()
            .flatten()
            .chain(svc.container_name.iter())
            .chain(svc.hostname.iter())
            .chain(rule_aliases)
        {
            self.hosts.insert(alias, &name);
        }
        self.k8s_name.insert(svc.name.clone(), name);
    }

    /// A service of `kind` chosen as a workload, or left out with the reason (a profile not
    /// active, no image, the rules' kind: omitted, folded, run outside).
    fn choose(
        &mut self,
        svc: &'a Service,
        rule: Option<&'a ServiceRule>,
        kind: Kind,
        project: &Project,
        rules: &Rules,
        warnings: &mut Vec<Warning>,
    ) {
        static EMPTY_RULE: std::sync::OnceLock<ServiceRule> = std::sync::OnceLock::new();
        let reasons = &rules.defaults.reasons;
        if !project.active.contains(&svc.name) && !matches!(kind, Kind::Omit | Kind::Fold | Kind::External) {
            self.omitted
                .push((svc.name.clone(), format!("{} ({})", reasons.profile_inactive, svc.profiles.join(", "))));
            return;
        }
        match kind {
            Kind::Omit | Kind::Fold | Kind::External => {
                let reason = rule.and_then(|r| r.reason.clone()).unwrap_or_else(|| reasons.left_out.clone());
                self.omitted.push((svc.name.clone(), reason));
                if kind == Kind::External {
                    self.externals.push(self.k8s_name[&svc.name].clone());
                }
                if let (Kind::Fold, Some(fold), Some(_)) = (kind, rule.and_then(|r| r.fold.as_ref()), &svc.image) {
                    self.folded.push((svc, fold, rule.and_then(|r| r.reason.clone())));
                }
            }
            _ if svc.image.is_none() => {
                warnings.push(
                    Warning::new(
                        WarningKind::LeftOut,
                        format!(
                            "service `{}` has no image; it is left out — give it an image in a rules file",
                            svc.name
                        ),
                    )
                    .service(&svc.name),
                );
                self.omitted.push((svc.name.clone(), reasons.no_image.clone()));
            }
            _ => {
                self.chosen.push((svc, rule.unwrap_or_else(|| EMPTY_RULE.get_or_init(ServiceRule::default))));
                self.kinds.push(kind);
            }
        }
    }
}

/// The kind compose's own keys ask for: `deploy.mode: global` → DaemonSet; `restart: "no"` (or a
/// restart policy of `none`) on a service with no ports, or a service others wait to complete →
/// Job. `on-failure` stays a Deployment: it is how compose files keep servers up. A server with
/// `restart: "no"` (it has ports) stays a Deployment too, with a warning. None: the rules' default.
pub(super) fn compose_kind(svc: &Service, awaited: &BTreeSet<&str>, warnings: &mut Vec<Warning>) -> Option<Kind> {
    if svc.global {
        return Some(Kind::DaemonSet);
    }
    if awaited.contains(svc.name.as_str()) {
        return Some(Kind::Job);
    }
    if svc.restart.as_deref() != Some("no") {
        return None;
    }
    if svc.ports.is_empty() && svc.expose.is_empty() {
        return Some(Kind::Job);
    }
    warnings.push(Warning::new(WarningKind::Pod, format!(
        "service `{}` has `restart: \"no\"` but serves ports, so it runs as a Deployment, which Kubernetes restarts when it exits",
        svc.name
    )).service(&svc.name));
    None
}

/// Pass 2, and the release report's list of what the rules do not cover yet: of `services`, each one
/// the rules do not name (when they name services at all: it is translated generically), each key
/// neither translated nor ignored by a rule (with where it is written), and each top-level key
/// that is not translated. The plan says these of the services it deploys; `diff` of every service.
pub fn coverage<'a>(
    project: &Project,
    rules: &Rules,
    services: impl IntoIterator<Item = &'a Service> + Clone,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for svc in services.clone() {
        if !rules.services.is_empty() && rules.service(&svc.name).is_none() {
            let text = format!(
                "service `{}` is not covered by the rules; translated generically as `{}`",
                svc.name,
                rules.workload_name(&svc.name)
            );
            out.push(Warning::new(WarningKind::Uncovered, text).service(&svc.name));
        }
    }
    for svc in services {
        for key in svc.unread.iter().filter(|k| !rules.ignored_keys.contains_key(*k)) {
            let place = project.unread_places.get(&(svc.name.clone(), key.clone())).cloned();
            let text = format!("service `{}`: key `{key}` is not translated", svc.name);
            out.push(Warning::new(WarningKind::Untranslated, text).service(&svc.name).key(key).at(place));
        }
    }
    for key in &project.unread_top {
        out.push(Warning::new(WarningKind::Untranslated, format!("top-level key `{key}` is not translated")).key(key));
    }
    out
}
