//! Pass 5: one chosen service → one workload, from its settings, mounts, security, ports,
//! commands, probe, flows and jobs (each from its own pass module).

use std::collections::BTreeMap;

use crate::choices::Choices;
use crate::error::{Error, Result};
use crate::read::compose::Service;
use crate::rules::images::{ImageFacts, User};
use crate::rules::{Kind, Security, ServiceRule};
use crate::warning::{Warning, WarningKind};

use super::entry::{ingress, ports, route};
use super::files::{folded_inits, name_fqdns};
use super::flows::{flows, proxy_denies};
use super::pod::{
    compose_resources, compose_security, group_ids, node_affinity, one_shot, pod_hostname, rollout, spread_keys,
};
use super::probes::{answered_by_files, probe};
use super::release::{image_tag, name_suffix};
use super::settings::{checksum, scrub_secrets, split, Value};
use super::storage::{claim_settings, dedupe_claims, mounts, mounts_rwo_claim, writable_paths};
use super::{Claim, Ctx, Job, Volume, VolumeSource, Workload};

/// The workload of the `i`th chosen service, with `env` its settings (pass 3). Shared claims it
/// mounts are added to `shared_claims`; settings naming a service run outside go to `dangling`.
pub(super) fn workload(
    ctx: &Ctx,
    i: usize,
    env: &BTreeMap<String, Value>,
    shared_claims: &mut BTreeMap<String, Claim>,
    dangling: &mut Vec<String>,
    warnings: &mut Vec<Warning>,
) -> Result<Workload> {
    let (svc, rule) = ctx.sel.chosen[i];
    let rules = ctx.rules;
    let name = ctx.sel.name(svc).to_string();
    let uses_shared = ctx.settings.shared_idx.contains(&i);
    let (config, secrets) = own_settings(ctx, uses_shared, env);
    let env_plain: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.clone(), v.plain.clone())).collect();
    let kind = ctx.sel.kinds[i];
    refuse_jobs_of_stateful_set(kind, svc, rule)?;
    let mut storage = mounts(ctx, (svc, rule), &name, kind, &env_plain, shared_claims, warnings);
    let image_facts = ctx.sel.image_facts[i].clone();
    let (security, probe_rule, security_note) = security_of_image(rule, image_facts.as_ref(), rules);
    let mut compose_findings = BTreeMap::new();
    let security = compose_security(svc, security, warnings, &mut compose_findings);
    writable_paths(&security, &mut storage.volumes);
    dedupe_claims(&mut storage.claims, &mut storage.volumes, &name, warnings);
    let folded_here = folded_inits(svc, &ctx.sel.folded, &storage.volumes, rules, &ctx.sel.hosts);
    let (ports, udp_ports, published) = ports(svc, rule, rules, warnings);
    let (command, args) = commands(ctx, svc, rule, env);
    let probe = probe(probe_rule, svc, &ports, rules, env, &ctx.settings.secret_values, &ctx.sel.hosts, warnings);
    let resources = rule.resources.clone().unwrap_or_else(|| compose_resources(svc, &rules.defaults.resources));
    let cmd_text = command.iter().chain(args.iter()).flatten().cloned().collect::<Vec<_>>().join(" ");
    let flows = flows(ctx, svc, &name, env, &ctx.settings.inherited[i], &storage.files, &cmd_text, dangling);
    let jobs = jobs(rule, &name, image_tag(svc.image.as_deref().unwrap_or_default()), &storage.volumes);
    let (internet_except, egress_allowed) = egress(rule, ctx.run.choices);
    let ingress = rule.ingress.as_ref().map(|i| ingress(i, rule, &env_plain, warnings, &svc.name));
    let route = rule.gateway.as_ref().map(|g| route(g, rule, &env_plain, warnings, &svc.name));
    let mut w = Workload {
        upstream: svc.name.clone(),
        name: name.clone(),
        kind,
        role: rule.role.clone(),
        description: rule.description.clone(),
        replicas: rule.replicas.or(svc.replicas).unwrap_or(rules.defaults.replicas),
        image: svc.image.clone().unwrap_or_default(),
        image_facts,
        pod_security: Default::default(),
        restricted_gaps: Vec::new(),
        command,
        args,
        ports,
        udp_ports,
        service_type: service_type(ctx, rule, &published),
        published,
        probe,
        uses_shared,
        config,
        secrets,
        volumes: storage.volumes,
        claims: storage.claims,
        files: storage.files,
        binary_files: storage.binary_files,
        fqdn_in_files: false,
        answers_probe_itself: false,
        proxy_denies: Vec::new(),
        resources,
        security,
        checksum: String::new(),
        talks_to: flows.talks_to,
        networks: flows.networks,
        egress_only_to: flows.egress_only_to,
        internet_except,
        egress_allowed,
        inherited: ctx.settings.inherited[i].clone(),
        jobs,
        init: rule.init.iter().map(|(n, argv)| (n.clone(), argv.clone())).collect(),
        share_process_namespace: rule.share_process_namespace,
        folded: folded_here,
        security_note,
        ingress,
        route,
        recreate: false,
        working_dir: svc.working_dir.clone().filter(|d| !d.is_empty()),
        stdin: svc.stdin_open,
        tty: svc.tty,
        hostname: pod_hostname(svc, kind, warnings),
        supplemental_groups: group_ids(svc, warnings),
        compose_findings,
        one_shot: None,
        node_affinity: node_affinity(svc, warnings),
        spread: spread_keys(svc, warnings),
        rollout: rollout(svc, kind, warnings),
        joins: None,
        disruption_budget: false,
        exposed: false,
        spread_over: Vec::new(),
        service_account_annotations: rule.service_account_annotations.clone(),
        autoscale: rule.autoscale.clone().filter(|_| ctx.run.choices.autoscale && kind == Kind::Deployment),
    };
    finish(&mut w, svc, rule, ctx, shared_claims, warnings);
    Ok(w)
}

/// The workload's own settings, as ConfigMap and Secret entries: all of them, or those the shared
/// ones (which it also reads) do not hold.
fn own_settings(
    ctx: &Ctx,
    uses_shared: bool,
    env: &BTreeMap<String, Value>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    if uses_shared {
        split(env.iter().filter(|(k, _)| !ctx.settings.shared.contains_key(*k)))
    } else {
        split(env.iter())
    }
}

/// A StatefulSet's claims are its pods' own: a Job of the rules cannot share them.
fn refuse_jobs_of_stateful_set(kind: Kind, svc: &Service, rule: &ServiceRule) -> Result<()> {
    if kind == Kind::StatefulSet && !rule.jobs.is_empty() {
        return Err(Error::usage(
            format!("the rules give `{}` a Job, but it is a StatefulSet, whose claims a Job cannot share", svc.name),
            "move the `jobs:` rule to a Deployment's service",
        ));
    }
    Ok(())
}

/// The Service type: the rule's, else `--expose TYPE` for a service that publishes ports (when
/// those are the entry points), else the rules' default.
fn service_type(ctx: &Ctx, rule: &ServiceRule, published: &[(u16, Option<u16>, &str)]) -> String {
    rule.service_type
        .clone()
        .or_else(|| ctx.run.published_service_type.clone().filter(|_| !published.is_empty()))
        .unwrap_or_else(|| ctx.rules.defaults.service_type.clone())
}

/// A fenced workload's egress (its rule's `egress`): the blocks outside the cluster it may not
/// reach, with the cluster's own ranges (`--cluster-cidr`, `--service-cidr`, never "the
/// internet"), and the ranges it may reach all the same (`--allow-egress`).
fn egress(rule: &ServiceRule, choices: &Choices) -> (Option<Vec<String>>, Vec<String>) {
    let Some(e) = &rule.egress else { return (None, Vec::new()) };
    let mut blocks = e.internet_except.clone();
    blocks.extend(choices.cluster_ranges.iter().filter(|r| !e.internet_except.contains(r)).cloned());
    (Some(blocks), choices.allowed_ranges.clone())
}

/// The rules' security, probe rule and note for the service: the defaults, the image's own user
/// (from its tag's facts), the service's rule, then the rules for the features its image has
/// (`when:`) layered over them.
fn security_of_image<'a>(
    rule: &'a ServiceRule,
    facts: Option<&ImageFacts>,
    rules: &crate::rules::Rules,
) -> (Security, Option<&'a crate::rules::ProbeRule>, Option<String>) {
    let user = match facts.map(|f| &f.user) {
        Some(User::Id { uid, gid }) => {
            Security { run_as_user: Some(*uid), run_as_group: *gid, run_as_non_root: Some(true), ..Security::default() }
        }
        _ => Security::default(),
    };
    let mut security =
        rules.defaults.security.layered(&user).layered(rule.security.as_ref().unwrap_or(&Security::default()));
    let mut probe_rule = rule.probe.as_ref();
    let mut security_note = rule.security_note.clone();
    for when in rule.when.iter().filter(|w| facts.is_some_and(|f| f.facts.contains(&w.fact))) {
        security = security.layered(&when.security);
        let mut caps = security.add_capabilities.take().unwrap_or_default();
        for cap in &when.add_capabilities {
            if !caps.contains(cap) {
                caps.push(cap.clone());
            }
        }
        security.add_capabilities = Some(caps);
        probe_rule = when.probe.as_ref().or(probe_rule);
        security_note = when.security_note.clone().or(security_note);
    }
    (security, probe_rule, security_note)
}

/// Commands: compose's unless the rules replace them; hosts renamed, and secret values become
/// `$(VAR)` references to the setting that holds them.
fn commands(
    ctx: &Ctx,
    svc: &Service,
    rule: &ServiceRule,
    env: &BTreeMap<String, Value>,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let entrypoint = rule.entrypoint.clone().or_else(|| svc.entrypoint.as_ref().map(|c| c.argv().to_vec()));
    let mut command = rule.command.clone().or_else(|| svc.command.as_ref().map(|c| c.argv().to_vec()));
    if let (Some(c), false) = (command.as_mut(), rule.extra_args.is_empty()) {
        c.extend(rule.extra_args.iter().cloned());
    }
    let scrub_args = |argv: Vec<String>| -> Vec<String> {
        argv.into_iter()
            .map(|a| scrub_secrets(&ctx.sel.hosts.rewrite(&a, None), env, &ctx.settings.secret_values, "$(", ")"))
            .collect()
    };
    match (entrypoint, command) {
        (Some(e), c) if e.is_empty() => (None, c.map(scrub_args)),
        (Some(e), c) => (Some(scrub_args(e)), c.map(scrub_args)),
        (None, c) => (None, c.map(scrub_args)),
    }
}

/// The rules' Jobs run from the workload's pod (the release's database migration), each named
/// with the release so each release's Job runs once.
fn jobs(rule: &ServiceRule, name: &str, tag: Option<&str>, volumes: &[Volume]) -> Vec<Job> {
    let release_slug = tag.map(name_suffix);
    rule.jobs
        .iter()
        .map(|(job, j)| {
            let label = format!("{name}-{job}");
            let suffix = release_slug.clone().unwrap_or_else(|| "untagged".into());
            let full: String = format!("{label}-{suffix}").chars().take(63).collect();
            Job {
                name: full.trim_end_matches('-').to_string(),
                label,
                description: j.description.clone(),
                env: j.env.clone(),
                command: j.command.clone(),
                never_calls: j.never_calls.keys().cloned().collect(),
                backoff_limit: j.backoff_limit.unwrap_or(6),
                volumes: volumes
                    .iter()
                    .filter(|v| j.claims || !matches!(v.source, VolumeSource::Claim(_) | VolumeSource::SharedClaim(_)))
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// What follows from the workload as a whole: at least the autoscaler's replicas, one pod per
/// node, settings a fresh claim needs, Recreate for a ReadWriteOnce claim, the checksum of what its
/// pods read, a Job's run, and what its config files say (fully qualified names, a probe path they
/// answer, what a proxy denies).
fn finish(
    w: &mut Workload,
    svc: &Service,
    rule: &ServiceRule,
    ctx: &Ctx,
    shared_claims: &BTreeMap<String, Claim>,
    warnings: &mut Vec<Warning>,
) {
    if let Some(a) = &w.autoscale {
        w.replicas = w.replicas.max(a.min_replicas);
    }
    if w.kind == Kind::DaemonSet {
        w.replicas = 1;
        if !w.claims.is_empty() {
            warnings.push(Warning::new(WarningKind::Storage, format!(
                "service `{}` runs one pod per node (`deploy.mode: global`), and they all mount its claims ({}); a ReadWriteOnce claim attaches to one node only: use a ReadWriteMany class or node-local storage in an overlay",
                svc.name,
                w.claims.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            )).service(&svc.name));
        }
    }
    claim_settings(w, svc, ctx.rules);
    w.recreate = w.kind == Kind::Deployment && (rule.recreate || mounts_rwo_claim(w, shared_claims));
    w.checksum = checksum(w, w.uses_shared.then_some(&ctx.settings.shared_config));
    w.fqdn_in_files = name_fqdns(&w.files, &ctx.fqdn_suffix);
    w.answers_probe_itself = answered_by_files(&w.probe.action, &w.files);
    w.proxy_denies = proxy_denies(&w.files);
    if w.kind == Kind::Job {
        w.replicas = 1;
        w.one_shot = Some(one_shot(svc, w));
    }
}
