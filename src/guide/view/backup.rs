//! The Backup chapter: each database with its own dump tool, each Redis with BGSAVE, the files of
//! every other claim through a pod, and what a restore stops first.

use super::lookup::{backup, is_deployment, is_statefulset, kref, pod_target, Lookup};
use crate::guide::{Facts, WorkloadFacts};
use crate::rules::Backup;

/// What the Backup chapter says.
#[derive(serde::Serialize)]
pub(super) struct BackupChapter {
    /// The databases saved with their own dump tool (PostgreSQL, MySQL, MariaDB, MongoDB).
    databases: Vec<DbView>,
    /// The Redis servers saved with BGSAVE.
    caches: Vec<CacheView>,
    /// What a database restore stops first: the Deployments without a backup of their own
    /// (`all`: every Deployment), and the selector of their pods.
    restore_stop: Option<StopView>,
    /// Claims archived with `tar` through a pod.
    file_backups: Vec<FileBackupView>,
    /// Vector stores with claims.
    vector_stores: Vec<String>,
}

/// The Backup chapter of the facts.
pub(super) fn backup_chapter(f: &Facts, r: &Lookup) -> BackupChapter {
    BackupChapter {
        databases: databases(f),
        caches: backed_up_by(f, Backup::RedisBgsave).map(cache_view).collect(),
        restore_stop: restore_stop(f),
        file_backups: r.file_backups(),
        vector_stores: backed_up_by(f, Backup::OwnTool)
            .filter(|w| !w.claims.is_empty())
            .map(|w| w.name.clone())
            .collect(),
    }
}

/// A database saved with its own dump tool.
#[derive(serde::Serialize)]
pub(super) struct DbView {
    pub(super) name: String,
    /// Its compose service (`db_postgres`), where a compose install's data is.
    upstream: String,
    /// `postgres`, `mysql`, `mariadb` or `mongo`.
    engine: &'static str,
    /// `postgres-0` for a StatefulSet, else the workload reference.
    pod: String,
    /// The shell commands run in its container: the one that writes the dump to its output, and
    /// the one that reads it back.
    dump: String,
    restore: String,
    /// The dump's file name.
    file: String,
}

/// A Redis server saved with BGSAVE.
#[derive(serde::Serialize)]
struct CacheView {
    name: String,
    pod: String,
    /// The folder it saves `dump.rdb` to (its claim's, else the official image's `/data`).
    dir: String,
    /// Whether `kubectl cp` reaches its pod by name (a StatefulSet's); else the file is read with
    /// `kubectl exec … cat`.
    named_pod: bool,
    /// Whether its container has `REDISCLI_AUTH`, which `redis-cli` reads the password from.
    cli_auth: bool,
}

/// The Deployments a database restore stops.
#[derive(serde::Serialize)]
struct StopView {
    /// Every Deployment of the tree.
    all: bool,
    /// `deployment/api`, … (those stopped).
    krefs: Vec<String>,
    /// The label selector of their pods.
    selector: String,
}

/// A claim archived with `tar` through a pod that mounts it.
#[derive(serde::Serialize)]
pub(super) struct FileBackupView {
    pub(super) pod: String,
    pub(super) path: String,
    pub(super) archive: String,
    /// The init container that copies config files onto the claim at every start.
    pub(super) seed_init: Option<String>,
    /// The compose file's host folder the claim was made from (`./volumes/app/storage`).
    pub(super) host: Option<String>,
}

/// The databases saved with their own dump tool, each with the commands its image runs.
pub(super) fn databases(f: &Facts) -> Vec<DbView> {
    let dbs: Vec<(&WorkloadFacts, Backup)> = f
        .workloads
        .iter()
        .filter_map(|w| backup(&f.guide, w).map(|b| (w, b)))
        .filter(|(_, b)| matches!(b, Backup::PgDumpall | Backup::Mysqldump | Backup::MariadbDump | Backup::Mongodump))
        .collect();
    let single = dbs.len() == 1;
    dbs.into_iter()
        .map(|(w, b)| {
            let (engine, dump, restore, ext) = match b {
                Backup::PgDumpall => (
                    "postgres",
                    r#"pg_dumpall --clean --if-exists -U "${POSTGRES_USER:-postgres}""#.to_string(),
                    r#"psql -U "${POSTGRES_USER:-postgres}" -d postgres"#.to_string(),
                    "sql",
                ),
                Backup::Mongodump => {
                    // The official image creates its root user from these at first start; without
                    // them the server runs without authentication.
                    let auth = if w.env.contains("MONGO_INITDB_ROOT_USERNAME") {
                        r#" -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin"#
                    } else {
                        ""
                    };
                    (
                        "mongo",
                        format!("exec mongodump --archive{auth}"),
                        format!("exec mongorestore --archive --drop{auth}"),
                        "archive",
                    )
                }
                _ => {
                    let maria = b == Backup::MariadbDump;
                    let (dump, client) = if maria { ("mariadb-dump", "mariadb") } else { ("mysqldump", "mysql") };
                    let login = mysql_login(w, maria);
                    (
                        if maria { "mariadb" } else { "mysql" },
                        format!("exec {dump} --single-transaction --no-tablespaces {login}"),
                        format!("exec {client} {login}"),
                        "sql",
                    )
                }
            };
            let file = if single && f.guide.product.is_some() {
                format!("{}-db.{ext}", f.storage.instance)
            } else {
                format!("{}.{ext}", w.name)
            };
            DbView { name: w.name.clone(), upstream: w.upstream.clone(), engine, pod: pod_target(w), dump, restore, file }
        })
        .collect()
}

/// The login and database of a MySQL or MariaDB official image, from the variables its container
/// has: the application user (`MYSQL_USER`, or `MARIADB_USER` for MariaDB) and its database, else
/// root with the root password and every database.
fn mysql_login(w: &WorkloadFacts, maria: bool) -> String {
    let has = |names: &[&'static str]| names.iter().copied().find(|n| w.env.contains(*n));
    let names = |suffix: &str| -> Vec<&'static str> {
        let all: [(&str, &'static str, &'static str); 4] = [
            ("USER", "MARIADB_USER", "MYSQL_USER"),
            ("PASSWORD", "MARIADB_PASSWORD", "MYSQL_PASSWORD"),
            ("DATABASE", "MARIADB_DATABASE", "MYSQL_DATABASE"),
            ("ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"),
        ];
        let (_, m, y) = all.into_iter().find(|(s, _, _)| *s == suffix).expect("a known suffix");
        if maria {
            vec![m, y]
        } else {
            vec![y]
        }
    };
    match (has(&names("USER")), has(&names("PASSWORD"))) {
        (Some(user), Some(password)) => {
            let db = has(&names("DATABASE")).map_or_else(|| "--all-databases".to_string(), |d| format!(r#""${d}""#));
            format!(r#"-u"${user}" -p"${password}" {db}"#)
        }
        _ => {
            let root = has(&names("ROOT_PASSWORD")).unwrap_or(if maria {
                "MARIADB_ROOT_PASSWORD"
            } else {
                "MYSQL_ROOT_PASSWORD"
            });
            let db = has(&names("DATABASE")).map_or_else(|| "--all-databases".to_string(), |d| format!(r#""${d}""#));
            format!(r#"-uroot -p"${root}" {db}"#)
        }
    }
}

/// The cache saved with BGSAVE: its pod and the folder it saves to.
fn cache_view(w: &WorkloadFacts) -> CacheView {
    CacheView {
        name: w.name.clone(),
        pod: pod_target(w),
        dir: w.claims.first().map_or_else(|| "/data".to_string(), |c| c.mount_path.trim_end_matches('/').to_string()),
        named_pod: is_statefulset(w),
        cli_auth: w.env.contains("REDISCLI_AUTH"),
    }
}

/// The Deployments a database restore stops: those without a backup of their own.
fn restore_stop(f: &Facts) -> Option<StopView> {
    let deployments: Vec<&WorkloadFacts> = f.workloads.iter().filter(|w| is_deployment(w)).collect();
    let stopped: Vec<&&WorkloadFacts> = deployments.iter().filter(|w| backup(&f.guide, w).is_none()).collect();
    (!stopped.is_empty()).then(|| StopView {
        all: stopped.len() == deployments.len(),
        krefs: stopped.iter().map(|w| kref(w)).collect(),
        selector: format!(
            "app.kubernetes.io/part-of={},app.kubernetes.io/name in ({})",
            f.storage.instance,
            stopped.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(",")
        ),
    })
}

/// The workloads the rules (or their image) back up with `tool`.
pub(super) fn backed_up_by(f: &Facts, tool: Backup) -> impl Iterator<Item = &WorkloadFacts> {
    f.workloads.iter().filter(move |w| backup(&f.guide, w) == Some(tool))
}

impl Lookup<'_> {
    /// `tar` through a pod for every claim that holds data and has no other backup above.
    pub(super) fn file_backups(&self) -> Vec<FileBackupView> {
        let f = self.f;
        let mut targets: Vec<FileBackupView> = Vec::new();
        if let Some(c) = &f.shared_claim {
            let user = f.storage.shared_claim_users.iter().find_map(|(w, p)| {
                f.workloads.iter().find(|x| &x.name == w && x.replicas > 0).map(|x| (pod_target(x), p.clone()))
            });
            if let Some((pod, path)) = user {
                targets.push(FileBackupView {
                    pod,
                    path,
                    archive: c.name.clone(),
                    seed_init: c.seed_init.clone(),
                    host: c.host.clone(),
                });
            }
        }
        for w in &f.workloads {
            // A Job's pods have finished: nothing to exec into. A database backed up with its own
            // tool has its own section: a copy of a running server's files may not restore.
            if w.kind == "Job" || backup(&f.guide, w).is_some() {
                continue;
            }
            for c in w.claims.iter().filter(|c| !self.is_shared(&c.name)) {
                let archive = if is_statefulset(w) { format!("{}-{}-0", c.name, w.name) } else { c.name.clone() };
                if !targets.iter().any(|t| t.archive == archive) {
                    targets.push(FileBackupView {
                        pod: pod_target(w),
                        path: c.mount_path.clone(),
                        archive,
                        seed_init: c.seed_init.clone(),
                        host: c.host.clone(),
                    });
                }
            }
        }
        targets
    }
}
