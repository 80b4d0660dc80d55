//! The plan: one record per workload with every decision made (kind, names, ports, probes,
//! storage, settings and secrets, config files, network flows). Built from the compose model and
//! the rules; the emitters only turn it into objects.

use std::collections::{BTreeMap, BTreeSet};

use crate::compose::{HealthTest, MountSource, Service};
use crate::error::{Error, Result};
use crate::interpolate;
use crate::names::{dns_label, names_host, setting_names_host, HostIndex, HostMap};
use crate::rules::{Kind, Resources, Rules, SecretMatcher, Security, ServiceRule};
use crate::upstream::{HostPath, Project};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub namespace: String,
    pub instance: String,
    /// The Dify release, from the image tag of the first shared service (`langgenius/dify-api:1.14.1`).
    pub release: Option<String>,
    pub config_map: String,
    pub shared_secret: String,
    /// Non-secret settings every shared service has with the same value.
    pub shared_config: BTreeMap<String, String>,
    /// Secret settings of the shared services, with `CHANGE_ME_…` placeholders.
    pub shared_secrets: BTreeMap<String, String>,
    pub shared_claims: Vec<Claim>,
    pub workloads: Vec<Workload>,
    /// Upstream services left out (inactive profile, omitted or folded), with the reason.
    pub omitted: Vec<(String, String)>,
    pub warnings: Vec<String>,
    /// StorageClass of the ReadWriteOnce claims (none: the cluster's default class).
    pub storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claims (none: the cluster's default class), and whether
    /// the operator chose it (a default class is rarely ReadWriteMany).
    pub rwx_storage_class: Option<String>,
    pub rwx_storage_class_chosen: bool,
    /// Annotations on the Namespace and every claim (GitOps tools never prune or delete them).
    pub retain_annotations: BTreeMap<String, String>,
    pub dns: crate::rules::Dns,
    /// Pods of workloads with more than one replica spread over this node label.
    pub topology_key: Option<String>,
    /// checkov findings the tree accepts, each with its reason (for the README).
    pub findings: Vec<crate::findings::Finding>,
    /// Where the Secrets' values come from.
    pub secret_source: crate::rules::SecretSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub upstream: String,
    pub name: String,
    pub kind: Kind,
    pub role: Option<String>,
    pub description: Option<String>,
    pub replicas: i32,
    pub image: String,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    /// TCP container ports, exposed by the Service (probes use the first).
    pub ports: Vec<u16>,
    /// UDP container ports, exposed by the Service too.
    pub udp_ports: Vec<u16>,
    /// Ports the compose file publishes, when they are entry points (the rules'
    /// `published_ports_are_entry_points`): (container port, published port, `TCP`/`UDP`). Anyone
    /// may reach these container ports; a Service that is not ClusterIP also listens on the
    /// published port.
    pub published: Vec<(u16, Option<u16>, &'static str)>,
    pub service_type: String,
    pub probe: Probe,
    pub uses_shared: bool,
    /// Own non-secret settings (→ `<name>-config`) and secret ones (→ `<name>-secret`, placeholders).
    pub config: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub volumes: Vec<Volume>,
    /// Claims of this workload alone (StatefulSet: claim templates; Deployment: PVCs).
    pub claims: Vec<Claim>,
    /// Config files: ConfigMap key → content (→ `<name>-files`).
    pub files: BTreeMap<String, String>,
    /// Config files that are not text (→ `binaryData` of `<name>-files`).
    pub binary_files: BTreeMap<String, Vec<u8>>,
    pub resources: Resources,
    pub security: Security,
    /// Hash of every setting and file the pods read, so a change rolls them.
    pub checksum: String,
    /// Workloads (names) this one sends traffic to, with the reason.
    pub talks_to: BTreeMap<String, String>,
    /// Compose networks it is on.
    pub networks: BTreeSet<String>,
    /// Only on internal networks: egress limited to its flows to those networks' members, and DNS.
    pub egress_only_to: Option<BTreeSet<String>>,
    /// Egress limited to its flows, DNS and every address outside these blocks (the rules' `egress`).
    pub internet_except: Option<Vec<String>>,
    /// Settings it only inherits (the env source handed whole, `inherits_env_source`): no flows.
    pub inherited: BTreeSet<String>,
    /// One-shot Jobs run from this workload's pod (the release's database migration).
    pub jobs: Vec<Job>,
    /// Init containers of the workload's own image and settings: (name, argv).
    pub init: Vec<(String, Vec<String>)>,
    pub share_process_namespace: bool,
    /// The Ingress in front of it, its annotations derived from settings with explicit ones over them.
    pub ingress: Option<crate::rules::IngressRule>,
    /// Replace pods with `Recreate` (a Deployment with a ReadWriteOnce claim: a new pod on another
    /// node would wait forever for the volume the old pod still holds).
    pub recreate: bool,
    /// One-shot services folded into this pod because it mounts their storage (upstream's
    /// `init_permissions`): they run first, as init containers.
    pub folded: Vec<FoldedInit>,
    /// Why its security context is what it is (from the rules), for the tree's security table.
    pub security_note: Option<String>,
    /// Compose's `working_dir`, `stdin_open`, `tty`.
    pub working_dir: Option<String>,
    pub stdin: bool,
    pub tty: bool,
    /// Compose's `hostname` (a Deployment's pods; a StatefulSet names its pods' hosts itself).
    pub hostname: Option<String>,
    /// Compose's numeric `group_add`.
    pub supplemental_groups: Vec<i64>,
    /// Why checkov findings caused by what the compose file asks for (privileged, cap_add, root) are
    /// accepted: check → reason, over the rules' reasons.
    pub compose_findings: BTreeMap<String, String>,
    /// A Job workload: how it runs to completion.
    pub one_shot: Option<OneShot>,
    /// Node affinity from compose's placement constraints: (label, operator, values), all required.
    pub node_affinity: Vec<(String, String, Vec<String>)>,
    /// Node labels its pods spread over (placement preferences), besides the rules' topology key.
    pub spread: Vec<String>,
    /// Rolling update from compose's `update_config`: (maxSurge, maxUnavailable).
    pub rollout: Option<(String, String)>,
    /// Compose's `network_mode: service:X`: this service runs as a second container of X's pod (they
    /// share localhost, as in compose). Its folder keeps its settings, files and claims; it has no
    /// pod, Service or policy of its own: X's carry its ports and flows.
    pub joins: Option<String>,
}

/// A service that runs to completion, as a Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    /// The Job's name: the workload's name and a hash of its pod, so that a changed task is a new
    /// Job that runs once (a Job's pod template cannot change), and an unchanged one is not re-run.
    pub object_name: String,
    /// `Never` (compose `restart: "no"`) or `OnFailure` (`on-failure`).
    pub restart_policy: String,
    pub backoff_limit: i32,
}

/// A folded one-shot service, run as an init container of a pod that mounts its bind source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedInit {
    /// Container name (the upstream service's name made DNS-safe).
    pub name: String,
    pub image: String,
    /// Its compose entrypoint and command, as one argv.
    pub command: Vec<String>,
    /// The pod volume of the shared source, mounted at the folded service's own path.
    pub volume: String,
    pub mount_path: String,
    pub security: Security,
    /// Why it runs (the fold rule's reason).
    pub reason: Option<String>,
    /// Why checkov findings it causes are accepted (the fold rule's `findings`).
    pub findings: BTreeMap<String, String>,
}

impl Workload {
    /// Whether it has a Service (any TCP or UDP port).
    /// It has a Service: ports, and a pod of its own (not a container in another's pod).
    pub fn serves(&self) -> bool {
        (!self.ports.is_empty() || !self.udp_ports.is_empty()) && self.joins.is_none()
    }
}

/// A Job made from a workload's pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Object name, carrying the release so that each release's Job runs once (`api-migrate-1-14-1`).
    pub name: String,
    /// Its pods' `app.kubernetes.io/name` (`api-migrate`), so no Service or budget of the workload
    /// selects them.
    pub label: String,
    pub description: Option<String>,
    /// Settings over the workload's own.
    pub env: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub backoff_limit: i32,
    /// The volumes its pod mounts (the workload's, without claims when the rule says so).
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub action: ProbeAction,
    pub period_seconds: i32,
    pub timeout_seconds: i32,
    pub failure_threshold: i32,
    /// Seconds allowed for the first success (startupProbe), when slow to start.
    pub startup_seconds: Option<i32>,
    /// A cheaper check for liveness than for readiness (a database that is recovering rejects
    /// clients, and must not be restarted for it).
    pub liveness: Option<ProbeAction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    Http { path: String, port: u16 },
    Tcp(u16),
    Exec(Vec<String>),
}

impl ProbeAction {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeAction::Http { .. } => "HTTP",
            ProbeAction::Tcp(_) => "TCP",
            ProbeAction::Exec(_) => "Exec",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub size: String,
    pub access_mode: String,
    /// None: the cluster's default class (no `storageClassName`).
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Volume name inside the pod.
    pub name: String,
    pub source: VolumeSource,
    pub mounts: Vec<Mount>,
    /// Config-file keys copied into this (claim) volume by an init container before start.
    pub seed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub path: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A claim shared by several workloads (base/pvc.yaml).
    SharedClaim(String),
    /// A claim of this workload (claim template of a StatefulSet, or PVC of a Deployment).
    Claim(String),
    /// The workload's `<name>-files` ConfigMap.
    Files,
    EmptyDir {
        memory: bool,
    },
}

/// Build the plan. Pure: everything it needs was read into `project`.
pub fn plan(project: &Project, rules: &Rules) -> Result<Plan> {
    let matcher = SecretMatcher::new(&rules.secrets)?;
    let mut warnings = project.warnings.clone();
    let mut omitted = Vec::new();

    // 1. Which upstream services become workloads, and their names.
    let mut chosen: Vec<(&Service, &ServiceRule)> = Vec::new();
    let empty_rule = ServiceRule::default();
    let mut hosts = HostMap::default();
    let mut k8s_name: BTreeMap<String, String> = BTreeMap::new();
    let mut externals: Vec<String> = Vec::new();
    let mut folded: Vec<(&Service, &crate::rules::FoldRule, Option<String>)> = Vec::new();
    // Services others wait to complete (`condition: service_completed_successfully`) are one-shot tasks.
    let awaited: BTreeSet<&str> = project
        .services
        .values()
        .flat_map(|s| &s.depends_on)
        .filter(|d| d.condition == "service_completed_successfully")
        .map(|d| d.service.as_str())
        .collect();
    for svc in project.services.values() {
        let rule = rules.service(&svc.name);
        let name = rules.workload_name(&svc.name);
        hosts.insert(&svc.name, &name);
        let rule_aliases = rule.map(|r| r.host_aliases.as_slice()).unwrap_or_default();
        for alias in svc
            .networks
            .values()
            .flatten()
            .chain(svc.container_name.iter())
            .chain(svc.hostname.iter())
            .chain(rule_aliases)
        {
            hosts.insert(alias, &name);
        }
        k8s_name.insert(svc.name.clone(), name.clone());
        let kind = match rule.and_then(|r| r.kind) {
            Some(kind) => kind,
            None => compose_kind(svc, &awaited, &mut warnings).unwrap_or(rules.defaults.kind),
        };
        if !project.active.contains(&svc.name) && !matches!(kind, Kind::Omit | Kind::Fold | Kind::External) {
            omitted.push((svc.name.clone(), format!("profile not active ({})", svc.profiles.join(", "))));
            continue;
        }
        match kind {
            Kind::Omit | Kind::Fold | Kind::External => {
                let reason = rule.and_then(|r| r.reason.clone()).unwrap_or_else(|| "left out by the rules".into());
                omitted.push((svc.name.clone(), reason));
                if kind == Kind::External {
                    externals.push(name);
                }
                if let (Kind::Fold, Some(fold), Some(_)) = (kind, rule.and_then(|r| r.fold.as_ref()), &svc.image) {
                    folded.push((svc, fold, rule.and_then(|r| r.reason.clone())));
                }
            }
            _ if svc.image.is_none() => {
                warnings.push(format!(
                    "service `{}` has no image; it is left out — give it an image in a rules file",
                    svc.name
                ));
                omitted.push((svc.name.clone(), "no image to run".into()));
            }
            _ => {
                if rule.is_none() && !rules.services.is_empty() {
                    warnings.push(format!(
                        "service `{}` is not covered by the rules; translated generically as `{name}`",
                        svc.name
                    ));
                }
                chosen.push((svc, rule.unwrap_or(&empty_rule)));
            }
        }
    }
    let mut seen_names = BTreeSet::new();
    for (svc, _) in &chosen {
        let name = &k8s_name[&svc.name];
        if !seen_names.insert(name.clone()) {
            return Err(Error::usage(
                format!("two services become the workload `{name}` (one of them is `{}`)", svc.name),
                "give one of them another `name:` in a rules file (--mappings)",
            ));
        }
    }
    let deployed: Vec<String> = chosen.iter().map(|(s, _)| k8s_name[&s.name].clone()).collect();
    // Indexed once: flows, dependencies and internal networks are looked up per workload.
    let host_index = HostIndex::new(&deployed, &rules.namespace);
    let deployed_set: BTreeSet<&String> = deployed.iter().collect();
    let mut net_members: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
    for (svc, _) in &chosen {
        for net in svc.networks.keys() {
            net_members.entry(net).or_default().push(&k8s_name[&svc.name]);
        }
    }

    // 2. Every key of every service is accounted for.
    for (svc, _) in &chosen {
        for key in &svc.unread {
            if !rules.ignored_keys.contains_key(key) {
                warnings.push(format!("service `{}`: key `{key}` is not translated", svc.name));
            }
        }
    }
    for key in &project.unread_top {
        warnings.push(format!("top-level key `{key}` is not translated"));
    }

    // 3. Settings per workload, names rewritten, split into plain and secret.
    let secret_values = known_secret_values(project, rules, &matcher, &chosen);
    let in_shared_env = |svc: &Service| {
        rules.shared_env.iter().any(|n| n == &svc.name || rules.service(n).is_some_and(|r| r.also.contains(&svc.name)))
    };
    let via = variable_origins(&chosen);
    let groups = reach_groups(&chosen);
    let literals = shared_literals(&chosen, &groups, rules, &matcher);
    let mut settings: Vec<BTreeMap<String, Value>> = Vec::new();
    // Per workload: settings it merely inherits (the env source handed whole), which make no flow.
    let mut inherited: Vec<BTreeSet<String>> = Vec::new();
    for (svc, rule) in &chosen {
        let mut env: BTreeMap<String, Value> = BTreeMap::new();
        let mut not_own = BTreeSet::new();
        for (key, setting) in &svc.environment {
            let value = hosts.rewrite(&setting.value, None);
            let origin = match via.get(&(key.as_str(), setting.value.as_str())) {
                Some(var) if setting.origin == *key => var,
                _ => setting.origin.as_str(),
            };
            let literal = match url_with_credentials(&setting.value) {
                Some((a, b)) => setting.value[a..b].to_string(),
                None => setting.value.clone(),
            };
            let shared = literals.get(&(groups[&svc.name], literal));
            env.insert(key.clone(), classify(key, &value, origin, rules, &matcher, &secret_values, shared));
            if setting.from_env_source && rule.inherits_env_source {
                not_own.insert(key.clone());
            }
        }
        let overrides = if in_shared_env(svc) { Some(&rules.shared_settings) } else { None };
        for (key, value) in overrides.into_iter().flatten().chain(&rule.env) {
            env.insert(key.clone(), classify(key, value, key, rules, &matcher, &secret_values, None));
            not_own.remove(key);
        }
        settings.push(env);
        inherited.push(not_own);
    }

    // 4. Shared settings: what every shared service has alike.
    let shared_idx: Vec<usize> =
        chosen.iter().enumerate().filter(|(_, (s, _))| in_shared_env(s)).map(|(i, _)| i).collect();
    let mut shared: BTreeMap<String, Value> = match shared_idx.first() {
        Some(&first) => settings[first].clone(),
        None => BTreeMap::new(),
    };
    for &i in shared_idx.iter().skip(1) {
        shared.retain(|k, v| settings[i].get(k) == Some(v));
    }
    let (shared_config, shared_secrets) = split(&shared);

    // 5. Workloads.
    let mut workloads = Vec::new();
    let mut dangling: Vec<String> = Vec::new();
    let mut shared_claims: BTreeMap<String, Claim> = BTreeMap::new();
    for (i, (svc, rule)) in chosen.iter().enumerate() {
        let name = k8s_name[&svc.name].clone();
        let uses_shared = shared_idx.contains(&i);
        let own: BTreeMap<String, Value> = if uses_shared {
            settings[i].iter().filter(|(k, _)| !shared.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        } else {
            settings[i].clone()
        };
        let (config, secrets) = split(&own);
        let env_plain: BTreeMap<String, String> =
            settings[i].iter().map(|(k, v)| (k.clone(), v.plain.clone())).collect();

        let kind = rule.kind.or_else(|| compose_kind(svc, &awaited, &mut Vec::new())).unwrap_or(rules.defaults.kind);
        let mut volumes = Vec::new();
        let mut claims = Vec::new();
        let mut files = BTreeMap::new();
        let mut binary_files = BTreeMap::new();
        let template_vars = template_vars(rule, &env_plain, project, svc);
        let fqdn_suffix = rules.dns.service_suffix(&rules.namespace);
        let fqdn = rule.fqdn_hosts.then_some((fqdn_suffix.as_str(), &deployed_set));
        let render = |text: &str| -> String {
            let rendered = if rule.templates.is_empty() { text.to_string() } else { envsubst(text, &template_vars) };
            // A secret value in a file (the sandbox's `key: dify-sandbox`) becomes its placeholder:
            // ConfigMaps hold no secrets, and the image reads the real one from the Secret.
            let rendered = replace_known(&hosts.rewrite(&rendered, fqdn), &secret_values);
            rendered.replace(
                &format!("resolver {}", rules.dns.docker_resolver),
                &format!("resolver {}", rules.dns.resolver()),
            )
        };
        for (mi, m) in svc.volumes.iter().enumerate() {
            if rule.drop_mounts.contains_key(&m.target) {
                continue;
            }
            let vol_name =
                format!("v{mi}-{}", dns_label(m.target.rsplit('/').find(|s| !s.is_empty()).unwrap_or("root")));
            let vol_name: String = vol_name.chars().take(63).collect::<String>().trim_end_matches('-').to_string();
            let mount = Mount { path: m.target.clone(), sub_path: None, read_only: m.read_only };
            match &m.source {
                MountSource::Bind(src) => {
                    if let Some((claim_name, claim)) = rules.shared_claims.iter().find(|(_, c)| c.source == *src) {
                        // A setting the service does not have cannot rule the claim out.
                        let needed = claim
                            .when
                            .iter()
                            .all(|(var, values)| env_plain.get(var).is_none_or(|have| values.contains(have)));
                        if !needed {
                            continue; // e.g. object storage instead of files: no shared folder
                        }
                        shared_claims.entry(claim_name.clone()).or_insert_with(|| Claim {
                            name: claim_name.clone(),
                            size: claim.size.clone(),
                            access_mode: claim.access_mode.clone(),
                            storage_class: storage_class(&claim.access_mode, None, rules),
                        });
                        volumes.push(Volume {
                            name: claim_name.clone(),
                            source: VolumeSource::SharedClaim(claim_name.clone()),
                            mounts: vec![mount],
                            seed: vec![],
                        });
                        continue;
                    }
                    let host = project.host_paths.get(src).cloned().unwrap_or(HostPath::Missing);
                    let host_files: BTreeMap<String, String> = match &host {
                        HostPath::File(text) => {
                            let file = src.rsplit('/').next().unwrap_or(src).to_string();
                            BTreeMap::from([(file, text.clone())])
                        }
                        HostPath::Dir(files) => files.clone(),
                        HostPath::Missing | HostPath::Binary(_) => BTreeMap::new(),
                    };
                    // A file that is not text (an archive, a key store): from the ConfigMap's
                    // binaryData, byte for byte.
                    if let (HostPath::Binary(bytes), None) = (&host, rule.claims.get(&m.target)) {
                        let file = src.rsplit('/').next().unwrap_or(src);
                        let key = file_key(&files, &binary_files, file, &m.target);
                        binary_files.insert(key.clone(), bytes.clone());
                        volumes.push(Volume {
                            name: vol_name,
                            source: VolumeSource::Files,
                            mounts: vec![Mount { path: m.target.clone(), sub_path: Some(key), read_only: true }],
                            seed: vec![],
                        });
                        continue;
                    }
                    if let Some(claim_rule) = rule.claims.get(&m.target) {
                        let claim_name = claim_rule.name.clone().unwrap_or_else(|| vol_name.clone());
                        claims.push(claim(claim_name.clone(), Some(claim_rule), rules));
                        let mut seed = Vec::new();
                        if claim_rule.seed {
                            for (file, text) in &host_files {
                                let key = file_key(&files, &binary_files, file, &m.target);
                                files.insert(key.clone(), render(text));
                                seed.push(key);
                            }
                        }
                        volumes.push(Volume {
                            name: claim_name.clone(),
                            source: VolumeSource::Claim(claim_name),
                            mounts: vec![mount],
                            seed,
                        });
                        continue;
                    }
                    if host_files.is_empty() && rule.templates.contains_key(&m.target) {
                        warnings.push(format!(
                            "service `{}`: `{src}` is not in the release folder, yet the rules render it as a template; it becomes an empty claim: copy it from upstream's docker/ folder",
                            svc.name
                        ));
                    }
                    // A path of the Docker host itself (`/srv/conf`, `~/x`, `C:\data`): the cluster
                    // has none of its files. Mounted read-only, the container only reads what is
                    // there, so an empty volume would only hide the image's own files: nothing is
                    // mounted. Written to, it is data: a claim, said by name.
                    let on_docker_host = host == HostPath::Missing
                        && (src.starts_with('/') || src.starts_with('~') || src.get(1..2) == Some(":"));
                    if on_docker_host && m.read_only {
                        warnings.push(format!(
                            "service `{}` mounts `{src}` of the Docker host read-only at {}; the cluster has no such files, so nothing is mounted there (put them in a ConfigMap, or a hostPath volume, with an overlay)",
                            svc.name, m.target
                        ));
                        continue;
                    }
                    if on_docker_host && !looks_like_file(src) {
                        warnings.push(format!(
                            "service `{}` mounts `{src}` of the Docker host at {}; it becomes an empty claim that keeps what the container writes there: copy existing data in yourself",
                            svc.name, m.target
                        ));
                    }
                    if host_files.is_empty() {
                        if host == HostPath::Missing && looks_like_file(src) {
                            warnings.push(format!(
                                "service `{}` bind-mounts `{src}`, which is not beside the compose file; {} gets an empty volume instead",
                                svc.name, m.target
                            ));
                        }
                        // A data folder Docker creates at run time: storage that outlives the pod,
                        // named after the service and the container path (reordering mounts renames
                        // nothing).
                        let (vol, claim_name) = path_claim(&name, &m.target, kind);
                        claims.push(claim(claim_name.clone(), None, rules));
                        volumes.push(Volume {
                            name: vol,
                            source: VolumeSource::Claim(claim_name),
                            mounts: vec![mount],
                            seed: vec![],
                        });
                        continue;
                    }
                    // Config files: mounted one by one from the workload's ConfigMap.
                    let rendered_at = rule.templates.get(&m.target);
                    if rendered_at.is_some_and(String::is_empty) {
                        continue; // only read through a template variable
                    }
                    let is_file = matches!(host, HostPath::File(_));
                    let mut mounts = Vec::new();
                    for (file, text) in &host_files {
                        let path = match rendered_at {
                            Some(dest) if is_file => dest.clone(),
                            Some(dest) => {
                                format!("{}/{}", dest.trim_end_matches('/'), file.trim_end_matches(".template"))
                            }
                            None if is_file => m.target.clone(),
                            None => format!("{}/{file}", m.target.trim_end_matches('/')),
                        };
                        let content = render(&insert_text(text, &path, rule, &svc.name, &mut warnings));
                        let key = file_key(&files, &binary_files, path.rsplit('/').next().unwrap_or(&path), &path);
                        files.insert(key.clone(), content);
                        mounts.push(Mount { path, sub_path: Some(key), read_only: true });
                    }
                    volumes.push(Volume { name: vol_name, source: VolumeSource::Files, mounts, seed: vec![] });
                }
                MountSource::Volume(vname) => {
                    let claim_rule = rule.claims.get(&m.target);
                    let claim_name = claim_rule.and_then(|c| c.name.clone()).unwrap_or_else(|| dns_label(vname));
                    claims.push(claim(claim_name.clone(), claim_rule, rules));
                    volumes.push(Volume {
                        name: claim_name.clone(),
                        source: VolumeSource::Claim(claim_name),
                        mounts: vec![mount],
                        seed: vec![],
                    });
                }
                MountSource::Anonymous => {
                    // Docker keeps an anonymous volume across restarts of the container (a database's
                    // `- /var/lib/mysql`): a claim, named after the service and the path.
                    let claim_rule = rule.claims.get(&m.target);
                    let (vol, default_name) = path_claim(&name, &m.target, kind);
                    let claim_name = claim_rule.and_then(|c| c.name.clone()).unwrap_or(default_name);
                    claims.push(claim(claim_name.clone(), claim_rule, rules));
                    volumes.push(Volume {
                        name: if claim_rule.is_some() { claim_name.clone() } else { vol },
                        source: VolumeSource::Claim(claim_name),
                        mounts: vec![mount],
                        seed: vec![],
                    });
                }
                MountSource::Tmpfs => {
                    volumes.push(Volume {
                        name: vol_name,
                        source: VolumeSource::EmptyDir { memory: true },
                        mounts: vec![mount],
                        seed: vec![],
                    });
                }
            }
        }
        for (ti, path) in svc.tmpfs.iter().enumerate() {
            let target = path.split(':').next().unwrap_or(path).to_string();
            volumes.push(Volume {
                name: format!("tmpfs-{ti}"),
                source: VolumeSource::EmptyDir { memory: true },
                mounts: vec![Mount { path: target, sub_path: None, read_only: false }],
                seed: vec![],
            });
        }
        let mut security = rules.defaults.security.layered(rule.security.as_ref().unwrap_or(&Security::default()));
        let tag = image_tag(svc.image.as_deref().unwrap_or_default());
        let mut probe_rule = rule.probe.as_ref();
        let mut security_note = rule.security_note.clone();
        for since in rule.since.iter().filter(|s| !tag.is_some_and(|t| older_than(t, &s.release))) {
            security = security.layered(&since.security);
            probe_rule = since.probe.as_ref().or(probe_rule);
            security_note = since.security_note.clone().or(security_note);
        }
        let mut compose_findings = BTreeMap::new();
        let security = compose_security(svc, security, &mut warnings, &mut compose_findings);
        if security.read_only_root == Some(true) {
            for (wi, path) in security.writable_paths.iter().flatten().enumerate() {
                volumes.push(Volume {
                    name: format!("writable-{wi}"),
                    source: VolumeSource::EmptyDir { memory: false },
                    mounts: vec![Mount { path: path.clone(), sub_path: None, read_only: false }],
                    seed: vec![],
                });
            }
        }
        dedupe_claims(&mut claims, &mut volumes, &name, &mut warnings);
        let folded_here = folded_inits(svc, &folded, &volumes, rules, &hosts);

        // Ports: the rules, else compose's container ports and `expose`.
        let ports: Vec<u16> = match &rule.ports {
            Some(p) => p.clone(),
            None => {
                for p in svc.ports.iter().filter(|p| !matches!(p.protocol.to_ascii_lowercase().as_str(), "tcp" | "udp"))
                {
                    warnings.push(format!(
                        "service `{}`: port {}/{} is left out (Services here carry TCP and UDP); add it with an overlay",
                        svc.name, p.container, p.protocol
                    ));
                }
                let tcp = svc.ports.iter().filter(|p| p.protocol.eq_ignore_ascii_case("tcp"));
                let mut p: Vec<u16> = tcp.map(|p| p.container).chain(svc.expose.iter().copied()).collect();
                p.sort_unstable();
                p.dedup();
                p
            }
        };

        let mut udp_ports: Vec<u16> = match &rule.ports {
            Some(_) => Vec::new(),
            None => svc.ports.iter().filter(|p| p.protocol.eq_ignore_ascii_case("udp")).map(|p| p.container).collect(),
        };
        udp_ports.sort_unstable();
        udp_ports.dedup();
        let published = if rules.published_ports_are_entry_points && rule.ports.is_none() {
            published_ports(svc, &ports, &udp_ports)
        } else {
            Vec::new()
        };

        // Commands: compose's unless the rules replace them; secret values become $(VAR) references.
        let entrypoint = rule.entrypoint.clone().or_else(|| svc.entrypoint.as_ref().map(|c| c.argv().to_vec()));
        let command = rule.command.clone().or_else(|| svc.command.as_ref().map(|c| c.argv().to_vec()));
        let scrub_args = |argv: Vec<String>| -> Vec<String> {
            argv.into_iter()
                .map(|a| scrub_secrets(&hosts.rewrite(&a, None), &settings[i], &secret_values, "$(", ")"))
                .collect()
        };
        let (command, args) = match (entrypoint, command) {
            (Some(e), c) if e.is_empty() => (None, c.map(scrub_args)),
            (Some(e), c) => (Some(scrub_args(e)), c.map(scrub_args)),
            (None, c) => (None, c.map(scrub_args)),
        };

        let probe = probe(probe_rule, svc, &ports, rules, &settings[i], &secret_values, &hosts, &mut warnings);
        let resources = rule.resources.clone().unwrap_or_else(|| compose_resources(svc, &rules.defaults.resources));

        // Flows: hosts this workload's settings, commands and files point at, and depends_on.
        let mut talks_to = BTreeMap::new();
        let mut texts: Vec<&str> = files.values().map(String::as_str).collect();
        let cmd_text = command.iter().chain(args.iter()).flatten().cloned().collect::<Vec<_>>().join(" ");
        texts.push(&cmd_text);
        let mut named = BTreeSet::new();
        for text in &texts {
            host_index.mentioned(text, &mut named);
        }
        for (key, value) in &settings[i] {
            if !inherited[i].contains(key) {
                host_index.mentioned_by_setting(key, &value.plain, &mut named);
            }
        }
        for target in named.into_iter().filter(|t| *t != name) {
            talks_to.insert(target.to_string(), "named as a host in its settings or config files".to_string());
        }
        for ext in &externals {
            let mut still: Vec<String> = settings[i]
                .iter()
                .filter(|(k, v)| setting_names_host(k, &v.plain, ext, &rules.namespace))
                .map(|(k, _)| k.clone())
                .collect();
            still.extend(files.iter().filter(|(_, t)| names_host(t, ext, &rules.namespace)).map(|(k, _)| k.clone()));
            if names_host(&cmd_text, ext, &rules.namespace) {
                still.push("its command".into());
            }
            if !still.is_empty() {
                dangling.push(format!("{name} → {ext}: {}", still.join(", ")));
            }
        }
        for dep in &svc.depends_on {
            if let Some(target) = k8s_name.get(&dep.service) {
                if deployed_set.contains(target) && *target != name {
                    talks_to.entry(target.clone()).or_insert_with(|| format!("depends_on {}", dep.service));
                }
            }
        }
        let networks: BTreeSet<String> = svc.networks.keys().cloned().collect();
        let internal: BTreeSet<&String> =
            networks.iter().filter(|n| project.networks.get(*n).is_some_and(|x| x.internal)).collect();
        let egress_only_to = (!networks.is_empty() && internal.len() == networks.len()).then(|| {
            internal
                .iter()
                .flat_map(|n| net_members.get(n).into_iter().flatten())
                .filter(|other| ***other != name)
                .map(|other| other.to_string())
                .collect()
        });

        let release_slug = tag.map(name_suffix);
        if kind == Kind::StatefulSet && !rule.jobs.is_empty() {
            return Err(Error::usage(
                format!(
                    "the rules give `{}` a Job, but it is a StatefulSet, whose claims a Job cannot share",
                    svc.name
                ),
                "move the `jobs:` rule to a Deployment's service",
            ));
        }
        let jobs = rule
            .jobs
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
                    command: match &j.legacy {
                        Some(l) if tag.is_some_and(|t| older_than(t, &l.before)) => Some(l.command.clone()),
                        _ => j.command.clone(),
                    },
                    backoff_limit: j.backoff_limit.unwrap_or(6),
                    volumes: volumes
                        .iter()
                        .filter(|v| {
                            j.claims || !matches!(v.source, VolumeSource::Claim(_) | VolumeSource::SharedClaim(_))
                        })
                        .cloned()
                        .collect(),
                }
            })
            .collect();
        let mut w = Workload {
            upstream: svc.name.clone(),
            name: name.clone(),
            kind,
            role: rule.role.clone(),
            description: rule.description.clone(),
            replicas: rule.replicas.or(svc.replicas).unwrap_or(rules.defaults.replicas),
            image: svc.image.clone().unwrap_or_default(),
            command,
            args,
            ports,
            udp_ports,
            service_type: rule
                .service_type
                .clone()
                .or_else(|| rules.published_service_type.clone().filter(|_| !published.is_empty()))
                .unwrap_or_else(|| rules.defaults.service_type.clone()),
            published,
            probe,
            uses_shared,
            config,
            secrets,
            volumes,
            claims,
            files,
            binary_files,
            resources,
            security,
            checksum: String::new(),
            talks_to,
            networks,
            egress_only_to,
            internet_except: rule.egress.as_ref().map(|e| e.internet_except.clone()),
            inherited: inherited[i].clone(),
            jobs,
            init: rule.init.iter().map(|(n, argv)| (n.clone(), argv.clone())).collect(),
            share_process_namespace: rule.share_process_namespace,
            folded: folded_here,
            security_note,
            ingress: rule.ingress.as_ref().map(|i| ingress(i, rule, &env_plain, &mut warnings, &svc.name)),
            recreate: false,
            working_dir: svc.working_dir.clone().filter(|d| !d.is_empty()),
            stdin: svc.stdin_open,
            tty: svc.tty,
            hostname: pod_hostname(svc, kind, &mut warnings),
            supplemental_groups: group_ids(svc, &mut warnings),
            compose_findings,
            one_shot: None,
            node_affinity: node_affinity(svc, &mut warnings),
            spread: spread_keys(svc, &mut warnings),
            rollout: rollout(svc, kind, &mut warnings),
            joins: None,
        };
        if kind == Kind::DaemonSet {
            w.replicas = 1;
            if !w.claims.is_empty() {
                warnings.push(format!(
                    "service `{}` runs one pod per node (`deploy.mode: global`), and they all mount its claims ({}); a ReadWriteOnce claim attaches to one node only: use a ReadWriteMany class or node-local storage in an overlay",
                    svc.name,
                    w.claims.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        // What an image needs on a fresh claim (the rules' `claim_settings`), unless compose sets it.
        for cs in &rules.claim_settings {
            let on_claim = w.volumes.iter().any(|v| {
                matches!(v.source, VolumeSource::Claim(_) | VolumeSource::SharedClaim(_))
                    && v.mounts.iter().any(|m| m.path.trim_end_matches('/') == cs.path.trim_end_matches('/'))
            });
            for (k, v) in cs.settings.iter().filter(|_| on_claim) {
                if !svc.environment.contains_key(k) && !w.secrets.contains_key(k) {
                    w.config.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        w.recreate = kind == Kind::Deployment && mounts_rwo_claim(&w, &shared_claims);
        w.checksum = checksum(&w, uses_shared.then_some(&shared_config));
        if kind == Kind::Job {
            w.replicas = 1;
            w.one_shot = Some(one_shot(svc, &w));
        }
        workloads.push(w);
        // Its settings now live in the workload: free them as we go (they are most of the memory).
        settings[i] = BTreeMap::new();
    }
    if !dangling.is_empty() {
        return Err(Error::usage(
            format!("settings still point at services run outside the cluster: {}", dangling.join("; ")),
            "point them at your server, e.g. --set DB_HOST=db.example.com (and every URL that names the host)",
        ));
    }
    ports_named_by_clients(&mut workloads, &mut warnings);
    join_network_namespaces(project, &mut workloads, &mut warnings);
    // Flows only between workloads that share a compose network (or are reached from outside).
    let nets: BTreeMap<String, BTreeSet<String>> =
        workloads.iter().map(|w| (w.name.clone(), w.networks.clone())).collect();
    for w in &mut workloads {
        let mine = w.networks.clone();
        w.talks_to.retain(|target, _| nets.get(target).is_some_and(|n| !n.is_disjoint(&mine)));
    }
    workloads.sort_by(|a, b| a.name.cmp(&b.name));
    omitted.sort();

    let release = shared_idx
        .first()
        .and_then(|&i| chosen[i].0.image.as_deref())
        .or_else(|| chosen.first().and_then(|(s, _)| s.image.as_deref()))
        .and_then(image_tag)
        .map(str::to_string);

    Ok(Plan {
        namespace: rules.namespace.clone(),
        instance: rules.instance.clone(),
        release,
        config_map: rules.config_map.clone(),
        shared_secret: rules.shared_secret.clone(),
        shared_config,
        shared_secrets,
        shared_claims: shared_claims.into_values().collect(),
        workloads,
        omitted,
        warnings,
        storage_class: rules.storage_class.clone().filter(|c| !c.is_empty()),
        rwx_storage_class: rules.rwx_storage_class.clone().filter(|c| !c.is_empty()),
        rwx_storage_class_chosen: rules.rwx_storage_class.is_some(),
        retain_annotations: rules.retain_annotations.clone(),
        dns: rules.dns.clone(),
        topology_key: rules.defaults.topology_key.clone(),
        findings: Vec::new(),
        secret_source: rules.secret_source.clone(),
    })
    .map(|mut plan| {
        plan.findings = crate::findings::accepted(&plan, rules);
        plan.warnings.extend(rwx_class_warning(&plan));
        plan
    })
}

/// One variable, one placeholder: a setting that some workload gets through a variable of the env
/// source (`INNER_API_KEY_FOR_PLUGIN: ${PLUGIN_DIFY_INNER_API_KEY}`) is named after that variable in
/// every workload that has it with the same value, also where an env file sets it by its own name.
/// (setting, value) → the variable.
fn variable_origins<'a>(chosen: &[(&'a Service, &ServiceRule)]) -> BTreeMap<(&'a str, &'a str), &'a str> {
    let mut via = BTreeMap::new();
    for (svc, _) in chosen {
        for (key, s) in &svc.environment {
            if s.origin != *key {
                via.entry((key.as_str(), s.value.as_str())).or_insert(s.origin.as_str());
            }
        }
    }
    via
}

/// Whether a version tag (`1.4.0`, `v0.15.3`) is older than `than`; tags that are not versions
/// (`latest`, `main`) are not.
fn older_than(tag: &str, than: &str) -> bool {
    let parts = |v: &str| -> Option<Vec<u64>> {
        let core = v.trim_start_matches('v').split(['-', '+']).next()?;
        core.split('.').map(|p| p.parse().ok()).collect()
    };
    matches!((parts(tag), parts(than)), (Some(a), Some(b)) if a < b)
}

/// A tag as the end of an object name: `1.14.1` → `1-14-1`.
fn name_suffix(tag: &str) -> String {
    let dashed: String =
        tag.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    dashed.trim_matches('-').to_string()
}

/// The tag of an image reference (`langgenius/dify-api:1.14.1` → `1.14.1`; none for a registry port).
pub fn image_tag(image: &str) -> Option<&str> {
    image.rsplit_once(':').map(|(_, tag)| tag).filter(|t| !t.contains('/'))
}

/// A setting after classification: its plain value (for host and flow analysis) and, when secret,
/// the placeholder text written to `secret.yaml.example`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    plain: String,
    secret: Option<String>,
}

fn split(values: &BTreeMap<String, Value>) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut config = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (k, v) in values {
        match &v.secret {
            Some(s) => secrets.insert(k.clone(), s.clone()),
            None => config.insert(k.clone(), v.plain.clone()),
        };
    }
    (config, secrets)
}

/// Placeholder token for a variable; paired variables share their canonical one.
pub fn placeholder(var: &str, rules: &Rules) -> String {
    let canonical = rules.secrets.pairs.get(var).map(String::as_str).unwrap_or(var);
    format!("CHANGE_ME_{canonical}")
}

/// Values that are secret somewhere (a secret setting's value, or a published default), longest
/// first, each with the placeholder that replaces it.
fn known_secret_values(
    project: &Project,
    rules: &Rules,
    matcher: &SecretMatcher,
    chosen: &[(&Service, &ServiceRule)],
) -> SecretValues {
    let mut vars: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let min = rules.secrets.min_value_length;
    let mut add = |value: &str, var: &str| {
        if value.len() >= min {
            found.entry(value.to_string()).or_insert_with(|| placeholder(var, rules));
        }
    };
    // Password-like names first, so a shared value is named after its password setting.
    let mut candidates: Vec<(&str, &str)> = project.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (svc, _) in chosen {
        candidates.extend(svc.environment.iter().map(|(_, s)| (s.origin.as_str(), s.value.as_str())));
        candidates.extend(svc.environment.iter().map(|(k, s)| (k.as_str(), s.value.as_str())));
    }
    candidates.sort_by_key(|(k, _)| (!k.contains("PASSWORD"), *k));
    for (k, v) in candidates {
        if matcher.is_secret(k) {
            add(v, k);
            if v.len() >= min {
                let holders = vars.entry(v.to_string()).or_default();
                if !holders.iter().any(|h| h == k) {
                    holders.push(k.to_string());
                }
            }
        }
    }
    for public in &rules.secrets.public_values {
        found.entry(public.clone()).or_insert_with(|| "CHANGE_ME_PUBLIC_DEFAULT".to_string());
    }
    let mut list: Vec<(String, String)> = found.into_iter().collect();
    list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    SecretValues { list, vars }
}

/// Secret values found in the inputs: (value, its placeholder), longest first, and every variable
/// holding each value (so a URL password can be named after the variable of its own host).
struct SecretValues {
    list: Vec<(String, String)>,
    vars: BTreeMap<String, Vec<String>>,
}

/// A value that switches something on or off (`yes`, `false`, `1`, …): never a secret, whatever
/// the setting's name (`ALLOW_EMPTY_PASSWORD=yes`, `MYSQL_RANDOM_ROOT_PASSWORD=1`).
fn is_flag(value: &str) -> bool {
    ["yes", "no", "true", "false", "0", "1"].iter().any(|f| value.eq_ignore_ascii_case(f))
}

/// A setting's value: plain, or secret (with placeholders). `shared` is the placeholder of a
/// secret setting with the same literal value among the services this one reaches or is reached by
/// (a database's password and its client's), which this one takes unless the rules pair it.
#[allow(clippy::too_many_arguments)]
fn classify(
    key: &str,
    value: &str,
    origin: &str,
    rules: &Rules,
    matcher: &SecretMatcher,
    known: &SecretValues,
    shared: Option<&String>,
) -> Value {
    let plain = value.to_string();
    let named_secret = matcher.is_secret(key) || matcher.is_secret(origin);
    if named_secret && is_flag(value) {
        return Value { plain, secret: None };
    }
    if named_secret {
        let paired = rules.secrets.pairs.contains_key(origin) || rules.secrets.pairs.values().any(|v| v == origin);
        let secret = if value.is_empty() && !rules.secrets.generate.iter().any(|g| g == key || g == origin) {
            String::new()
        } else if let Some(url) = url_with_credentials(value) {
            placeholder_in_url(&url, value, key, rules, known, shared)
        } else if let Some(token) = shared.filter(|_| !paired) {
            token.clone()
        } else {
            placeholder(origin, rules)
        };
        return Value { plain, secret: Some(secret) };
    }
    if let Some(url) = url_with_credentials(value) {
        return Value { plain, secret: Some(placeholder_in_url(&url, value, key, rules, known, shared)) };
    }
    // A setting that carries a secret value inside it is secret too; one whose whole value merely
    // equals a secret's (`MYSQL_USER: wordpress` beside `MYSQL_PASSWORD: wordpress`) is not, unless
    // that value is a published default (which must never survive anywhere).
    let equals_private =
        known.list.iter().any(|(v, _)| v == value) && !rules.secrets.public_values.iter().any(|p| p == value);
    let scrubbed = replace_known(value, known);
    if scrubbed != value && !equals_private {
        return Value { plain, secret: Some(scrubbed) };
    }
    Value { plain, secret: None }
}

/// Services that reach one another (a setting names the other's host, `depends_on`, `links`),
/// grouped: index of each service's group.
fn reach_groups(chosen: &[(&Service, &ServiceRule)]) -> BTreeMap<String, usize> {
    let names: Vec<&str> = chosen.iter().map(|(s, _)| s.name.as_str()).collect();
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Every name a service answers to: its own, its aliases, container name and hostname.
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (svc, _)) in chosen.iter().enumerate() {
        answers.insert(svc.name.as_str(), i);
        for alias in svc.networks.values().flatten().chain(svc.container_name.iter()).chain(svc.hostname.iter()) {
            answers.insert(alias.as_str(), i);
        }
    }
    let answer_names: Vec<String> = answers.keys().map(|n| n.to_string()).collect();
    let index = HostIndex::new(&answer_names, "");
    for (i, (svc, _)) in chosen.iter().enumerate() {
        let mut peers: Vec<usize> = Vec::new();
        peers.extend(svc.depends_on.iter().filter_map(|d| answers.get(d.service.as_str()).copied()));
        peers.extend(svc.links.iter().filter_map(|(t, _)| answers.get(t.as_str()).copied()));
        let mut named = BTreeSet::new();
        for (key, s) in &svc.environment {
            index.mentioned_by_setting(key, &s.value, &mut named);
        }
        peers.extend(named.iter().filter_map(|n| answers.get(n).copied()));
        for j in peers {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a] = b;
        }
    }
    (0..names.len()).map(|i| (names[i].to_string(), root(&mut parent, i))).collect()
}

/// Per group of services that reach one another, each private literal value of a secret setting
/// and the placeholder every secret setting with that value shares: named after a password
/// setting first, then by name.
fn shared_literals(
    chosen: &[(&Service, &ServiceRule)],
    groups: &BTreeMap<String, usize>,
    rules: &Rules,
    matcher: &SecretMatcher,
) -> BTreeMap<(usize, String), String> {
    let mut candidates: Vec<(usize, &str, &str)> = Vec::new();
    for (svc, _) in chosen.iter().filter(|_| rules.secrets.share_equal_values) {
        for (key, s) in &svc.environment {
            let var = if matcher.is_secret(&s.origin) { s.origin.as_str() } else { key.as_str() };
            // The password inside a URL (`postgres://app:PW@db/app`) is the same secret as the
            // database's own password setting when their values are equal.
            if let Some((a, b)) = url_with_credentials(&s.value) {
                let password = &s.value[a..b];
                if !is_flag(password) && !rules.secrets.public_values.iter().any(|p| p == password) {
                    candidates.push((groups[&svc.name], key.as_str(), password));
                }
                continue;
            }
            if matcher.is_secret(var)
                && !s.value.is_empty()
                && !is_flag(&s.value)
                && !rules.secrets.public_values.contains(&s.value)
            {
                candidates.push((groups[&svc.name], var, s.value.as_str()));
            }
        }
    }
    candidates.sort_by_key(|(g, k, _)| (*g, !k.contains("PASSWORD"), *k));
    let mut out: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut holders: BTreeMap<(usize, String), BTreeSet<&str>> = BTreeMap::new();
    for (g, var, value) in candidates {
        out.entry((g, value.to_string())).or_insert_with(|| placeholder(var, rules));
        holders.entry((g, value.to_string())).or_default().insert(var);
    }
    // A value only one variable holds needs no sharing.
    out.retain(|k, _| holders[k].len() > 1);
    out
}

/// `scheme://user:password@host` → the password's byte range.
pub fn url_with_credentials(value: &str) -> Option<(usize, usize)> {
    let scheme_end = value.find("://")? + 3;
    let rest = &value[scheme_end..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    if userinfo.contains('/') {
        return None;
    }
    let colon = userinfo.find(':')?;
    let start = scheme_end + colon + 1;
    let end = scheme_end + at;
    (end > start).then_some((start, end))
}

/// The URL with its password replaced by a placeholder: the one of the env-source variable named
/// after its host, else the one its value shares with a reachable service's setting (`shared`), else
/// the env source's for that value, else `<KEY>_PASSWORD`'s.
fn placeholder_in_url(
    range: &(usize, usize),
    value: &str,
    key: &str,
    rules: &Rules,
    known: &SecretValues,
    shared: Option<&String>,
) -> String {
    let password = &value[range.0..range.1];
    let host: String = value[range.1 + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect::<String>()
        .to_ascii_uppercase()
        .replace('-', "_");
    let holders = known.vars.get(password).cloned().unwrap_or_default();
    let own_host = holders.iter().find(|v| !host.is_empty() && v.contains(&host)).map(|v| placeholder(v, rules));
    let token = own_host
        .or_else(|| shared.cloned())
        .or_else(|| known.list.iter().find(|(v, _)| v == password).map(|(_, t)| t.clone()))
        .unwrap_or_else(|| placeholder(&format!("{key}_PASSWORD"), rules));
    format!("{}{}{}", &value[..range.0], token, &value[range.1..])
}

fn replace_known(value: &str, known: &SecretValues) -> String {
    let mut out = value.to_string();
    for (secret, token) in &known.list {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), token);
        }
    }
    out
}

/// Replace secret values inside a command argument with a reference to the setting that holds
/// them (`$(REDISCLI_AUTH)` for Kubernetes args, `$VAR` for a shell).
fn scrub_secrets(arg: &str, env: &BTreeMap<String, Value>, known: &SecretValues, open: &str, close: &str) -> String {
    let mut out = arg.to_string();
    for (secret, _) in &known.list {
        if !out.contains(secret.as_str()) {
            continue;
        }
        let holder = env.iter().find(|(_, v)| v.secret.is_some() && v.plain == *secret).map(|(k, _)| k.clone());
        if let Some(var) = holder {
            out = out.replace(secret.as_str(), &format!("{open}{var}{close}"));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn probe(
    rule: Option<&crate::rules::ProbeRule>,
    svc: &Service,
    ports: &[u16],
    rules: &Rules,
    env: &BTreeMap<String, Value>,
    known: &SecretValues,
    hosts: &HostMap,
    warnings: &mut Vec<String>,
) -> Probe {
    let d = &rules.defaults.probe;
    let mut p = Probe {
        action: ProbeAction::Tcp(0),
        period_seconds: d.period_seconds,
        timeout_seconds: d.timeout_seconds,
        failure_threshold: d.failure_threshold,
        startup_seconds: d.startup_seconds,
        liveness: None,
    };
    let shell = |cmd: &str| {
        vec!["sh".to_string(), "-c".to_string(), scrub_secrets(&hosts.rewrite(cmd, None), env, known, "\"$", "\"")]
    };
    if let Some(r) = rule {
        p.period_seconds = r.period_seconds.unwrap_or(p.period_seconds);
        p.timeout_seconds = r.timeout_seconds.unwrap_or(p.timeout_seconds);
        p.startup_seconds = r.startup_seconds;
        p.liveness = r.liveness.as_deref().and_then(rule_action);
        if let Some(action) = rule_action(r) {
            p.action = action;
            return p;
        }
    }
    if let Some(hc) = svc.healthcheck.as_ref().filter(|h| !h.disabled) {
        if let Some(test) = &hc.test {
            p.action = match test {
                HealthTest::Exec(argv)
                    if argv.iter().any(|a| known.list.iter().any(|(s, _)| a.contains(s.as_str()))) =>
                {
                    ProbeAction::Exec(shell(&shell_words::join(argv)))
                }
                HealthTest::Exec(argv) => ProbeAction::Exec(argv.iter().map(|a| hosts.rewrite(a, None)).collect()),
                HealthTest::Shell(cmd) => ProbeAction::Exec(shell(cmd)),
            };
            timings(&mut p, hc);
            return p;
        }
        // Timings without a test keep the image's own check in compose; ours (the port below)
        // runs on compose's schedule all the same.
        timings(&mut p, hc);
    }
    match ports.first() {
        Some(port) => p.action = ProbeAction::Tcp(*port),
        None => {
            warnings.push(format!(
                "service `{}` has no TCP port and no healthcheck; its probe only checks that PID 1 runs",
                svc.name
            ));
            p.action = ProbeAction::Exec(vec!["sh".into(), "-c".into(), "kill -0 1".into()]);
        }
    }
    p
}

/// A compose healthcheck's interval, timeout, retries and start period on a probe.
fn timings(p: &mut Probe, hc: &crate::compose::Healthcheck) {
    if let Some(i) = hc.interval {
        p.period_seconds = i as i32;
    }
    if let Some(t) = hc.timeout {
        p.timeout_seconds = (t as i32).min(p.period_seconds.max(1));
    }
    if let Some(r) = hc.retries {
        p.failure_threshold = (r as i32).max(1);
    }
    if hc.start_period.is_some() {
        p.startup_seconds = hc.start_period.map(|s| s as i32);
    }
}

/// The security context with what the compose file asks for laid over the rules: its `user`,
/// `read_only`, `cap_add`, `cap_drop` and `privileged`. The rules' hardening never takes away
/// what compose asks for; where they differ, compose wins and a warning says so.
fn compose_security(
    svc: &Service,
    mut s: Security,
    warnings: &mut Vec<String>,
    findings: &mut BTreeMap<String, String>,
) -> Security {
    let name = &svc.name;
    let mut accept = |checks: &[&str], reason: String| {
        for c in checks {
            findings.entry(c.to_string()).or_insert_with(|| reason.clone());
        }
    };
    if let Some(user) = svc.user.as_deref().filter(|u| !u.trim().is_empty()) {
        let (uid, gid) = user.split_once(':').map_or((user, None), |(u, g)| (u, Some(g)));
        // `root` is uid and gid 0 in every image; other names need the image's /etc/passwd.
        let id = |t: &str| if t.trim() == "root" { Ok(0) } else { t.trim().parse::<i64>() };
        match id(uid) {
            Ok(uid) if uid >= 0 => {
                if s.run_as_user.is_some_and(|r| r != uid) {
                    warnings.push(format!(
                        "service `{name}`: runs as user {uid}, as its `user` asks (the rules chose {})",
                        s.run_as_user.unwrap_or_default()
                    ));
                }
                s.run_as_user = Some(uid);
                if uid == 0 && s.run_as_non_root == Some(true) {
                    warnings.push(format!(
                        "service `{name}`: runs as root, as its `user` asks, although the rules want non-root users"
                    ));
                }
                s.run_as_non_root = (uid != 0).then_some(true);
                if uid == 0 {
                    accept(&["CKV_K8S_23"], format!("the compose file runs it as root (`user: {user}`), kept as it asks"));
                }
                match gid.map(id) {
                    Some(Ok(g)) if g >= 0 => s.run_as_group = Some(g),
                    Some(_) => warnings.push(format!(
                        "service `{name}`: group `{}` of `user: {user}` is a name; Kubernetes takes numeric ids, so the image's group applies (set runAsGroup in an overlay)",
                        gid.unwrap_or_default()
                    )),
                    None => {}
                }
            }
            _ => warnings.push(format!(
                "service `{name}`: `user: {user}` is a name; Kubernetes takes numeric ids, so the image's own user applies (set runAsUser in an overlay)"
            )),
        }
    }
    if svc.read_only {
        s.read_only_root = Some(true);
    }
    let cap = |c: &String| c.trim().to_ascii_uppercase().trim_start_matches("CAP_").to_string();
    if !svc.cap_add.is_empty() {
        let mut add = s.add_capabilities.take().unwrap_or_default();
        for c in svc.cap_add.iter().map(cap) {
            if !add.contains(&c) {
                add.push(c.clone());
            }
            // A capability compose adds is never dropped by name (dropping ALL still lets `add` through).
            if let Some(drop) = s.drop_capabilities.as_mut() {
                drop.retain(|d| *d != c || c == "ALL");
            }
        }
        let asked = svc.cap_add.join(", ");
        accept(
            &["CKV_K8S_25", "CKV_K8S_39"],
            format!("the compose file adds these capabilities (`cap_add: {asked}`), kept as it asks"),
        );
        s.add_capabilities = Some(add);
    }
    if !svc.cap_drop.is_empty() {
        // What compose drops leaves the rules' list of capabilities added back (Docker's defaults,
        // for the generic preset), unless compose also adds it.
        let asked: Vec<String> = svc.cap_add.iter().map(cap).collect();
        let mut drop = s.drop_capabilities.take().unwrap_or_default();
        let mut add = s.add_capabilities.take().unwrap_or_default();
        for c in svc.cap_drop.iter().map(cap) {
            add.retain(|a| asked.contains(a) || (c != "ALL" && *a != c));
            if !drop.contains(&c) && !drop.iter().any(|d| d == "ALL") && !add.contains(&c) {
                drop.push(c);
            }
        }
        s.drop_capabilities = Some(drop);
        s.add_capabilities = Some(add);
    }
    if svc.privileged {
        warnings.push(format!(
            "service `{name}`: runs privileged, as its `privileged: true` asks: it gets every capability and device of its node (remove it from the compose file if the image does not need it)"
        ));
        s.privileged = Some(true);
        accept(
            &["CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_23"],
            "the compose file runs it privileged (`privileged: true`), kept as it asks".to_string(),
        );
        // The API server refuses privileged with allowPrivilegeEscalation false; a privileged
        // container has every capability, so a drop list would only mislead.
        s.allow_privilege_escalation = None;
        s.drop_capabilities = None;
    }
    s
}

/// The ports a service publishes (`"8080:80"`, long syntax with `published`): container port,
/// published port (a range or an empty host part publishes on a random port: none), protocol.
fn published_ports(svc: &Service, tcp: &[u16], udp: &[u16]) -> Vec<(u16, Option<u16>, &'static str)> {
    let mut out: Vec<(u16, Option<u16>, &'static str)> = Vec::new();
    for p in svc.ports.iter().filter(|p| p.reachable_from_outside()) {
        let host = p.published.as_deref().unwrap_or_default();
        let protocol = if p.protocol.eq_ignore_ascii_case("udp") { "UDP" } else { "TCP" };
        let served = if protocol == "UDP" { udp } else { tcp };
        if !served.contains(&p.container) {
            continue;
        }
        let host = host.trim().parse::<u16>().ok().filter(|h| *h != 0);
        if !out.iter().any(|(c, h, pr)| *c == p.container && *pr == protocol && *h == host) {
            out.push((p.container, host, protocol));
        }
    }
    out
}

/// The kind compose's own keys ask for: `deploy.mode: global` → DaemonSet; `restart: "no"` (or a
/// restart policy of `none`) on a service with no ports, or a service others wait to complete →
/// Job. `on-failure` stays a Deployment: it is how compose files keep servers up. A server with
/// `restart: "no"` (it has ports) stays a Deployment too, with a warning. None: the rules' default.
fn compose_kind(svc: &Service, awaited: &BTreeSet<&str>, warnings: &mut Vec<String>) -> Option<Kind> {
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
    warnings.push(format!(
        "service `{}` has `restart: \"no\"` but serves ports, so it runs as a Deployment, which Kubernetes restarts when it exits",
        svc.name
    ));
    None
}

/// How a one-shot service runs as a Job. Kubernetes starts it without waiting for the services it
/// depends on, so even `restart: "no"` is retried (new pods, up to compose's max attempts or 6)
/// rather than failing once because its database was not up yet.
fn one_shot(svc: &Service, w: &Workload) -> OneShot {
    let mut text = w.checksum.clone();
    for part in std::iter::once(&w.image).chain(w.command.iter().flatten()).chain(w.args.iter().flatten()) {
        text.push('\0');
        text.push_str(part);
    }
    let hash = crate::upstream::sha256(text.as_bytes());
    let base: String = w.name.chars().take(63 - 9).collect();
    OneShot {
        object_name: format!("{}-{}", base.trim_end_matches('-'), &hash[..8]),
        restart_policy: if svc.restart.as_deref() == Some("on-failure") { "OnFailure" } else { "Never" }.to_string(),
        backoff_limit: svc.max_attempts.unwrap_or(6),
    }
}

/// Compose's placement constraints as required node affinity (every constraint must hold, as in
/// swarm); a constraint on something nodes have no label for is left out with a warning.
fn node_affinity(svc: &Service, warnings: &mut Vec<String>) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for c in &svc.constraints {
        let parsed =
            c.split_once("==").map(|(l, r)| (l, r, true)).or_else(|| c.split_once("!=").map(|(l, r)| (l, r, false)));
        let Some((lhs, rhs, equal)) = parsed else {
            warnings
                .push(format!("service `{}`: placement constraint `{c}` is neither `==` nor `!=`; left out", svc.name));
            continue;
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim().to_string());
        let op = if equal { "In" } else { "NotIn" }.to_string();
        let arch = |a: &str| match a {
            "x86_64" => "amd64".to_string(),
            "aarch64" => "arm64".to_string(),
            other => other.to_string(),
        };
        let expr = match lhs {
            "node.hostname" => Some(("kubernetes.io/hostname".to_string(), op, vec![rhs])),
            "node.platform.os" => Some(("kubernetes.io/os".to_string(), op, vec![rhs])),
            "node.platform.arch" => Some(("kubernetes.io/arch".to_string(), op, vec![arch(&rhs)])),
            "node.role" => {
                let manager = (rhs == "manager") == equal;
                let op = if manager { "Exists" } else { "DoesNotExist" };
                Some(("node-role.kubernetes.io/control-plane".to_string(), op.to_string(), Vec::new()))
            }
            l => l.strip_prefix("node.labels.").map(|label| (label.to_string(), op, vec![rhs])),
        };
        match expr {
            Some(e) => out.push(e),
            None => warnings.push(format!(
                "service `{}`: placement constraint `{c}` has no node label in Kubernetes; left out (add a nodeSelector in an overlay)",
                svc.name
            )),
        }
    }
    out
}

/// Node labels of compose's `preferences: - spread: node.labels.X`.
fn spread_keys(svc: &Service, warnings: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for key in &svc.spread {
        match key.trim().strip_prefix("node.labels.") {
            Some(label) if !out.iter().any(|k| k == label) => out.push(label.to_string()),
            Some(_) => {}
            None => warnings.push(format!(
                "service `{}`: placement preference `spread: {key}` names no node label; left out",
                svc.name
            )),
        }
    }
    out
}

/// Compose's `update_config` (`parallelism`, `order`) as a rolling update's (maxSurge,
/// maxUnavailable): stop-first replaces N pods at a time, start-first starts N new ones first;
/// parallelism 0 is all at once.
fn rollout(svc: &Service, kind: Kind, warnings: &mut Vec<String>) -> Option<(String, String)> {
    if svc.update_parallelism.is_none() && svc.update_order.is_none() {
        return None;
    }
    if !matches!(kind, Kind::Deployment | Kind::DaemonSet) {
        warnings.push(format!(
            "service `{}`: `deploy.update_config` is left out: a {} replaces its pods one at a time",
            svc.name,
            kind.object_kind()
        ));
        return None;
    }
    let n = match svc.update_parallelism.unwrap_or(1) {
        0 => "100%".to_string(),
        n => n.to_string(),
    };
    Some(if svc.update_order.as_deref() == Some("start-first") { (n, "0".into()) } else { ("0".into(), n) })
}

/// A Deployment's pods get compose's `hostname` when it is a DNS label; a StatefulSet's controller
/// names each pod's host after the pod (the name still resolves through the Service alias).
fn pod_hostname(svc: &Service, kind: Kind, warnings: &mut Vec<String>) -> Option<String> {
    let host = svc.hostname.as_deref().filter(|h| !h.is_empty())?;
    if kind == Kind::StatefulSet {
        warnings.push(format!(
            "service `{}`: `hostname: {host}` is not set on the pods, whose StatefulSet names each pod's host after the pod; other pods still reach it as `{host}`",
            svc.name
        ));
        return None;
    }
    let label = host.len() <= 63
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !host.starts_with('-')
        && !host.ends_with('-');
    if !label {
        warnings.push(format!(
            "service `{}`: `hostname: {host}` is not a DNS label (lower-case letters, digits and `-`, up to 63), so the pods keep their generated host names",
            svc.name
        ));
        return None;
    }
    Some(host.to_string())
}

/// Compose's `group_add` as numeric ids; names are left out with a warning.
fn group_ids(svc: &Service, warnings: &mut Vec<String>) -> Vec<i64> {
    let mut ids = Vec::new();
    for g in &svc.group_add {
        match g.trim().parse::<i64>() {
            Ok(id) if id >= 0 => ids.push(id),
            _ => warnings.push(format!(
                "service `{}`: group `{g}` of `group_add` is a name; Kubernetes takes numeric ids (add its id to supplementalGroups in an overlay)",
                svc.name
            )),
        }
    }
    ids
}

/// The folded one-shot services whose bind sources `svc` mounts too, each as an init container on
/// the pod volume of that source (a claim), at the folded service's own mount path.
fn folded_inits(
    svc: &Service,
    folded: &[(&Service, &crate::rules::FoldRule, Option<String>)],
    volumes: &[Volume],
    rules: &Rules,
    hosts: &HostMap,
) -> Vec<FoldedInit> {
    let mut out = Vec::new();
    for (one_shot, fold, reason) in folded {
        let argv: Vec<String> = one_shot
            .entrypoint
            .iter()
            .chain(one_shot.command.iter())
            .flat_map(|c| c.argv().iter().map(|a| hosts.rewrite(a, None)))
            .collect();
        for theirs in &one_shot.volumes {
            let MountSource::Bind(src) = &theirs.source else { continue };
            let ours = svc.volumes.iter().filter(|m| m.source == MountSource::Bind(src.clone()));
            let volume = ours.filter_map(|m| {
                volumes.iter().find(|v| {
                    matches!(v.source, VolumeSource::SharedClaim(_) | VolumeSource::Claim(_))
                        && v.mounts.iter().any(|mt| mt.path == m.target)
                })
            });
            if let (Some(v), false) = (volume.into_iter().next(), argv.is_empty()) {
                out.push(FoldedInit {
                    name: dns_label(&one_shot.name),
                    image: one_shot.image.clone().unwrap_or_default(),
                    command: argv.clone(),
                    volume: v.name.clone(),
                    mount_path: theirs.target.clone(),
                    security: rules.defaults.security.layered(&fold.security),
                    reason: reason.clone(),
                    findings: fold.findings.clone(),
                });
            }
        }
    }
    out
}

/// A file's text with the rules' inserts for its path (`path`: where the container reads it).
fn insert_text(text: &str, path: &str, rule: &ServiceRule, service: &str, warnings: &mut Vec<String>) -> String {
    let mut out = text.to_string();
    for ins in rule.inserts.iter().filter(|i| i.file == path) {
        let lines: Vec<&str> = out.lines().collect();
        let indent_of = |line: &str| line[..line.len() - line.trim_start().len()].to_string();
        let block = |indent: &str| -> Vec<String> {
            ins.text.lines().map(|l| if l.is_empty() { String::new() } else { format!("{indent}{l}") }).collect()
        };
        let mut result: Vec<String> = Vec::new();
        let mut done = false;
        for line in &lines {
            let starts =
                |anchor: &Option<String>| anchor.as_ref().is_some_and(|a| line.trim_start().starts_with(a.as_str()));
            if starts(&ins.before) && !done {
                result.extend(block(&indent_of(line)));
                done = true;
            }
            result.push(line.to_string());
            if starts(&ins.after) {
                result.extend(block(&format!("{}    ", indent_of(line))));
                done = true;
            }
        }
        if !done {
            let anchor = ins.after.as_deref().or(ins.before.as_deref()).unwrap_or_default();
            warnings.push(format!(
                "service `{service}`: the rules insert text into `{path}` at `{anchor}`, which the file lacks; nothing was inserted"
            ));
            continue;
        }
        let mut joined = result.join("\n");
        if out.ends_with('\n') {
            joined.push('\n');
        }
        out = joined;
    }
    out
}

/// The check a probe rule names, if any.
fn rule_action(r: &crate::rules::ProbeRule) -> Option<ProbeAction> {
    if let Some(h) = &r.http {
        return Some(ProbeAction::Http { path: h.path.clone(), port: h.port });
    }
    if let Some(port) = r.tcp {
        return Some(ProbeAction::Tcp(port));
    }
    r.exec.clone().map(ProbeAction::Exec)
}

/// Variables for rendering templates: the service's settings, then the rules' derived ones.
fn template_vars(
    rule: &ServiceRule,
    env: &BTreeMap<String, String>,
    project: &Project,
    svc: &Service,
) -> BTreeMap<String, String> {
    let mut vars = env.clone();
    for (name, var) in &rule.template_vars {
        let on = var.when.as_ref().is_none_or(|w| vars.get(w).is_some_and(|v| v.eq_ignore_ascii_case("true")));
        let value = if !on {
            String::new()
        } else if let Some(path) = &var.template {
            let source = svc.volumes.iter().find(|m| &m.target == path).and_then(|m| match &m.source {
                MountSource::Bind(src) => project.host_paths.get(src),
                _ => None,
            });
            match source {
                Some(HostPath::File(text)) => envsubst(text, &vars),
                _ => String::new(),
            }
        } else if let Some(v) = &var.value {
            let lookup = |k: &str| vars.get(k).cloned();
            interpolate::interpolate(v, &lookup).map(|i| i.value).unwrap_or_else(|_| v.clone())
        } else {
            String::new()
        };
        vars.insert(name.clone(), value);
    }
    vars
}

/// `envsubst` with an explicit variable list: `$NAME` and `${NAME}` of known names are replaced,
/// everything else (nginx's own `$host`, `$scheme`…) stays as it is.
pub fn envsubst(text: &str, vars: &BTreeMap<String, String>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let (name_start, braced) = if bytes.get(i + 1) == Some(&b'{') { (i + 2, true) } else { (i + 1, false) };
        let len = bytes[name_start.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let name = &text[name_start.min(text.len())..(name_start + len).min(text.len())];
        let end = if braced { name_start + len + 1 } else { name_start + len };
        let closed = !braced || bytes.get(name_start + len) == Some(&b'}');
        if len > 0 && closed && !name.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(value) = vars.get(name) {
                out.push_str(&text[copied..i]);
                out.push_str(value);
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

fn file_key(files: &BTreeMap<String, String>, binary: &BTreeMap<String, Vec<u8>>, name: &str, path: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect::<String>()
    };
    let key = clean(name);
    if !files.contains_key(&key) && !binary.contains_key(&key) {
        return key;
    }
    clean(path.trim_start_matches('/'))
}

/// A bind source that names a file (`./nginx.conf`, `/etc/app.ini`) rather than a data folder.
/// The pod volume and the claim (or, in a StatefulSet, the claim template) for data at `target`
/// of workload `name`: named from the path, so they do not move when mounts are reordered.
fn path_claim(name: &str, target: &str, kind: Kind) -> (String, String) {
    let label = dns_label(target.trim_matches('/'));
    let label = if label.is_empty() { "root".to_string() } else { label };
    let fit = |s: String| s.chars().take(63).collect::<String>().trim_end_matches('-').to_string();
    // A StatefulSet's claims are `<template>-<name>-<ordinal>`: the template leaves room for both.
    let template = fit(label.chars().take(63usize.saturating_sub(name.len() + 8)).collect());
    if kind == Kind::StatefulSet {
        (template.clone(), template)
    } else {
        (fit(format!("data-{label}")), fit(format!("{name}-{label}")))
    }
}

fn looks_like_file(src: &str) -> bool {
    src.rsplit('/').next().is_some_and(|last| last.len() > 1 && last[1..].contains('.'))
}

/// The defaults with compose's own `deploy.resources` over them. A compose limit without a
/// reservation drops the default request, so Kubernetes requests the limit (never more than it).
fn compose_resources(svc: &Service, defaults: &Resources) -> Resources {
    let mut r = defaults.clone();
    for (k, v) in &svc.limits {
        r.limits.insert(k.clone(), v.clone());
        if !svc.requests.contains_key(k) {
            r.requests.remove(k);
        }
    }
    r.requests.extend(svc.requests.clone());
    r
}

/// A claim described by a rule (or not), with the defaults filled in.
fn claim(name: String, rule: Option<&crate::rules::ClaimRule>, rules: &Rules) -> Claim {
    let access_mode = rule.and_then(|c| c.access_mode.clone()).unwrap_or_else(|| rules.defaults.access_mode.clone());
    Claim {
        name,
        size: rule.and_then(|c| c.size.clone()).unwrap_or_else(|| rules.defaults.claim_size.clone()),
        storage_class: storage_class(&access_mode, rule.and_then(|c| c.storage_class.as_deref()), rules),
        access_mode,
    }
}

/// The class of a claim: its rule's own, else `--rwx-storage-class` for ReadWriteMany and
/// `--storage-class` for the rest; empty means the cluster's default class (none).
fn storage_class(access_mode: &str, own: Option<&str>, rules: &Rules) -> Option<String> {
    let chosen = match own {
        Some(c) => Some(c),
        None if access_mode == "ReadWriteMany" => rules.rwx_storage_class.as_deref(),
        None => rules.storage_class.as_deref(),
    };
    chosen.filter(|c| !c.is_empty()).map(str::to_string)
}

/// A ReadWriteMany claim left to the cluster's default class, which is block storage
/// (ReadWriteOnce only) on EKS, AKS and GKE: the claim would stay Pending, so say what to choose.
fn rwx_class_warning(plan: &Plan) -> Option<String> {
    let rwx: Vec<&str> = plan
        .shared_claims
        .iter()
        .chain(plan.workloads.iter().flat_map(|w| &w.claims))
        .filter(|c| c.access_mode == "ReadWriteMany" && c.storage_class.is_none())
        .map(|c| c.name.as_str())
        .collect();
    (!rwx.is_empty() && !plan.rwx_storage_class_chosen).then(|| {
        format!(
            "the ReadWriteMany claim(s) {} use the cluster's default StorageClass, which is usually block storage (ReadWriteOnce only) and leaves them Pending: pass --rwx-storage-class NAME (a shared file system: Amazon EFS, Azure Files, Filestore, NFS, CephFS), --rwx-storage-class \"\" if your default class is ReadWriteMany, or --set STORAGE_TYPE=s3 (object storage needs no such claim)",
            rwx.join(", ")
        )
    })
}

/// Whether a workload mounts a ReadWriteOnce claim (its own, or a shared one).
fn mounts_rwo_claim(w: &Workload, shared: &BTreeMap<String, Claim>) -> bool {
    w.volumes.iter().any(|v| {
        let claim = match &v.source {
            VolumeSource::Claim(name) => w.claims.iter().find(|c| &c.name == name),
            VolumeSource::SharedClaim(name) => shared.get(name),
            _ => None,
        };
        claim.is_some_and(|c| c.access_mode.starts_with("ReadWriteOnce"))
    })
}

/// The Ingress of a workload: annotations its rule derives from the workload's own settings for
/// the chosen IngressClass, with the operator's `--ingress-annotation`s over them.
fn ingress(
    choice: &crate::rules::IngressRule,
    rule: &ServiceRule,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
    service: &str,
) -> crate::rules::IngressRule {
    let mut annotations = BTreeMap::new();
    let derived = choice.class.as_ref().and_then(|c| rule.ingress_annotations.get(c));
    for (key, from) in derived.into_iter().flatten() {
        let Some(value) = env.get(&from.setting).filter(|v| !v.is_empty()) else { continue };
        let value = if from.seconds { nginx_seconds(value) } else { Some(value.clone()) };
        match value {
            Some(v) => {
                annotations.insert(key.clone(), v);
            }
            None => warnings.push(format!(
                "service `{service}`: {} is not an nginx time (`60s`, `1h`, `90`); the Ingress annotation {key} is left out",
                from.setting
            )),
        }
    }
    annotations.extend(choice.annotations.clone());
    crate::rules::IngressRule { annotations, ..choice.clone() }
}

/// An nginx time (`3600s`, `10m`, `1h`, `1h30m`, `90`; nginx's default unit is seconds) in whole
/// seconds; none for anything else (milliseconds below a second, unknown units).
pub fn nginx_seconds(value: &str) -> Option<String> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in value.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
        any = true;
    }
    any.then(|| total.to_string())
}

/// Two mounts of one claim name (a StatefulSet template mounted twice) share one claim.
fn dedupe_claims(claims: &mut Vec<Claim>, volumes: &mut Vec<Volume>, workload: &str, warnings: &mut Vec<String>) {
    let mut seen: BTreeMap<String, Claim> = BTreeMap::new();
    claims.retain(|c| match seen.get(&c.name) {
        Some(prev) => {
            if prev != c {
                warnings.push(format!("workload `{workload}`: claim `{}` is described twice; the first wins", c.name));
            }
            false
        }
        None => {
            seen.insert(c.name.clone(), c.clone());
            true
        }
    });
    let mut merged: Vec<Volume> = Vec::new();
    for v in volumes.drain(..) {
        match merged.iter_mut().find(|m| m.name == v.name && m.source == v.source) {
            Some(m) => {
                m.mounts.extend(v.mounts);
                m.seed.extend(v.seed);
            }
            None => merged.push(v),
        }
    }
    *volumes = merged;
}

/// On a compose network every port a container listens on is reachable, declared or not: a
/// database without `ports:` or `expose:` is reached on the port its clients name (`db:5432` in a
/// URL). Such a port becomes the service's, so its Service listens there and its probe checks it.
fn ports_named_by_clients(workloads: &mut [Workload], warnings: &mut Vec<String>) {
    // Only services that declare no port and run for good can gain one: the others are not searched for.
    let portless: BTreeSet<String> = workloads
        .iter()
        .filter(|t| t.ports.is_empty() && t.udp_ports.is_empty() && t.one_shot.is_none())
        .map(|t| t.name.clone())
        .collect();
    if portless.is_empty() {
        return;
    }
    let mut found: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for w in workloads.iter() {
        let texts: Vec<&String> = w
            .config
            .values()
            .chain(w.secrets.values())
            .chain(w.files.values())
            .chain(w.command.iter().flatten())
            .chain(w.args.iter().flatten())
            .collect();
        for target in w.talks_to.keys().filter(|t| portless.contains(*t)) {
            let ports = found.entry(target.clone()).or_default();
            for text in &texts {
                for p in crate::names::ports_after_host(text, target) {
                    if !ports.contains(&p) {
                        ports.push(p);
                    }
                }
            }
        }
    }
    for t in workloads.iter_mut() {
        let Some(ports) = found.get(&t.name) else { continue };
        let declared = !t.ports.is_empty() || !t.udp_ports.is_empty();
        if declared || t.one_shot.is_some() || ports.is_empty() {
            continue;
        }
        t.ports = ports.clone();
        if matches!(&t.probe.action, ProbeAction::Exec(argv) if argv.last().is_some_and(|a| a == "kill -0 1")) {
            t.probe.action = ProbeAction::Tcp(ports[0]);
            let fallback = format!("service `{}` has no TCP port and no healthcheck", t.upstream);
            warnings.retain(|w| !w.starts_with(&fallback));
        }
    }
}

/// `network_mode: service:X`: the service shares X's network namespace, so it runs in X's pod as a
/// second container. X's Service and policies take its ports, its flows become X's, flows to it go
/// to X. Only between long-running Deployments; otherwise it stays a pod of its own, with a warning.
fn join_network_namespaces(project: &Project, workloads: &mut [Workload], warnings: &mut Vec<String>) {
    let index: BTreeMap<String, usize> = workloads.iter().enumerate().map(|(i, w)| (w.upstream.clone(), i)).collect();
    let mut joins = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        let Some(svc) = project.services.get(&w.upstream) else { continue };
        let Some(mode) = svc.network_mode.as_deref() else { continue };
        let Some(target) = mode.strip_prefix("service:").or_else(|| mode.strip_prefix("container:")) else {
            continue;
        };
        // `container:NAME` names a container: the service whose container_name (or name) it is.
        let host = project
            .services
            .values()
            .find(|s| s.name == target || s.container_name.as_deref() == Some(target))
            .and_then(|s| index.get(&s.name).copied());
        let Some(j) = host.filter(|&j| j != i) else {
            warnings.push(format!(
                "service `{}` shares the network of `{target}` (network_mode), which is not deployed here; it is a pod of its own",
                w.name
            ));
            continue;
        };
        let x = &workloads[j];
        let joinable = |w: &Workload| w.kind == Kind::Deployment && w.one_shot.is_none();
        let svc_x = project.services.get(&x.upstream);
        if !joinable(w) || !joinable(x) || svc_x.is_some_and(|s| s.network_mode.is_some()) {
            warnings.push(format!(
                "service `{}` shares the network of `{}` (network_mode), but only two long-running Deployments can share a pod here; it is a pod of its own reached through its Service",
                w.name, x.name
            ));
            continue;
        }
        if w.replicas != x.replicas {
            warnings.push(format!(
                "service `{}` runs in `{}`'s pod (network_mode), so it has {}'s {} replica(s), not its own {}",
                w.name, x.name, x.name, x.replicas, w.replicas
            ));
        }
        joins.push((i, j));
    }
    for (i, j) in joins {
        let joined = workloads[i].clone();
        let host_name = workloads[j].name.clone();
        let x = &mut workloads[j];
        for p in &joined.ports {
            if !x.ports.contains(p) {
                x.ports.push(*p);
            }
        }
        for p in &joined.udp_ports {
            if !x.udp_ports.contains(p) {
                x.udp_ports.push(*p);
            }
        }
        x.published.extend(joined.published.iter().filter(|p| !x.published.contains(p)).cloned().collect::<Vec<_>>());
        for (t, why) in &joined.talks_to {
            if *t != host_name {
                x.talks_to.entry(t.clone()).or_insert_with(|| why.clone());
            }
        }
        x.recreate |= joined.recreate;
        x.checksum = crate::upstream::sha256(format!("{}\0{}", x.checksum, joined.checksum).as_bytes());
        for (k, v) in &joined.compose_findings {
            x.compose_findings.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let w = &mut workloads[i];
        w.joins = Some(host_name.clone());
        w.talks_to.clear();
        w.networks.clear();
        w.egress_only_to = None;
        w.internet_except = None;
        w.ingress = None;
        let joined_name = w.name.clone();
        for other in workloads.iter_mut() {
            if let Some(why) = other.talks_to.remove(&joined_name) {
                if other.name != host_name {
                    other.talks_to.entry(host_name.clone()).or_insert(why);
                }
            }
        }
    }
}

fn checksum(w: &Workload, shared: Option<&BTreeMap<String, String>>) -> String {
    let mut text = String::new();
    for (k, v) in shared.into_iter().flatten().chain(&w.config).chain(&w.files) {
        text.push_str(k);
        text.push('\0');
        text.push_str(v);
        text.push('\0');
    }
    for (k, bytes) in &w.binary_files {
        text.push_str(k);
        text.push('\0');
        text.push_str(&crate::upstream::sha256(bytes));
        text.push('\0');
    }
    crate::upstream::sha256(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envsubst_replaces_known_only() {
        let vars = BTreeMap::from([("NGINX_PORT".to_string(), "80".to_string()), ("X".to_string(), "1".to_string())]);
        assert_eq!(envsubst("listen ${NGINX_PORT}; $host $X ${Y}", &vars), "listen 80; $host 1 ${Y}");
    }

    #[test]
    fn inserts_after_every_opening_line_or_before_the_first() {
        let ins = |after: Option<&str>, before: Option<&str>, text: &str| crate::rules::InsertRule {
            file: "/f".into(),
            after: after.map(Into::into),
            before: before.map(Into::into),
            text: text.into(),
        };
        let rule = |i| ServiceRule { inserts: vec![i], ..ServiceRule::default() };
        let mut warnings = Vec::new();
        let conf = "server {\n  listen 80;\n}\nserver {\n}\n";
        let got = insert_text(conf, "/f", &rule(ins(Some("server {"), None, "a;\nb;\n")), "s", &mut warnings);
        assert_eq!(got, "server {\n    a;\n    b;\n  listen 80;\n}\nserver {\n    a;\n    b;\n}\n");
        let squid = "acl x src all\n  http_access allow x\nhttp_access deny all\n";
        let got =
            insert_text(squid, "/f", &rule(ins(None, Some("http_access"), "http_access deny y\n")), "s", &mut warnings);
        assert_eq!(got, "acl x src all\n  http_access deny y\n  http_access allow x\nhttp_access deny all\n");
        assert!(warnings.is_empty());
        // Another file is left alone; a missing anchor is said, not silently skipped.
        assert_eq!(insert_text(conf, "/other", &rule(ins(Some("server {"), None, "a;")), "s", &mut warnings), conf);
        assert_eq!(insert_text("x\n", "/f", &rule(ins(Some("server {"), None, "a;")), "s", &mut warnings), "x\n");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn version_order() {
        assert!(older_than("0.15.3", "1.8.0"));
        assert!(older_than("v1.7.2", "1.8.0"));
        assert!(!older_than("1.8.0", "1.8.0"));
        assert!(!older_than("1.14.1", "1.8.0"));
        assert!(!older_than("latest", "1.8.0"));
    }

    #[test]
    fn nginx_times_in_seconds() {
        for (t, s) in [("3600s", "3600"), ("90", "90"), ("10m", "600"), ("1h30m", "5400"), ("1d", "86400")] {
            assert_eq!(nginx_seconds(t).as_deref(), Some(s), "{t}");
        }
        for bad in ["", "500ms", "1x", "s", "abc", "99999999999999999999s"] {
            assert_eq!(nginx_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn url_credentials() {
        let v = "redis://:difyai123456@redis:6379/1";
        let r = url_with_credentials(v).unwrap();
        assert_eq!(&v[r.0..r.1], "difyai123456");
        assert!(url_with_credentials("http://api:5001").is_none());
        assert!(url_with_credentials("http://host/path@x").is_none());
    }
}
