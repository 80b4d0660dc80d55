//! Storage: each compose mount becomes a claim (shared, the workload's own, or a data folder's), a
//! ConfigMap of config files (text, or binaryData), an emptyDir, or nothing (said); tmpfs and the
//! writable paths of a read-only root; and which StorageClass each claim asks for.

use std::collections::BTreeMap;

use crate::choices::Choices;
use crate::names::dns_label;
use crate::read::compose::{MountSource, Service};
use crate::read::project::HostPath;
use crate::rules::{Kind, Rules, ServiceRule};
use crate::warning::{Warning, WarningKind};

use super::files::{envsubst, insert_text, template_vars};
use super::settings::replace_known;
use super::{Claim, Ctx, Mount, Plan, Volume, VolumeSource, Workload};

/// What a service's mounts become.
#[derive(Default)]
pub(super) struct Mounts {
    pub volumes: Vec<Volume>,
    /// Claims of this workload alone.
    pub claims: Vec<Claim>,
    /// Config files: ConfigMap key → content.
    pub files: BTreeMap<String, String>,
    pub binary_files: BTreeMap<String, Vec<u8>>,
}

/// One service's mounts being turned into volumes.
struct Mounting<'a> {
    ctx: &'a Ctx<'a>,
    svc: &'a Service,
    rule: &'a ServiceRule,
    name: &'a str,
    kind: Kind,
    env_plain: &'a BTreeMap<String, String>,
    template_vars: BTreeMap<String, String>,
    out: Mounts,
}

/// The volumes, claims and files of a workload from its service's `volumes` and `tmpfs`. Shared
/// claims it mounts are added to `shared_claims`.
pub(super) fn mounts(
    ctx: &Ctx,
    (svc, rule): (&Service, &ServiceRule),
    name: &str,
    kind: Kind,
    env_plain: &BTreeMap<String, String>,
    shared_claims: &mut BTreeMap<String, Claim>,
    warnings: &mut Vec<Warning>,
) -> Mounts {
    let mut m = Mounting {
        ctx,
        svc,
        rule,
        name,
        kind,
        env_plain,
        // Only `render` reads them, and only for a rule with templates: most services have none.
        template_vars: if rule.templates.is_empty() {
            BTreeMap::new()
        } else {
            template_vars(rule, ctx.rules, ctx.run.choices, env_plain, ctx.project, svc)
        },
        out: Mounts::default(),
    };
    for (mi, mount) in svc.volumes.iter().enumerate() {
        if rule.drop_mounts.contains_key(&mount.target) {
            continue;
        }
        m.one(mi, mount, shared_claims, warnings);
    }
    for (path, size) in &rule.memory_volumes {
        m.out.volumes.push(Volume {
            name: format!("memory-{}", crate::names::dns_label(path.trim_matches('/'))),
            source: VolumeSource::EmptyDir { memory: true, size: Some(size.clone()) },
            mounts: vec![Mount { path: path.clone(), sub_path: None, read_only: false }],
            seed: vec![],
            host: None,
        });
    }
    for (ti, path) in svc.tmpfs.iter().enumerate() {
        let target = path.split(':').next().unwrap_or(path).to_string();
        m.out.volumes.push(Volume {
            name: format!("tmpfs-{ti}"),
            source: VolumeSource::EmptyDir { memory: true, size: None },
            mounts: vec![Mount { path: target, sub_path: None, read_only: false }],
            seed: vec![],
            host: None,
        });
    }
    m.out
}

impl Mounting<'_> {
    /// A config file's text as the pod reads it: templates rendered, hosts renamed, and secret
    /// values replaced by their placeholders (the sandbox's `key: dify-sandbox`: ConfigMaps hold no
    /// secrets, and the image reads the real one from the Secret).
    fn render(&self, text: &str) -> String {
        let rules = self.ctx.rules;
        let rendered =
            if self.rule.templates.is_empty() { text.to_string() } else { envsubst(text, &self.template_vars) };
        let fqdn = self.rule.fqdn_hosts.then_some((self.ctx.fqdn_suffix.as_str(), &self.ctx.deployed));
        let rendered = replace_known(&self.ctx.sel.hosts.rewrite(&rendered, fqdn), &self.ctx.settings.secret_values);
        rendered
            .replace(&format!("resolver {}", rules.dns.docker_resolver), &format!("resolver {}", rules.dns.resolver()))
    }

    fn push(&mut self, name: String, source: VolumeSource, mounts: Vec<Mount>, seed: Vec<String>) {
        self.out.volumes.push(Volume { name, source, mounts, seed, host: None });
    }

    fn one(
        &mut self,
        mi: usize,
        m: &crate::read::compose::Mount,
        shared_claims: &mut BTreeMap<String, Claim>,
        warnings: &mut Vec<Warning>,
    ) {
        let vol_name = format!("v{mi}-{}", dns_label(m.target.rsplit('/').find(|s| !s.is_empty()).unwrap_or("root")));
        let vol_name: String = vol_name.chars().take(63).collect::<String>().trim_end_matches('-').to_string();
        let mount = Mount { path: m.target.clone(), sub_path: None, read_only: m.read_only };
        match &m.source {
            MountSource::Bind(src) => {
                let before = self.out.volumes.len();
                self.bind(src, m, vol_name, mount, shared_claims, warnings);
                // A claim made from a host folder: where a compose install keeps its data (a file,
                // found or not, is no folder to move).
                for v in &mut self.out.volumes[before..] {
                    if matches!(v.source, VolumeSource::Claim(_) | VolumeSource::SharedClaim(_))
                        && !looks_like_file(src)
                    {
                        v.host = Some(src.clone());
                    }
                }
            }
            MountSource::Volume(vname) => {
                let claim_rule = self.rule.claims.get(&m.target);
                let claim_name = claim_rule.and_then(|c| c.name.clone()).unwrap_or_else(|| dns_label(vname));
                self.out.claims.push(claim(claim_name.clone(), claim_rule, self.ctx));
                self.push(claim_name.clone(), VolumeSource::Claim(claim_name), vec![mount], vec![]);
            }
            MountSource::Anonymous => {
                // Docker keeps an anonymous volume across restarts of the container (a database's
                // `- /var/lib/mysql`): a claim, named after the service and the path.
                let claim_rule = self.rule.claims.get(&m.target);
                let (vol, default_name) = path_claim(self.name, &m.target, self.kind);
                let claim_name = claim_rule.and_then(|c| c.name.clone()).unwrap_or(default_name);
                self.out.claims.push(claim(claim_name.clone(), claim_rule, self.ctx));
                let vol = if claim_rule.is_some() { claim_name.clone() } else { vol };
                self.push(vol, VolumeSource::Claim(claim_name), vec![mount], vec![]);
            }
            MountSource::Tmpfs => {
                self.push(vol_name, VolumeSource::EmptyDir { memory: true, size: None }, vec![mount], vec![])
            }
        }
    }

    /// A bind mount: a shared claim of the rules, a binary file, a claim of the rules (seeded with
    /// the files or not), a path of the Docker host, a data folder, or config files.
    fn bind(
        &mut self,
        src: &str,
        m: &crate::read::compose::Mount,
        vol_name: String,
        mount: Mount,
        shared_claims: &mut BTreeMap<String, Claim>,
        warnings: &mut Vec<Warning>,
    ) {
        let (rules, svc) = (self.ctx.rules, self.svc);
        if let Some((claim_name, claim)) = rules.shared_claims.iter().find(|(_, c)| c.source == src) {
            // A setting the service does not have cannot rule the claim out.
            let needed =
                claim.when.iter().all(|(var, values)| self.env_plain.get(var).is_none_or(|have| values.contains(have)));
            if !needed {
                return; // e.g. object storage instead of files: no shared folder
            }
            shared_claims.entry(claim_name.clone()).or_insert_with(|| Claim {
                name: claim_name.clone(),
                size: claim.size.clone(),
                access_mode: claim.access_mode.clone(),
                storage_class: self.ctx.run.classes.of_claim(&claim.access_mode, None),
            });
            self.push(claim_name.clone(), VolumeSource::SharedClaim(claim_name.clone()), vec![mount], vec![]);
            return;
        }
        let host = self.ctx.project.host_paths.get(src).cloned().unwrap_or(HostPath::Missing);
        let host_files: BTreeMap<String, String> = match &host {
            HostPath::File(text) => {
                let file = src.rsplit('/').next().unwrap_or(src).to_string();
                BTreeMap::from([(file, text.clone())])
            }
            HostPath::Dir(files) => files.clone(),
            HostPath::Missing | HostPath::Unread | HostPath::Binary(_) => BTreeMap::new(),
        };
        // A file that is not text (an archive, a key store): from the ConfigMap's binaryData, byte
        // for byte.
        if let (HostPath::Binary(bytes), None) = (&host, self.rule.claims.get(&m.target)) {
            let file = src.rsplit('/').next().unwrap_or(src);
            let key = file_key(&self.out.files, &self.out.binary_files, file, &m.target);
            self.out.binary_files.insert(key.clone(), bytes.clone());
            let mounts = vec![Mount { path: m.target.clone(), sub_path: Some(key), read_only: true }];
            self.push(vol_name, VolumeSource::Files, mounts, vec![]);
            return;
        }
        if let Some(claim_rule) = self.rule.claims.get(&m.target) {
            let claim_name = claim_rule.name.clone().unwrap_or_else(|| vol_name.clone());
            if !claim_rule.ephemeral {
                self.out.claims.push(claim(claim_name.clone(), Some(claim_rule), self.ctx));
            }
            let mut seed = Vec::new();
            if claim_rule.seed {
                for (file, text) in &host_files {
                    let key = file_key(&self.out.files, &self.out.binary_files, file, &m.target);
                    let content = self.render(text);
                    self.out.files.insert(key.clone(), content);
                    seed.push(key);
                }
            }
            let source = if claim_rule.ephemeral {
                VolumeSource::EmptyDir { memory: false, size: None }
            } else {
                VolumeSource::Claim(claim_name.clone())
            };
            self.push(claim_name, source, vec![mount], seed);
            return;
        }
        if host_files.is_empty() && self.rule.templates.contains_key(&m.target) {
            warnings.push(Warning::new(WarningKind::Storage, format!(
                "service `{}`: `{src}` is not in the release folder, yet the rules render it as a template; it becomes an empty claim: copy it from upstream's docker/ folder",
                svc.name
            )).service(&svc.name));
        }
        if self.docker_host_path(src, &host, m, warnings) {
            return;
        }
        if host_files.is_empty() {
            if host == HostPath::Missing && looks_like_file(src) {
                warnings.push(Warning::new(WarningKind::Storage, format!(
                    "service `{}` bind-mounts `{src}`, which is not beside the compose file; {} gets an empty volume instead",
                    svc.name, m.target
                )).service(&svc.name));
            }
            // A data folder Docker creates at run time: storage that outlives the pod, named after
            // the service and the container path (reordering mounts renames nothing).
            let (vol, claim_name) = path_claim(self.name, &m.target, self.kind);
            self.out.claims.push(claim(claim_name.clone(), None, self.ctx));
            self.push(vol, VolumeSource::Claim(claim_name), vec![mount], vec![]);
            return;
        }
        self.config_files(&host_files, matches!(host, HostPath::File(_)), m, vol_name, warnings);
    }

    /// A path of the Docker host itself (`/srv/conf`, `~/x`, `C:\data`): the cluster has none of its
    /// files. Mounted read-only, the container only reads what is there, so an empty volume would
    /// only hide the image's own files: nothing is mounted (true). Written to, it is data: a claim,
    /// said by name (false: the caller makes the claim).
    fn docker_host_path(
        &self,
        src: &str,
        host: &HostPath,
        m: &crate::read::compose::Mount,
        warnings: &mut Vec<Warning>,
    ) -> bool {
        let on_docker_host =
            *host == HostPath::Missing && (src.starts_with('/') || src.starts_with('~') || src.get(1..2) == Some(":"));
        if on_docker_host && m.read_only {
            warnings.push(Warning::new(WarningKind::Storage, format!(
                "service `{}` mounts `{src}` of the Docker host read-only at {}; the cluster has no such files, so nothing is mounted there (put them in a ConfigMap, or a hostPath volume, with an overlay)",
                self.svc.name, m.target
            )).service(&self.svc.name));
            return true;
        }
        if on_docker_host && !looks_like_file(src) {
            warnings.push(Warning::new(WarningKind::Storage, format!(
                "service `{}` mounts `{src}` of the Docker host at {}; it becomes an empty claim that keeps what the container writes there: copy existing data in yourself",
                self.svc.name, m.target
            )).service(&self.svc.name));
        }
        false
    }

    /// Config files: mounted one by one from the workload's ConfigMap.
    fn config_files(
        &mut self,
        host_files: &BTreeMap<String, String>,
        is_file: bool,
        m: &crate::read::compose::Mount,
        vol_name: String,
        warnings: &mut Vec<Warning>,
    ) {
        let rendered_at = self.rule.templates.get(&m.target);
        if rendered_at.is_some_and(String::is_empty) {
            return; // only read through a template variable
        }
        let mut mounts = Vec::new();
        for (file, text) in host_files {
            let path = match rendered_at {
                Some(dest) if is_file => dest.clone(),
                Some(dest) => format!("{}/{}", dest.trim_end_matches('/'), file.trim_end_matches(".template")),
                None if is_file => m.target.clone(),
                None => format!("{}/{file}", m.target.trim_end_matches('/')),
            };
            let content = self.render(&insert_text(text, &path, self.rule, &self.svc.name, warnings));
            let key =
                file_key(&self.out.files, &self.out.binary_files, path.rsplit('/').next().unwrap_or(&path), &path);
            self.out.files.insert(key.clone(), content);
            mounts.push(Mount { path, sub_path: Some(key), read_only: true });
        }
        self.push(vol_name, VolumeSource::Files, mounts, vec![]);
    }
}

/// With a read-only root filesystem, the rules' writable paths are emptyDirs.
pub(super) fn writable_paths(security: &crate::rules::Security, volumes: &mut Vec<Volume>) {
    if security.read_only_root == Some(true) {
        for (wi, path) in security.writable_paths.iter().flatten().enumerate() {
            volumes.push(Volume {
                name: format!("writable-{wi}"),
                source: VolumeSource::EmptyDir { memory: false, size: None },
                mounts: vec![Mount { path: path.clone(), sub_path: None, read_only: false }],
                seed: vec![],
                host: None,
            });
        }
    }
}

/// What an image needs on a fresh claim (the rules' `claim_settings`), unless compose sets it.
pub(super) fn claim_settings(w: &mut Workload, svc: &Service, rules: &Rules) {
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
}

pub(super) fn file_key(
    files: &BTreeMap<String, String>,
    binary: &BTreeMap<String, Vec<u8>>,
    name: &str,
    path: &str,
) -> String {
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
pub(super) fn path_claim(name: &str, target: &str, kind: Kind) -> (String, String) {
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

pub(super) fn looks_like_file(src: &str) -> bool {
    src.rsplit('/').next().is_some_and(|last| last.len() > 1 && last[1..].contains('.'))
}

/// A claim described by a rule (or not), with the defaults filled in.
fn claim(name: String, rule: Option<&crate::rules::ClaimRule>, ctx: &Ctx) -> Claim {
    let defaults = &ctx.rules.defaults;
    let access_mode = rule.and_then(|c| c.access_mode.clone()).unwrap_or_else(|| defaults.access_mode.clone());
    Claim {
        name,
        size: rule.and_then(|c| c.size.clone()).unwrap_or_else(|| defaults.claim_size.clone()),
        storage_class: ctx.run.classes.of_claim(&access_mode, rule.and_then(|c| c.storage_class.as_deref())),
        access_mode,
    }
}

/// The StorageClasses of the claims whose rule names none: the command line's
/// (`--storage-class`, `--rwx-storage-class`), else the rules' own (`storage_class`,
/// `rwx_storage_class`). Empty is the cluster's default class; none is not chosen.
#[derive(Debug, Clone, Default)]
pub(super) struct Classes {
    /// Of the ReadWriteOnce claims and claim templates.
    pub rwo: Option<String>,
    /// Of the ReadWriteMany claims (none: a warning, default classes are rarely ReadWriteMany).
    pub rwx: Option<String>,
}

impl Classes {
    pub(super) fn of(choices: &Choices, rules: &Rules) -> Classes {
        Classes {
            rwo: choices.storage_class.clone().or_else(|| rules.storage_class.clone()),
            rwx: choices.rwx_storage_class.clone().or_else(|| rules.rwx_storage_class.clone()),
        }
    }

    /// The class of a claim: its rule's own, else the one for its access mode; empty means the
    /// cluster's default class (none).
    pub(super) fn of_claim(&self, access_mode: &str, own: Option<&str>) -> Option<String> {
        let chosen = match own {
            Some(c) => Some(c),
            None if access_mode == "ReadWriteMany" => self.rwx.as_deref(),
            None => self.rwo.as_deref(),
        };
        chosen.filter(|c| !c.is_empty()).map(str::to_string)
    }
}

/// A ReadWriteMany claim left to the cluster's default class, which is block storage
/// (ReadWriteOnce only) on EKS, AKS and GKE: the claim would stay Pending, so say what to choose.
pub(super) fn rwx_class_warning(plan: &Plan) -> Option<Warning> {
    let rwx: Vec<&str> = plan
        .shared_claims
        .iter()
        .chain(plan.workloads.iter().flat_map(|w| &w.claims))
        .filter(|c| c.access_mode == "ReadWriteMany" && c.storage_class.is_none())
        .map(|c| c.name.as_str())
        .collect();
    (!rwx.is_empty() && !plan.rwx_storage_class_chosen).then(|| {
        Warning::new(WarningKind::Storage, format!(
            "the ReadWriteMany claim(s) {} use the cluster's default StorageClass, which is usually block storage (ReadWriteOnce only) and leaves them Pending: pass --rwx-storage-class NAME (a shared file system: Amazon EFS, Azure Files, Filestore, NFS, CephFS), --rwx-storage-class \"\" if your default class is ReadWriteMany, or --set STORAGE_TYPE=s3 (object storage needs no such claim)",
            rwx.join(", ")
        ))
    })
}

/// Whether a workload mounts a ReadWriteOnce claim (its own, or a shared one).
pub(super) fn mounts_rwo_claim(w: &Workload, shared: &BTreeMap<String, Claim>) -> bool {
    w.volumes.iter().any(|v| {
        let claim = match &v.source {
            VolumeSource::Claim(name) => w.claims.iter().find(|c| &c.name == name),
            VolumeSource::SharedClaim(name) => shared.get(name),
            _ => None,
        };
        claim.is_some_and(|c| c.access_mode.starts_with("ReadWriteOnce"))
    })
}

/// Two mounts of one claim name (a StatefulSet template mounted twice) share one claim.
pub(super) fn dedupe_claims(
    claims: &mut Vec<Claim>,
    volumes: &mut Vec<Volume>,
    workload: &str,
    warnings: &mut Vec<Warning>,
) {
    let mut seen: BTreeMap<String, Claim> = BTreeMap::new();
    claims.retain(|c| match seen.get(&c.name) {
        Some(prev) => {
            if prev != c {
                warnings.push(Warning::new(
                    WarningKind::Storage,
                    format!("workload `{workload}`: claim `{}` is described twice; the first wins", c.name),
                ));
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
