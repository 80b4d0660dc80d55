//! The application's own words for the tree's README: the `guide:` section of the rule files.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The application's own words for the tree's README (`guide:` in mappings/dify.yaml).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    /// The application's name (`Dify`); none: the guide speaks of "the application".
    pub product: Option<String>,
    /// Where upstream keeps its compose setup, as the guide names it (`docker/docker-compose.yaml`).
    pub compose_file: Option<String>,
    /// Links at the end of the guide, after the Kubernetes ones.
    #[serde(default)]
    pub links: Vec<GuideLink>,
    /// Title, purpose, layer and backup of a workload, by folder name or role.
    #[serde(default)]
    pub workloads: BTreeMap<String, GuideWorkload>,
    /// The workload in front that receives outside traffic (folder name or role); none: any
    /// workload with a LoadBalancer or NodePort Service.
    pub entry: Option<String>,
    /// The scheduler of periodic tasks, which must stay at one replica.
    pub scheduler: Option<String>,
    /// Workloads that keep internet access to call model providers and plugin sources.
    #[serde(default)]
    pub internet: Vec<String>,
    /// A workload whose outbound traffic goes through a proxy, and the proxy.
    pub proxied: Option<GuideProxied>,
    /// The upstream service that makes TLS certificates (Dify's `certbot`), which the guide names
    /// when it is left out.
    pub tls: Option<String>,
    /// The setting that holds the password the first start asks for (Dify's `INIT_PASSWORD` at
    /// `/install`): the guide says how to read it.
    pub admin_password: Option<String>,
    /// The program versions the tree's edits of a workload's config files were run with (folder name
    /// or role → `nginx 1.22`): the guide names them, and the nginx and squid tests fail when the
    /// programs they run are other versions.
    #[serde(default)]
    pub config_checked_with: BTreeMap<String, String>,
    /// The setting whose value signs and encrypts stored data (Dify's `SECRET_KEY`): moving an
    /// install keeps it, or the data the old value protects is lost.
    pub encryption_key: Option<String>,
    /// The workloads the guide's example commands use.
    #[serde(default)]
    pub examples: GuideExamples,
    /// The main traffic paths, one a line: hops of folder names or roles (comma-separated, each
    /// workload shown once per path) joined by `->` (or `<->` both ways); `Internet` is the outside,
    /// `<entry>` the entry workload. A hop ending in `?` ends the path where it has no workload;
    /// any other hop without one drops the path.
    #[serde(default)]
    pub traffic: Vec<String>,
    /// How the data of a workload is backed up by its image's repository (`postgres`, `mysql`,
    /// without registry, `library/` and tag), for workloads the rules' `workloads` give no backup.
    #[serde(default)]
    pub backup_images: BTreeMap<String, Backup>,
    /// The guide's example of files in object storage reached with the pods' own cloud identity.
    pub object_storage: Option<GuideObjectStorage>,
}

/// Files in S3 with the pods' own role (IRSA): the settings, the workloads that read and write the
/// files, and the plugin daemon's own object storage (which lets it run several replicas).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideObjectStorage {
    pub settings: Vec<String>,
    pub workloads: Vec<String>,
    pub plugin_workload: Option<String>,
    #[serde(default)]
    pub plugin_settings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideProxied {
    pub workload: String,
    pub proxy: String,
}

/// Folder names or roles of the workloads the guide's examples show.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideExamples {
    /// Applied alone (`kubectl apply -k services/<it>/`); none: the first workload.
    pub apply: Option<String>,
    /// Whose logs the status check follows (a Deployment).
    pub logs: Option<String>,
    /// Restarted and rolled back (a Deployment); none: the first Deployment.
    pub restart: Option<String>,
    /// Scaled (Deployments); none: the guide names no workload to scale.
    #[serde(default)]
    pub scale: Vec<String>,
}

/// Which part of the stack a workload belongs to, for the guide's service details.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Data,
    App,
    Support,
}

/// How a workload's data is backed up, beyond archiving its claims with `tar`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Backup {
    /// A PostgreSQL server: `pg_dumpall` and `psql`.
    PgDumpall,
    /// A Redis server: `redis-cli BGSAVE` and its `dump.rdb`.
    RedisBgsave,
    /// A MySQL server (the official image): `mysqldump` and `mysql`.
    Mysqldump,
    /// A MariaDB server (the official image): `mariadb-dump` and `mariadb`.
    MariadbDump,
    /// A MongoDB server (the official image): `mongodump --archive` and `mongorestore`.
    Mongodump,
    /// A database with a backup feature of its own (a vector store).
    OwnTool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideLink {
    pub en: String,
    pub ja: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GuideWorkload {
    pub title: Option<Text>,
    pub purpose: Option<Text>,
    /// Its part of the stack; none: a supporting service.
    pub layer: Option<Layer>,
    pub backup: Option<Backup>,
}

/// A text in both languages of the guide.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub ja: String,
}
