//! compose2dify: Dify's Docker Compose deployment → a complete kustomize tree.
//!
//! Data flows one way: `upstream` reads the docker/ folder into the `compose` model, `plan` applies
//! the `rules` and makes every decision, `emit` turns the plan into k8s-openapi objects in a `tree`,
//! and `write` puts the tree on disk (or `--check`s it).

pub mod choices;
pub mod commands;
pub mod emit;
pub mod error;
pub mod guide;
pub mod hash;
pub mod names;
pub mod plan;
pub mod read;
pub mod rules;
pub mod text;
pub mod tree;
pub mod warning;

use std::collections::HashMap;

use crate::choices::Choices;
use crate::guide::{ClaimFacts, Facts, Lang, SecretFacts, SecurityFacts, SecurityFinding, StorageFacts, WorkloadFacts};
use crate::plan::Plan;
use crate::read::project::Project;
use crate::rules::Rules;
use crate::tree::Tree;

pub const SETUP_SECRETS: &str = include_str!("assets/setup-secrets.sh");

/// The tool's version and the commit it was built from (build.rs), as `--version` and GENERATED.md
/// show it.
pub const TOOL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("COMPOSE2DIFY_COMMIT"), ")");

/// Everything the tree depends on besides the inputs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub lang: Lang,
    /// What the command line decides about the run, built and checked once by the caller
    /// (`Choices::check`).
    pub choices: Choices,
    /// The command-line choices the tree was made with (`--set KEY=VALUE`, …, one a line, shell
    /// quoted), recorded in GENERATED.md so `compose2dify upgrade` can make the next release's tree
    /// with exactly them.
    pub recorded: Vec<String>,
}

/// The complete output tree for a project: manifests, README, provenance, scripts.
pub fn generate(project: &Project, rules: &Rules, settings: Settings) -> error::Result<(Plan, Tree)> {
    let plan = plan_with_findings(project, rules, &settings.choices)?;
    let tree = tree_of(&plan, project, rules, settings).bounded()?;
    Ok((plan, tree))
}

/// `generate` for a caller that needs none of the project's services afterwards: they are freed
/// once planned, before the tree is made. They are the bulk of what was read (each service's
/// settings with the anchors they merge); without this a large stack's peak memory is the project,
/// the plan and the tree alive together.
pub fn generate_freeing(project: &mut Project, rules: &Rules, settings: Settings) -> error::Result<(Plan, Tree)> {
    let plan = plan_with_findings(project, rules, &settings.choices)?;
    drop(std::mem::take(&mut project.services));
    let tree = tree_of(&plan, project, rules, settings).bounded()?;
    Ok((plan, tree))
}

fn plan_with_findings(project: &Project, rules: &Rules, choices: &Choices) -> error::Result<Plan> {
    let mut plan = plan::plan(project, rules, choices)?;
    plan.findings = plan::findings::accepted(&plan, rules);
    Ok(plan)
}

/// The tree for a plan: everything `emit` writes, the scripts, the guide and the provenance.
fn tree_of(plan: &Plan, project: &Project, rules: &Rules, settings: Settings) -> Tree {
    let mut tree = Tree::default();
    emit::emit(plan, &mut tree);
    if plan.secret_source == rules::SecretSource::Files {
        tree.add("scripts/setup-secrets.sh", SETUP_SECRETS);
    }
    tree.add(".gitignore", "# Written by compose2dify: secrets made by scripts/setup-secrets.sh stay out of git.\nsecret.yaml\n**/secret.yaml\n# A run cut short leaves its staging folder; the next run removes it.\n.compose2dify-stage-*/\n");
    tree.add("README.md", guide::render(&facts(plan, rules, &settings), settings.lang));
    tree.add("GENERATED.md", provenance(project, rules, plan, &settings));
    tree
}

/// What the guide says of the tree: from the plan, the rules, the choices and their record.
fn facts(plan: &Plan, rules: &Rules, settings: &Settings) -> Facts {
    let (secret_files, secrets) = secret_facts(plan);
    let all_volumes = plan.workloads.iter().flat_map(|w| &w.volumes);
    let shared_claim = plan
        .shared_claims
        .first()
        .map(|c| claim_facts(c, all_volumes, &plan::VolumeSource::SharedClaim(c.name.clone())));
    let reasons = reasons_by_object(plan);
    Facts {
        namespace: plan.namespace.clone(),
        release: plan.release.clone(),
        guide: rules.guide.clone(),
        // A service running as a container of another's pod (network_mode) has no pod of its own
        // to describe, deploy or roll: its host's row says it runs there.
        workloads: plan
            .workloads
            .iter()
            .filter(|w| w.joins.is_none())
            .map(|w| workload_facts(plan, w, &reasons))
            .collect(),
        secret_files,
        secrets,
        secret_source: plan.secret_source.clone(),
        shared_claim,
        storage: storage_facts(plan),
        config_map: plan.config_map.clone(),
        omitted: plan.omitted.clone(),
        security_findings: plan
            .findings
            .iter()
            .map(|f| SecurityFinding {
                check_id: f.check_id.clone(),
                resource: f.resource.clone(),
                reason: f.reason.clone(),
            })
            .collect(),
        migration_job: plan.workloads.iter().flat_map(|w| &w.jobs).map(|j| j.name.clone()).next(),
        cluster_domain: plan.dns.cluster_domain.clone(),
        spread_key: plan.topology_key.clone(),
        inherit_env_source: plan.workloads.iter().filter(|w| !w.inherited.is_empty()).map(|w| w.name.clone()).collect(),
        public_urls: public_url_facts(plan, rules),
        ja: rules.ja.clone().into_iter().chain(settings.choices.ja()).collect(),
        choices: settings.recorded.clone(),
        cluster_ranges: plan.cluster_ranges.clone(),
        allowed_ranges: plan.allowed_ranges.clone(),
        pod_security: guide::PodSecurityView {
            level: plan.pod_security.name().to_string(),
            not_restricted: plan
                .workloads
                .iter()
                .flat_map(|w| {
                    // A Job runs its workload's pod: what keeps the main container keeps it.
                    let main = w.restricted_gaps.iter().filter(|g| g.init.is_none());
                    let jobs = w.jobs.iter().flat_map(move |j| main.clone().map(|g| (j.name.clone(), g.clone())));
                    w.restricted_gaps.iter().map(|g| (w.name.clone(), g.clone())).chain(jobs).collect::<Vec<_>>()
                })
                .collect(),
        },
        operations: operations_facts(plan, rules, settings),
        fqdn_users: plan
            .workloads
            .iter()
            .filter(|w| {
                let suffix = format!(".{}", plan.dns.service_suffix(&plan.namespace));
                w.files.values().any(|t| t.contains(&suffix))
            })
            .map(|w| w.name.clone())
            .collect(),
    }
}

/// The images list, the unpinned images, and what `--ha` and `--autoscale` do (or did) to the tree.
fn operations_facts(plan: &Plan, rules: &Rules, settings: &Settings) -> guide::OperationsView {
    let rule = |w: &plan::Workload| rules.service(&w.upstream);
    let own_pods = || plan.workloads.iter().filter(|w| w.joins.is_none() && w.one_shot.is_none());
    guide::OperationsView {
        images: emit::kustomize_images(plan).into_iter().map(|i| i.name).collect(),
        unpinned: plan.unpinned().into_iter().map(|i| (plan::image_parts(i).0.to_string(), i.to_string())).collect(),
        registry: settings.choices.registry().map(str::to_string),
        ha: settings.recorded.iter().any(|c| c == "--ha" || c == "--autoscale"),
        ha_workloads: own_pods().filter(|w| rule(w).is_some_and(|r| r.ha.is_some())).map(|w| w.name.clone()).collect(),
        single: own_pods().filter(|w| rule(w).is_none_or(|r| r.ha.is_none())).map(|w| w.name.clone()).collect(),
        autoscaled: own_pods().filter(|w| w.autoscale.is_some()).map(|w| w.name.clone()).collect(),
        autoscalable: own_pods()
            .filter(|w| rule(w).is_some_and(|r| r.autoscale.is_some()))
            .map(|w| w.name.clone())
            .collect(),
        // Only the workloads this release has (api-websocket arrived in 1.14).
        object_storage: rules.guide.object_storage.clone().map(|mut o| {
            o.workloads.retain(|name| plan.workloads.iter().any(|w| w.name == *name));
            o
        }),
    }
}

/// Every Secret the pods read, its keys and the placeholders (shared values) behind each, and the
/// tree's `secret.yaml.example` files (none when an operator fetches them from a store).
fn secret_facts(plan: &Plan) -> (Vec<String>, Vec<SecretFacts>) {
    let mut secrets = vec![(plan.shared_secret.clone(), "base".to_string(), &plan.shared_secrets)];
    secrets.extend(
        plan.workloads
            .iter()
            .filter(|w| !w.secrets.is_empty())
            .map(|w| (format!("{}-secret", w.name), format!("services/{}", w.name), &w.secrets)),
    );
    let templates = !matches!(plan.secret_source, rules::SecretSource::ExternalSecrets { .. });
    let secret_files: Vec<String> =
        secrets.iter().filter(|_| templates).map(|(_, dir, _)| format!("{dir}/secret.yaml.example")).collect();
    let secrets: Vec<SecretFacts> = secrets
        .into_iter()
        .map(|(name, _, data)| SecretFacts {
            name,
            keys: data
                .iter()
                .map(|(k, v)| {
                    let vars = commands::secrets::tokens(v)
                        .iter()
                        .map(|t| t.trim_start_matches("CHANGE_ME_").to_string())
                        .collect();
                    (k.clone(), vars)
                })
                .collect(),
        })
        .collect();
    (secret_files, secrets)
}

/// A claim as the guide shows it, with where the first volume of `source` mounts it.
fn claim_facts<'a>(
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
        // emit's init container that copies the seed files onto the claim at every start.
        seed_init: volume.filter(|v| !v.seed.is_empty()).map(|v| format!("seed-{}", v.name).chars().take(63).collect()),
        host: volume.and_then(|v| v.host.clone()),
    }
}

/// What the guide says of a workload's HTTPRoute.
fn route_facts(plan: &Plan, r: &plan::Route) -> guide::RouteFacts {
    let g = &r.gateway;
    guide::RouteFacts {
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

/// What the guide says of one workload.
fn workload_facts(plan: &Plan, w: &plan::Workload, reasons: &HashMap<(&str, &str), &str>) -> WorkloadFacts {
    let mut reached_by: Vec<String> = plan
        .workloads
        .iter()
        .filter(|o| o.talks_to.contains_key(&w.name))
        .flat_map(|o| {
            let jobs = o.jobs.iter().filter(|j| !j.never_calls.contains(&w.name)).map(|j| j.name.clone());
            std::iter::once(o.name.clone()).chain(jobs)
        })
        .collect();
    // Outside: a Service of its own type, an Ingress, published ports, or a Gateway's route.
    if w.exposed || !w.published.is_empty() || w.route.is_some() {
        reached_by.insert(0, "outside".into());
    }
    WorkloadFacts {
        secret_keys: w
            .secrets
            .keys()
            .chain(plan.shared_secrets.keys().filter(|_| w.uses_shared))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        reached_by,
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
        security: security_facts(&w.security, w.security_note.clone().or_else(|| finding_reason(plan, reasons, w))),
        init_security: w
            .folded
            .iter()
            .map(|f| (f.name.clone(), security_facts(&f.security, f.reason.clone())))
            .collect(),
        http_probe: http_probe(w),
        egress: (w.egress_only_to.is_some() || w.internet_except.is_some()).then(|| guide::EgressFacts {
            reaches: w
                .talks_to
                .keys()
                .filter(|t| w.egress_only_to.as_ref().is_none_or(|m| m.contains(*t)))
                .filter(|t| plan.workloads.iter().any(|o| &o.name == *t && o.serves()))
                .cloned()
                .collect(),
            internet_except: w.internet_except.clone(),
        }),
        proxy_denies: proxy_denies(w),
        pdb: w.disruption_budget,
        env: w
            .config
            .keys()
            .chain(w.secrets.keys())
            .chain(plan.shared_config.keys().filter(|_| w.uses_shared))
            .chain(plan.shared_secrets.keys().filter(|_| w.uses_shared))
            .cloned()
            .collect(),
    }
}

/// An HTTP probe's path and port, and whether the workload's own config answers it (nginx's
/// `location = /healthz { return 200; }`) rather than passing it on.
fn http_probe(w: &plan::Workload) -> Option<(String, u16, bool)> {
    match &w.probe.action {
        plan::ProbeAction::Http { path, port } => {
            let local = format!("location = {path} {{");
            let answered = w.files.values().any(|t| {
                t.split(local.as_str()).nth(1).is_some_and(|rest| {
                    rest.split('}').next().is_some_and(|b| b.contains("return ") && !b.contains("proxy_pass"))
                })
            });
            Some((path.clone(), *port, answered))
        }
        _ => None,
    }
}

/// The fenced block of GENERATED.md that holds the choices, one a line.
pub const CHOICES_FENCE: &str = "```choices";
const CHOICES_FENCE_END: &str = "```";

/// The choices recorded in a GENERATED.md: the one fenced block right under its `## Choices`
/// heading (a fence anywhere else, in a forged name, is not read); `None` when it has none.
pub fn recorded_choices(generated: &str) -> Option<Vec<String>> {
    let section = generated.split("\n## ").skip(1).find(|s| s.starts_with("Choices\n"))?;
    let mut lines = section.lines().skip(1).skip_while(|l| !l.starts_with("```"));
    if lines.next()? != CHOICES_FENCE {
        return None;
    }
    let mut out = Vec::new();
    for line in lines {
        if line == CHOICES_FENCE_END {
            return Some(out);
        }
        if !line.trim().is_empty() {
            out.push(line.to_string());
        }
    }
    None
}

/// Where each public-URL setting of the rules sits in the tree, with its value (the shared
/// ConfigMap's first).
fn public_url_facts(plan: &Plan, rules: &Rules) -> Vec<guide::PublicUrlFacts> {
    let mut out = Vec::new();
    for key in rules.public_url.keys() {
        let mut value = plan.shared_config.get(key).cloned();
        let mut files = Vec::new();
        if value.is_some() {
            files.push("base/configmap.yaml".to_string());
        }
        for w in &plan.workloads {
            if let Some(v) = w.config.get(key) {
                value.get_or_insert_with(|| v.clone());
                files.push(format!("services/{}/configmap.yaml", w.name));
            }
        }
        if let Some(value) = value {
            out.push(guide::PublicUrlFacts { key: key.clone(), value, files });
        }
    }
    out
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

/// The reason the rules give for the workload running as root or with capabilities (its accepted
/// checkov findings), when it does.
/// The accepted findings' reasons by check and `namespace.object` (the first of a kind wins), so
/// each workload's row is a lookup rather than a scan of every finding.
fn reasons_by_object(plan: &Plan) -> HashMap<(&str, &str), &str> {
    let mut out = HashMap::new();
    for f in &plan.findings {
        let object = f.resource.split_once('.').map_or(f.resource.as_str(), |(_, rest)| rest);
        out.entry((f.check_id.as_str(), object)).or_insert(f.reason.as_str());
    }
    out
}

fn finding_reason(plan: &Plan, reasons: &HashMap<(&str, &str), &str>, w: &plan::Workload) -> Option<String> {
    let object = w.one_shot.as_ref().map_or(&w.name, |o| &o.object_name);
    let object = format!("{}.{object}", plan.namespace);
    // Only the main container's own: a folded init container's findings are its own row's.
    let root = (w.security.run_as_non_root != Some(true)).then_some("CKV_K8S_23");
    let caps = w.security.add_capabilities.as_ref().filter(|c| !c.is_empty()).map(|_| "CKV_K8S_25");
    let found: Vec<&str> =
        root.iter().chain(caps.iter()).filter_map(|check| reasons.get(&(*check, object.as_str())).copied()).collect();
    (!found.is_empty()).then(|| found.join("; "))
}

/// Storage as the plan decided it, for the guide.
fn storage_facts(plan: &Plan) -> StorageFacts {
    let shared_claim_users = plan
        .shared_claims
        .first()
        .map(|c| {
            plan.workloads
                .iter()
                .flat_map(|w| w.volumes.iter().map(move |v| (w, v)))
                .filter(|(_, v)| v.source == plan::VolumeSource::SharedClaim(c.name.clone()))
                .flat_map(|(w, v)| v.mounts.iter().map(move |m| (w.name.clone(), m.path.clone())))
                .collect()
        })
        .unwrap_or_default();
    StorageFacts {
        rwo_class: plan.storage_class.clone(),
        rwx_class: plan.rwx_storage_class.clone(),
        rwx_class_chosen: plan.rwx_storage_class_chosen,
        claim_classes: plan
            .shared_claims
            .iter()
            .chain(plan.workloads.iter().flat_map(|w| &w.claims))
            .map(|c| (c.name.clone(), c.storage_class.clone()))
            .collect(),
        shared_claim_users,
        recreated: plan
            .workloads
            .iter()
            .filter(|w| w.recreate && !w.claims.is_empty())
            .map(|w| w.name.clone())
            .collect(),
        retain_annotations: plan.retain_annotations.iter().map(|(k, v)| format!("{k}: {v}")).collect(),
        instance: plan.instance.clone(),
    }
}

/// The destinations a squid config denies first: the `dst` ACLs named by its first `http_access`
/// line, when that line denies.
fn proxy_denies(w: &plan::Workload) -> Vec<String> {
    for text in w.files.values() {
        let Some(first) = text.lines().map(str::trim).find(|l| l.starts_with("http_access ")) else { continue };
        let Some(rule) = first.strip_prefix("http_access deny ") else { continue };
        let mut blocks = Vec::new();
        for acl in rule.split_whitespace().filter(|a| !a.starts_with('!')) {
            let prefix = format!("acl {acl} dst ");
            for line in text.lines().filter_map(|l| l.trim().strip_prefix(prefix.as_str())) {
                blocks.extend(line.split_whitespace().take_while(|b| !b.starts_with('#')).map(str::to_string));
            }
        }
        if !blocks.is_empty() {
            return blocks;
        }
    }
    Vec::new()
}

/// GENERATED.md's `## Image facts`: where the facts of each image tag the rules know came from, and
/// each assumption said out loud.
fn image_facts(out: &mut String, plan: &Plan) {
    if plan.images.is_empty() {
        return;
    }
    let assumed = plan.warnings.iter().filter(|w| w.kind == warning::WarningKind::ImageFacts);
    out.push_str(
        "\n## Image facts\n\nThe users, capabilities and probes of these images follow the facts of their tags:\n\n",
    );
    for f in &plan.images {
        out.push_str(&format!("- `{}:{}`: {}; {}\n", f.image, f.tag, f.summary(), f.from.describe()));
    }
    for w in assumed {
        out.push_str(&format!("\nWarning: {}\n", w.text));
    }
}

/// `GENERATED.md`: which release and inputs the tree was made from, and by which tool version.
fn provenance(project: &Project, rules: &Rules, plan: &Plan, settings: &Settings) -> String {
    let mut out = String::from("# Generated by compose2dify\n\nDo not edit the files listed in `.compose2dify-manifest`: re-run compose2dify instead.\nFiles not listed there (your `secret.yaml` files, overlays) are never touched.\n\n");
    out.push_str(&format!("- Tool: compose2dify {TOOL_VERSION}\n"));
    // A release is the application's (Dify's, from its images' tags); a generic stack has none.
    if rules.guide.product.is_some() {
        out.push_str(&format!("- Release: {}\n", plan.release.as_deref().unwrap_or("unknown")));
    }
    out.push_str(&format!(
        "- Profiles: {}\n",
        if project.profiles.is_empty() {
            "(none)".to_string()
        } else {
            text::escape_hidden(&project.profiles.join(", ")).into()
        }
    ));
    if !project.merged.is_empty() {
        let files: Vec<String> =
            std::iter::once(&project.compose_name).chain(&project.merged).map(|f| text::code_span(f)).collect();
        let how = if project.found_override {
            " (the last is the override file found beside the first, merged as `docker compose` does; `--no-override` leaves it out)"
        } else {
            ", merged in this order"
        };
        out.push_str(&format!("- Compose files: {}{how}\n", files.join(", ")));
    }
    out.push_str(&format!("- Rules: sha256 {}\n", settings.choices.fingerprint(rules)));
    out.push_str(&format!(
        "\n## Choices\n\n`compose2dify upgrade k8s NEW/docker-compose.yaml` makes another release's tree with exactly these:\n\n{CHOICES_FENCE}\n{}{CHOICES_FENCE_END}\n",
        settings.recorded.iter().map(|c| format!("{}\n", text::escape_hidden(c))).collect::<String>()
    ));
    image_facts(&mut out, plan);
    if !plan.unpinned().is_empty() {
        out.push_str("\n## Unpinned images\n\nEvery start may pull another build of these (`:latest` or no tag): pin a digest in your overlay's `images:` (the tree's README, Images).\n\n");
        for image in plan.unpinned() {
            out.push_str(&format!("- ⚠ {}\n", text::code_span(image)));
        }
    }
    out.push_str("\n## Inputs (sha256)\n\n");
    for (name, hash) in &project.inputs {
        out.push_str(&format!("- {} {hash}\n", text::code_span(name)));
    }
    if !plan.omitted.is_empty() {
        out.push_str("\n## Upstream services not deployed\n\n");
        for (name, reason) in &plan.omitted {
            out.push_str(&format!("- {}: {}\n", text::code_span(name), text::escape_hidden(reason)));
        }
    }
    out
}
