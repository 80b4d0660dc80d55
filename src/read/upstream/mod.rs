//! Reading Dify's `docker/` folder as it is: the compose file, the pinned env source (`.env`, else
//! `.env.example`, or `--env-file`), the env files services name, and the files they bind-mount.
//! This is the only module that reads input files.
//!
//! `load` runs the steps in order: the compose files (`compose_files`, with what they name in
//! `composition`), the env source (`env_source`), each service through the `loader` that
//! interpolates and reads env files (`services`), then the files the active services bind-mount
//! (`bound_files`). Every read goes through `inputs`, confined to the project and recorded.

mod bound_files;
mod compose_files;
mod composition;
mod env_source;
mod inputs;
mod loader;
mod services;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::hash::sha256;
use crate::read::paths::file_name;
pub use crate::read::project::{HostPath, Project};
use crate::read::scope::{self, ReadScope};
use crate::warning::{Warning, WarningKind};
use bound_files::read_host_paths;
use compose_files::{override_not_read, read_compose_files, take_services};
use composition::{configs_and_secrets, extends};
use env_source::read_env_source;
use inputs::Inputs;
use loader::Loader;
use services::{active_profiles, active_warnings, networks, read_services, unread_top, unused_settings};

/// What the user chose on the command line about the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The first compose file; its folder is the folder every relative path is read from.
    pub compose: PathBuf,
    /// Compose files merged over it, in order (`a.yaml b.yaml`, `-f a.yaml -f b.yaml`).
    pub more: Vec<PathBuf>,
    /// With no `more`, merge the override file beside `compose` (`compose.override.yaml` …), as
    /// `docker compose` does in that folder. The command line sets it unless `--no-override`.
    pub find_override: bool,
    pub env_file: Option<PathBuf>,
    /// `--set KEY=VALUE`: replaces the value in the env source (before anything is interpolated)
    /// and in every env file a service reads.
    pub set: Vec<(String, String)>,
    /// Settings the rules derive (the public URL's, the in-cluster addresses): each is set as a
    /// `--set` is, but only where the release has the setting (its env source, or a service's
    /// settings) and no `--set` names it.
    pub derived: Vec<(String, String)>,
    /// `--profile`: replaces `COMPOSE_PROFILES` when given.
    pub profiles: Option<Vec<String>>,
    /// The compose file's bytes when they come from standard input (`-`); `compose` then only
    /// names it, and its folder is the current one.
    pub stdin: Option<Vec<u8>>,
    /// What the compose file should be, for the help of an error about it (`Dify's
    /// docker/docker-compose.yaml`, from the rules' `guide:`); none: any compose file.
    pub expected: Option<String>,
    /// Files of the application's own repository that tell its images' facts (`api/Dockerfile`),
    /// read from the folder above the compose folder when it is a checkout of it (a Dify checkout:
    /// `docker/` beside `api/` and `web/`).
    pub checkout_files: BTreeSet<String>,
    /// `--allow-read`: folders outside the compose file's folder that files may be read from.
    pub allow_read: Vec<PathBuf>,
}

/// Read the compose file and everything it names.
pub fn load(opts: &Options) -> Result<Project> {
    let compose_path = &opts.compose;
    let dir = compose_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut inputs = Inputs { hashes: BTreeMap::new(), scope: ReadScope::new(&dir, &opts.allow_read) };
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let mut files = read_compose_files(opts, &mut inputs)?;
    if let Some(text) = override_not_read(opts, &inputs.scope).filter(|_| !files.found_override) {
        warnings.push(Warning::new(WarningKind::Config, text));
    }
    let env = read_env_source(opts, &dir, &mut inputs)?;
    let mut services_value = take_services(&mut files.top, compose_path, &mut notes)?;
    extends(&mut services_value, compose_path, &dir, &mut inputs)?;
    configs_and_secrets(&mut services_value, &files.top, &mut warnings);
    let mut ctx = Loader {
        dir: dir.clone(),
        env: &env.values,
        env_source: env.path.clone(),
        overrides: &env.overrides,
        cache: HashMap::new(),
        interpolated: HashMap::new(),
        expanded: 0,
        inputs: &mut inputs,
        examples_read: Vec::new(),
        known: HashSet::new(),
        unset: Vec::new(),
    };
    let (services, unread_places) = read_services(&files, compose_path, services_value, &mut ctx, &mut warnings)?;
    if let Some(again) = env_source::derived_beyond_env_source(opts, &env.source_keys, &services) {
        return load(&again);
    }
    unused_settings(opts, &ctx, &env.source_keys, &mut warnings, &mut notes);
    let (profiles, active) = active_profiles(opts, &env.values, &services, compose_path)?;
    active_warnings(&services, &active, &mut warnings);
    let host_paths = read_host_paths(&dir, &services, &active, &mut inputs, &mut warnings)?;
    let checkout =
        if opts.stdin.is_some() { BTreeMap::new() } else { read_checkout(&dir, &opts.checkout_files, &mut inputs) };
    Ok(Project {
        checkout,
        compose_name: file_name(compose_path),
        merged: files.merged,
        found_override: files.found_override,
        services,
        active,
        profiles,
        networks: networks(&files.top),
        unread_top: unread_top(&files.top),
        env: env.values,
        host_paths,
        inputs: inputs.hashes,
        notes,
        warnings,
        unread_places,
    })
}

/// Largest source file read from a checkout (a Dockerfile, a version file).
const MAX_CHECKOUT_FILE: u64 = 1 << 20;

/// The checkout files that exist above the compose folder, by their path in the repository: only
/// regular files (no symlink), each at most `MAX_CHECKOUT_FILE`; recorded as inputs (`../api/Dockerfile`).
fn read_checkout(dir: &Path, files: &BTreeSet<String>, inputs: &mut Inputs) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if files.is_empty() {
        return out;
    }
    let here = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Some(root) = std::fs::canonicalize(here).ok().and_then(|d| d.parent().map(Path::to_path_buf)) else {
        return out;
    };
    for file in files {
        if file.split('/').any(|part| part == ".." || part == "." || part.is_empty()) {
            continue;
        }
        // No symlink on the way (a linked `api/` folder leads anywhere), only a regular file,
        // opened without blocking, at most MAX_CHECKOUT_FILE.
        if scope::symlink_on_the_way(&root, file).is_some() {
            continue;
        }
        if let Ok(text) = scope::read_tree_text(&root.join(file), MAX_CHECKOUT_FILE) {
            inputs.insert(format!("../{file}"), sha256(text.as_bytes()));
            out.insert(file.clone(), text);
        }
    }
    out
}
