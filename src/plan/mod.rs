//! The plan: one record per workload with every decision made (kind, names, ports, probes,
//! storage, settings and secrets, config files, network flows). Built from the compose model, the
//! rules and the command line's choices in passes, one module each, over a shared context; the
//! emitters only turn it into objects.
//!
//! | pass | module |
//! |---|---|
//! | 0. the choices a rules file could make, layered over the rules | `crate::choices` (`over`) |
//! | 1–2. services chosen, their kind and names, untranslated keys | `select` |
//! | 3–4. settings, secrets and the shared ones | `settings` |
//! | 5. each workload, from: | `workload` |
//! | — config files, mounts, claims and their StorageClasses | `files`, `storage` |
//! | — probes | `probes` |
//! | — flows and networks | `flows` |
//! | — ports, entry points, Ingress, routes | `entry` |
//! | — compose's container and pod keys, the Pod Security level | `pod`, `pod_security` |
//! | 6. ports clients name, shared network namespaces, flows within networks | `entry`, `flows` |
//! | 7. the findings checkov reports, with their reasons (added by `generate`) | `findings` |
//!
//! A pass imports only the shared `types` and `release` and the passes above it in this order
//! (select, settings, files, storage, probes, flows, entry, pod, pod_security, workload,
//! findings); this module runs them.

mod entry;
mod files;
pub mod findings;
mod flows;
mod pod;
mod pod_security;
mod probes;
mod release;
mod select;
mod settings;
mod storage;
mod types;
mod workload;

use std::collections::{BTreeMap, BTreeSet};

use crate::choices::Choices;
use crate::error::{Error, Result};
use crate::names::HostIndex;
use crate::read::project::Project;
use crate::rules::Rules;

pub use entry::nginx_seconds;
pub use files::envsubst;
pub use pod_security::BASELINE_CAPABILITIES;
pub use probes::literal_password;
pub use release::{image_parts, image_repository, image_tag, is_unpinned};
pub use select::coverage;
pub use settings::{carries_credential, placeholder, url_with_credentials};
pub use types::*;

/// What the command line decided, as the passes read it: the choices, and what follows from them
/// once (the Service type of the published ports, the claims' StorageClasses).
struct Run<'a> {
    pub choices: &'a Choices,
    /// `--expose TYPE` for the services that publish ports, when those are the entry points.
    pub published_service_type: Option<String>,
    pub classes: storage::Classes,
}

/// What every pass of a workload reads: the inputs, the run's choices, the chosen services and
/// their names, the settings' secret values, and the indexes built once.
struct Ctx<'a> {
    pub project: &'a Project,
    pub rules: &'a Rules,
    pub run: &'a Run<'a>,
    pub sel: &'a select::Selection<'a>,
    pub settings: &'a settings::Settings,
    /// Workload names, as a set.
    pub deployed: BTreeSet<&'a String>,
    /// Workload names, indexed for finding them in settings and texts.
    pub host_index: HostIndex,
    /// Members of each compose network.
    pub net_members: BTreeMap<&'a String, Vec<&'a String>>,
    /// What follows a Service's name in its fully qualified name (`.dify.svc.cluster.local`).
    pub fqdn_suffix: String,
}

impl<'a> Run<'a> {
    /// The run of `choices`: the published ports' Service type from the rules in force before the
    /// choices are layered (`rules`), the StorageClasses from those after (`layered`).
    fn new(choices: &'a Choices, rules: &Rules, layered: &Rules) -> Run<'a> {
        Run {
            choices,
            published_service_type: choices.published_service_type(rules),
            classes: storage::Classes::of(choices, layered),
        }
    }
}

impl<'a> Ctx<'a> {
    /// The context of the workload passes, once the selection and settings passes have run.
    fn new(
        project: &'a Project,
        rules: &'a Rules,
        run: &'a Run<'a>,
        sel: &'a select::Selection<'a>,
        settings: &'a settings::Settings,
    ) -> Ctx<'a> {
        Ctx {
            project,
            rules,
            run,
            sel,
            settings,
            deployed: sel.deployed.iter().collect(),
            host_index: HostIndex::new(&sel.deployed, &rules.namespace),
            net_members: sel.network_members(),
            fqdn_suffix: rules.dns.service_suffix(&rules.namespace),
        }
    }
}

/// Build the plan. Pure: everything it needs was read into `project`, and the command line's
/// `choices` were checked (`Choices::check`). The choices a rules file could equally make are
/// layered over the rules first (`Choices::over`). The checkov findings the plan accepts are
/// `findings::accepted`'s, added by `generate`.
pub fn plan(project: &Project, rules: &Rules, choices: &Choices) -> Result<Plan> {
    let names: Vec<String> = project.services.keys().cloned().collect();
    let layered = choices.over(rules, &names)?;
    let run = Run::new(choices, rules, &layered);
    let rules = &*layered;
    let mut warnings = project.warnings.clone();
    let mut sel = select::select(project, rules, &mut warnings)?;
    let mut settings = settings::settings(project, rules, &sel, &mut warnings)?;
    let mut each = std::mem::take(&mut settings.each);
    let ctx = Ctx::new(project, rules, &run, &sel, &settings);
    let (mut workloads, shared_claims) = workloads(&ctx, &mut each, &mut warnings)?;
    entry::ports_named_by_clients(&mut workloads, rules, &mut warnings);
    flows::join_network_namespaces(project, &mut workloads, &mut warnings);
    flows::within_networks(&mut workloads);
    for w in &mut workloads {
        objects(w, rules, choices);
    }
    workloads.sort_by(|a, b| a.name.cmp(&b.name));
    let images = image_facts(&workloads, &mut warnings);
    let mut plan = assemble(rules, &run, &mut sel, settings, workloads, shared_claims, warnings);
    plan.warnings.extend(storage::rwx_class_warning(&plan));
    plan.images = images;
    plan.pod_security = plan.workloads.iter().map(|w| w.pod_security).min().unwrap_or_default();
    plan.warnings.extend(privileged_namespace(&plan));
    Ok(plan)
}

/// Pass 5 over every chosen service, `each` its settings (freed as each workload takes them), with
/// the shared claims they mount; settings still naming a service run outside are refused.
fn workloads(
    ctx: &Ctx,
    each: &mut [BTreeMap<String, settings::Value>],
    warnings: &mut Vec<crate::warning::Warning>,
) -> Result<(Vec<Workload>, BTreeMap<String, Claim>)> {
    let mut workloads = Vec::new();
    let mut dangling: Vec<String> = Vec::new();
    let mut shared_claims: BTreeMap<String, Claim> = BTreeMap::new();
    for (i, env) in each.iter_mut().enumerate() {
        workloads.push(workload::workload(ctx, i, env, &mut shared_claims, &mut dangling, warnings)?);
        // Its settings now live in the workload: free them as we go (they are most of the memory).
        *env = BTreeMap::new();
    }
    if !dangling.is_empty() {
        return Err(Error::usage(
            format!("settings still point at services run outside the cluster: {}", dangling.join("; ")),
            "point them at your server, e.g. --set DB_HOST=db.example.com (and every URL that names the host)",
        ));
    }
    Ok((workloads, shared_claims))
}

/// The Namespace's enforcement follows the weakest pod: when that is "privileged", say so, and who
/// it is.
fn privileged_namespace(plan: &Plan) -> Option<crate::warning::Warning> {
    if plan.pod_security != PodSecurity::Privileged {
        return None;
    }
    let who: Vec<&str> =
        plan.workloads.iter().filter(|w| w.pod_security == PodSecurity::Privileged).map(|w| w.name.as_str()).collect();
    Some(crate::warning::Warning::new(
        crate::warning::WarningKind::Security,
        format!(
            "the namespace enforces only the \"privileged\" Pod Security level, because {} need more than \"baseline\" allows (added capabilities outside its list, or privileged); drop what they do not need from the compose file, or run them in a namespace of their own",
            who.join(", ")
        ),
    ))
}

/// The image facts of the workloads, once per image and tag; a warning for each tag the rules have
/// not read (its facts are the nearest known tag's), naming the services it is assumed for.
fn image_facts(
    workloads: &[Workload],
    warnings: &mut Vec<crate::warning::Warning>,
) -> Vec<crate::rules::images::ImageFacts> {
    let mut out: Vec<crate::rules::images::ImageFacts> = Vec::new();
    for f in workloads.iter().filter_map(|w| w.image_facts.as_ref()) {
        if !out.iter().any(|o| o.image == f.image && o.tag == f.tag) {
            out.push(f.clone());
        }
    }
    out.sort_by(|a, b| (&a.image, &a.tag).cmp(&(&b.image, &b.tag)));
    for f in &out {
        if let crate::rules::images::FactsFrom::Assumed { known } = &f.from {
            let users: Vec<&str> = workloads
                .iter()
                .filter(|w| w.image_facts.as_ref().is_some_and(|g| g.image == f.image && g.tag == f.tag))
                .map(|w| w.name.as_str())
                .collect();
            warnings.push(crate::warning::Warning::new(
                crate::warning::WarningKind::ImageFacts,
                format!(
                    "image {}:{} is a tag whose sources the rules have not read: {} {} the facts of {known}, the nearest known tag ({}); check them in that tag's Dockerfile and sources, then add the tag under `images:` in a rules file given with --mappings (docs/image-facts.md in compose2dify's repository){}",
                    f.image,
                    f.tag,
                    users.join(", "),
                    if users.len() == 1 { "assumes" } else { "assume" },
                    f.summary(),
                    if f.from_checkout_possible { ", or run from a Dify checkout of that release (docker/ beside api/ and web/)" } else { "" }
                ),
            ));
        }
    }
    out
}

/// `--registry`: every image of the workload's pod pulled from there.
fn pulled_from(w: &mut Workload, registry: Option<&str>) {
    let Some(registry) = registry else { return };
    w.image = release::with_registry(&w.image, registry);
    for f in &mut w.folded {
        f.image = release::with_registry(&f.image, registry);
    }
}

/// The last pass: what follows for the workload's objects once everything else is known (the
/// emitters only build them).
fn objects(w: &mut Workload, rules: &Rules, choices: &Choices) {
    let serves = w.one_shot.is_none();
    w.disruption_budget = w.replicas > 1 && w.joins.is_none();
    w.exposed = w.service_type != "ClusterIP" || w.ingress.is_some();
    let first_port = w.ports.first().copied();
    if let Some(route) = &mut w.route {
        route.port = first_port.unwrap_or(80);
    }
    let over_nodes = serves && w.replicas > 1 && w.kind != crate::rules::Kind::DaemonSet;
    w.spread_over.clear();
    for key in rules.defaults.topology_key.iter().filter(|_| over_nodes).chain(&w.spread) {
        if !w.spread_over.contains(key) {
            w.spread_over.push(key.clone());
        }
    }
    pod_security::assess(w);
    pulled_from(w, choices.registry());
    let p = &mut w.probe;
    p.startup = p.startup_seconds.map(|s| {
        let total = s.max(p.period_seconds);
        let period = 10.min(p.period_seconds).max(1);
        (period, (total + period - 1) / period)
    });
}

/// The plan's own fields beside its workloads: the rules' names, the run's classes, ranges and
/// secret source, and the release (the image tag of the first shared service, else of the first
/// service).
fn assemble(
    rules: &Rules,
    run: &Run,
    sel: &mut select::Selection,
    settings: settings::Settings,
    workloads: Vec<Workload>,
    shared_claims: BTreeMap<String, Claim>,
    warnings: Vec<crate::warning::Warning>,
) -> Plan {
    let mut omitted = std::mem::take(&mut sel.omitted);
    omitted.sort();
    let release = settings
        .shared_idx
        .first()
        .and_then(|&i| sel.chosen[i].0.image.as_deref())
        .or_else(|| sel.chosen.first().and_then(|(s, _)| s.image.as_deref()))
        .and_then(image_tag)
        .map(str::to_string);
    Plan {
        namespace: rules.namespace.clone(),
        instance: rules.instance.clone(),
        release,
        images: Vec::new(),
        cluster_ranges: run.choices.cluster_ranges.clone(),
        allowed_ranges: run.choices.allowed_ranges.clone(),
        secret_max_length: rules.secrets.max_length.iter().map(|(k, n)| (placeholder(k, rules), *n)).collect(),
        pod_security: PodSecurity::default(),
        config_map: rules.config_map.clone(),
        shared_secret: rules.shared_secret.clone(),
        shared_config: settings.shared_config,
        shared_secrets: settings.shared_secrets,
        shared_claims: shared_claims.into_values().collect(),
        workloads,
        omitted,
        warnings,
        storage_class: run.classes.rwo.clone().filter(|c| !c.is_empty()),
        rwx_storage_class: run.classes.rwx.clone().filter(|c| !c.is_empty()),
        rwx_storage_class_chosen: run.classes.rwx.is_some(),
        retain_annotations: rules.retain_annotations.clone(),
        dns: rules.dns.clone(),
        topology_key: rules.defaults.topology_key.clone(),
        findings: Vec::new(),
        secret_source: run.choices.secrets.clone(),
    }
}

#[cfg(test)]
mod tests;
