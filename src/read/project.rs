//! What was read from upstream, ready for planning: the compose model's services with everything
//! around them (env source, networks, bind-mounted files, input hashes, notes and warnings).

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use crate::read::compose::{Network, Service};
use crate::warning::Warning;

/// A bind-mounted host path as found beside the compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPath {
    File(String),
    /// A file that is not text, small enough for a ConfigMap's `binaryData`.
    Binary(Vec<u8>),
    /// A folder with files (name relative to the folder → text). Empty when upstream ships it empty.
    Dir(BTreeMap<String, String>),
    Missing,
    /// There, but not read (too large for a ConfigMap, outside the project, not a regular file):
    /// warned about when read, it becomes an empty claim.
    Unread,
}

/// Everything read from upstream, ready for planning. No further I/O happens after this.
#[derive(Debug, Clone)]
pub struct Project {
    /// The compose file as given on the command line.
    pub compose_name: String,
    /// Compose files merged over it, in order, named relative to its folder; the flag says whether
    /// the last one is the override file found beside it.
    pub merged: Vec<String>,
    pub found_override: bool,
    pub services: IndexMap<String, Service>,
    /// Services whose profiles are active (or that have none).
    pub active: BTreeSet<String>,
    pub profiles: Vec<String>,
    pub networks: BTreeMap<String, Network>,
    /// Top-level keys of the compose file other than services/networks/volumes and `x-` blocks.
    pub unread_top: Vec<String>,
    /// The env source after `--set` and interpolation (name → value), file order.
    pub env: IndexMap<String, String>,
    /// Bind-mount sources of active services, keyed by the path as written (`./nginx/ssl`).
    pub host_paths: BTreeMap<String, HostPath>,
    /// Input files with their contents' SHA-256, named relative to the compose folder.
    pub inputs: BTreeMap<String, String>,
    /// Where each service key that is not read (`unread`) is written: (service, key) → place.
    pub unread_places: BTreeMap<(String, String), crate::error::Location>,
    /// One-line notes for stderr (example files read in place of missing ones, a legacy file).
    pub notes: Vec<String>,
    /// Files of the application's own repository read from the checkout the compose folder sits in
    /// (path in the repository → text): the release's own image sources (`api/Dockerfile`).
    pub checkout: BTreeMap<String, String>,
    /// Things read but not translated faithfully (secrets, build-only images, network modes, folders
    /// too large or not text); the plan reports them with its own, so `--strict` refuses them too.
    pub warnings: Vec<Warning>,
}
