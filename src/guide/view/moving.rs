//! The Moving from Docker Compose chapter: what stops, what the copy waits for, which host
//! folders fill which claims, and which secrets must keep their values.

use super::backup::{backed_up_by, databases, FileBackupView};
use super::lookup::{kref, pod_target, Lookup};
use crate::guide::{Facts, WorkloadFacts};
use crate::rules::Backup;

/// Moving a Docker Compose install: what stops, what is waited for, what is copied, what is kept.
#[derive(serde::Serialize)]
pub(super) struct MoveView {
    /// The compose install's folder as seen from the tree: beside `k8s/` as the rules' compose file
    /// names it (`../docker`), else the folder that holds `k8s/`.
    compose_dir: String,
    /// Compose services stopped before anything is copied: every one but the databases.
    stop: Vec<String>,
    /// Workloads the copy waits for (`statefulset/postgres`, `deployment/api`).
    wait: Vec<String>,
    /// Claims filled from a folder of the compose host (seeded ones are not: they are rewritten at
    /// every start).
    files: Vec<MoveFileView>,
    /// Claims with data that no compose host folder holds (named volumes).
    volumes: Vec<String>,
    /// Vector stores and the compose host folders of their data.
    vector_folders: Vec<(String, String)>,
    /// The setting that signs and encrypts stored data, when a Secret of the tree holds it.
    keep: Option<String>,
    /// The variables the databases' passwords are made of.
    db_password_vars: Vec<String>,
}

/// A claim filled from a folder of the compose host, through a pod that mounts it.
#[derive(serde::Serialize)]
struct MoveFileView {
    pod: String,
    path: String,
    archive: String,
    /// The folder as the shell names it: below `"$compose_dir"` when the compose file names it
    /// relatively, else as written (`~` as `"$HOME"`).
    from: String,
}

/// What moving a Docker Compose install needs: the compose services to stop, the workloads to wait
/// for, the host folders to copy into claims, and the secrets that must keep their values.
pub(super) fn moving(f: &Facts, r: &Lookup) -> MoveView {
    let dbs = databases(f);
    let is_db = |w: &WorkloadFacts| dbs.iter().any(|d| d.name == w.name);
    let mut stop: Vec<String> = Vec::new();
    for w in f.workloads.iter().filter(|w| !is_db(w)) {
        for s in std::iter::once(&w.upstream).chain(&w.joined) {
            if !stop.contains(s) {
                stop.push(s.clone());
            }
        }
    }
    let (files, volumes): (Vec<FileBackupView>, Vec<FileBackupView>) =
        r.file_backups().into_iter().filter(|b| b.seed_init.is_none()).partition(|b| b.host.is_some());
    let files: Vec<MoveFileView> = files
        .into_iter()
        .map(|b| {
            let host = b.host.unwrap_or_default();
            let from = if let Some(rest) = host.strip_prefix("~/") {
                format!(r#""$HOME"/{}"#, shell_words::quote(rest))
            } else if host.starts_with('/') || host.get(1..2) == Some(":") {
                shell_words::quote(&host).into_owned()
            } else {
                format!(r#""$compose_dir"/{}"#, shell_words::quote(host.strip_prefix("./").unwrap_or(&host)))
            };
            MoveFileView { pod: b.pod, path: b.path, archive: b.archive, from }
        })
        .collect();
    let mut wait: Vec<String> = Vec::new();
    let targets = dbs.iter().map(|d| d.name.as_str()).chain(
        files.iter().filter_map(|b| f.workloads.iter().find(|w| pod_target(w) == b.pod).map(|w| w.name.as_str())),
    );
    for name in targets {
        if let Some(w) = f.workloads.iter().find(|w| w.name == name) {
            if !wait.contains(&kref(w)) {
                wait.push(kref(w));
            }
        }
    }
    let variables_of = |keys: &[String]| -> Vec<String> {
        let mut vars: Vec<String> = Vec::new();
        for s in &f.secrets {
            for (key, of) in &s.keys {
                if keys.contains(key) {
                    for v in of {
                        if !vars.contains(v) {
                            vars.push(v.clone());
                        }
                    }
                }
            }
        }
        vars
    };
    let db_keys: Vec<String> =
        f.workloads.iter().filter(|w| is_db(w)).flat_map(|w| w.secret_keys.iter().cloned()).collect();
    let compose_dir = match f.guide.compose_file.as_deref().and_then(|c| c.rsplit_once('/')) {
        Some((dir, _)) if !dir.is_empty() => format!("../{dir}"),
        _ => "..".to_string(),
    };
    MoveView {
        compose_dir,
        stop,
        wait,
        volumes: volumes.into_iter().map(|b| b.archive).collect(),
        files,
        vector_folders: backed_up_by(f, Backup::OwnTool)
            .flat_map(|w| w.claims.iter().filter_map(move |c| c.host.clone().map(|h| (w.name.clone(), h))))
            .collect(),
        keep: f
            .guide
            .encryption_key
            .clone()
            .filter(|k| f.secrets.iter().any(|s| s.keys.iter().any(|(_, of)| of.contains(k)))),
        db_password_vars: variables_of(&db_keys),
    }
}
