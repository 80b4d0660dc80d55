//! What the guide knows of the tree, taken from the plan (and the rules' guide, names and
//! translations): every fact is a field the plan already holds, never text read back from the
//! generated files.

mod workload;

use crate::choices::Choices;
use crate::placeholders;
use crate::plan::{self, Plan};
use crate::rules::{self, Rules};
use crate::tree::layout;

pub use workload::{ClaimFacts, EgressFacts, RouteFacts, SecurityFacts, WorkloadFacts};

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

/// An accepted finding of the static security scan.
#[derive(Debug, Clone)]
pub struct SecurityFinding {
    pub check_id: String,
    pub resource: String,
    pub reason: String,
}

impl Facts {
    /// What the guide says of the tree: from the plan, the rules, the choices and their record.
    pub fn from_plan(plan: &Plan, rules: &Rules, run: &Choices, choices: &[String]) -> Facts {
        let (secret_files, secrets) = secret_facts(plan);
        let all_volumes = plan.workloads.iter().flat_map(|w| &w.volumes);
        let shared_claim = plan
            .shared_claims
            .first()
            .map(|c| workload::claim_facts(c, all_volumes, &plan::VolumeSource::SharedClaim(c.name.clone())));
        let reasons = workload::reasons_by_object(plan);
        Facts {
            namespace: plan.namespace.clone(),
            release: plan.release.clone(),
            guide: rules.guide.clone(),
            // A service running as a container of another's pod (network_mode) has no pod of its
            // own to describe, deploy or roll: its host's row says it runs there.
            workloads: plan
                .workloads
                .iter()
                .filter(|w| w.joins.is_none())
                .map(|w| workload::workload_facts(plan, w, &reasons))
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
            inherit_env_source: plan
                .workloads
                .iter()
                .filter(|w| !w.inherited.is_empty())
                .map(|w| w.name.clone())
                .collect(),
            public_urls: public_url_facts(plan, rules),
            ja: rules.ja.clone().into_iter().chain(run.ja()).collect(),
            choices: choices.to_vec(),
            cluster_ranges: plan.cluster_ranges.clone(),
            allowed_ranges: plan.allowed_ranges.clone(),
            pod_security: pod_security_facts(plan),
            operations: operations_facts(plan, rules, run, choices),
            fqdn_users: plan.workloads.iter().filter(|w| w.fqdn_in_files).map(|w| w.name.clone()).collect(),
        }
    }
}

/// The level every pod meets, and each container below "restricted" by workload and Job.
fn pod_security_facts(plan: &Plan) -> PodSecurityView {
    PodSecurityView {
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
    }
}

/// The images list, the unpinned images, and what `--ha` and `--autoscale` do (or did) to the tree.
fn operations_facts(plan: &Plan, rules: &Rules, run: &Choices, choices: &[String]) -> OperationsView {
    let rule = |w: &plan::Workload| rules.service(&w.upstream);
    let own_pods = || plan.workloads.iter().filter(|w| w.joins.is_none() && w.one_shot.is_none());
    OperationsView {
        images: plan.image_names().into_iter().map(str::to_string).collect(),
        unpinned: plan.unpinned().into_iter().map(|i| (plan::image_parts(i).0.to_string(), i.to_string())).collect(),
        registry: run.registry().map(str::to_string),
        ha: choices.iter().any(|c| c == "--ha" || c == "--autoscale"),
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
    let mut secrets = vec![(plan.shared_secret.clone(), layout::BASE.to_string(), &plan.shared_secrets)];
    secrets.extend(
        plan.workloads
            .iter()
            .filter(|w| !w.secrets.is_empty())
            .map(|w| (format!("{}-secret", w.name), layout::service_dir(&w.name), &w.secrets)),
    );
    let templates = !matches!(plan.secret_source, rules::SecretSource::ExternalSecrets { .. });
    let secret_files: Vec<String> =
        secrets.iter().filter(|_| templates).map(|(_, dir, _)| layout::file_in(dir, layout::SECRET_TEMPLATE)).collect();
    let secrets: Vec<SecretFacts> = secrets
        .into_iter()
        .map(|(name, _, data)| SecretFacts {
            name,
            keys: data
                .iter()
                .map(|(k, v)| {
                    let vars = placeholders::tokens(v).iter().map(|t| placeholders::name_of(t).to_string()).collect();
                    (k.clone(), vars)
                })
                .collect(),
        })
        .collect();
    (secret_files, secrets)
}

/// Where each public-URL setting of the rules sits in the tree, with its value (the shared
/// ConfigMap's first).
fn public_url_facts(plan: &Plan, rules: &Rules) -> Vec<PublicUrlFacts> {
    let mut out = Vec::new();
    for key in rules.public_url.keys() {
        let mut value = plan.shared_config.get(key).cloned();
        let mut files = Vec::new();
        if value.is_some() {
            files.push(layout::file_in(layout::BASE, layout::CONFIG_MAP_FILE));
        }
        for w in &plan.workloads {
            if let Some(v) = w.config.get(key) {
                value.get_or_insert_with(|| v.clone());
                files.push(layout::file_in(&layout::service_dir(&w.name), layout::CONFIG_MAP_FILE));
            }
        }
        if let Some(value) = value {
            out.push(PublicUrlFacts { key: key.clone(), value, files });
        }
    }
    out
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
