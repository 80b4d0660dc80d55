//! The compose files: the first one (or standard input), the files merged over it in order (named,
//! or the override file beside it), and the services' mapping taken from them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use super::composition::include;
use super::inputs::{checked_text, read_named, Inputs};
use super::Options;
use crate::error::{Error, Result};
use crate::hash::sha256;
use crate::read::paths::{file_name, normalize, relative_name};
use crate::read::scope::ReadScope;
use crate::read::{merge, yaml};

/// The compose files read and merged: the first one's text and folder, the merged top-level
/// mapping, and where each service was written.
pub(super) struct ComposeFiles {
    pub(super) text: String,
    pub(super) top: Mapping,
    /// Where each included service was written, so problems in it point into that file.
    pub(super) origins: HashMap<String, (PathBuf, String)>,
    /// Each later file with the services it names, so a problem points into the file that set it.
    pub(super) later: Vec<(PathBuf, String, HashSet<String>)>,
    /// The later files, named relative to the first one's folder.
    pub(super) merged: Vec<String>,
    pub(super) found_override: bool,
}

impl ComposeFiles {
    /// The latest file that names service `name` and holds the value at `path`, else where the
    /// service was defined.
    pub(super) fn written_in<'a>(
        &'a self,
        compose_path: &'a Path,
        name: &str,
        path: &str,
        needle: &str,
    ) -> (&'a Path, &'a str) {
        let first =
            self.origins.get(name).map_or((compose_path, self.text.as_str()), |(p, t)| (p.as_path(), t.as_str()));
        self.later
            .iter()
            .rev()
            .filter(|(_, _, named)| named.contains(name))
            .map(|(p, t, _)| (p.as_path(), t.as_str()))
            .find(|(_, t)| yaml::holds(t, path, needle))
            .unwrap_or(first)
    }
}

/// The compose file (or standard input), its `include`s, and the files merged over it in order
/// (named, or the override file beside it); their relative paths are read from the first file's
/// folder, as compose reads them.
pub(super) fn read_compose_files(opts: &Options, inputs: &mut Inputs) -> Result<ComposeFiles> {
    let compose_path = &opts.compose;
    let expected = opts.expected.as_deref().unwrap_or("a compose file (compose.yaml, docker-compose.yml)");
    let text = match &opts.stdin {
        Some(bytes) => checked_text(compose_path, bytes.clone(), "compose file")?,
        None => read_named(compose_path, "compose file").map_err(|e| match compose_path.is_file() {
            true => e,
            false => e.with_help(format!("check the path; pass {expected}")),
        })?,
    };
    let dir = compose_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = yaml::parse(compose_path, &text, "compose file")?;
    let mut top = compose_mapping(compose_path, root, &format!("pass {expected}"))?;

    inputs.insert(file_name(compose_path), sha256(text.as_bytes()));
    let mut origins: HashMap<String, (PathBuf, String)> = HashMap::new();
    include(&mut top, compose_path, &dir, 0, inputs, &mut origins)?;

    // Later compose files, merged in order; their relative paths are read from the first file's
    // folder, as compose reads them.
    let mut more = opts.more.clone();
    let found_override = match override_beside(opts, &inputs.scope) {
        Some(path) => {
            more.push(path);
            true
        }
        None => false,
    };
    let mut later: Vec<(PathBuf, String, HashSet<String>)> = Vec::new();
    let mut merged = Vec::new();
    for path in &more {
        let text = read_named(path, "compose file")?;
        merged.push(relative_name(&dir, path));
        inputs.insert(relative_name(&dir, path), sha256(text.as_bytes()));
        let mut over = compose_mapping(
            path,
            yaml::parse(path, &text, "compose file")?,
            "pass a compose file to merge over the first one",
        )?;
        include(&mut over, path, &dir, 0, inputs, &mut origins)?;
        let named = match over.get("services") {
            Some(Value::Mapping(m)) => m.keys().filter_map(yaml::scalar_string).collect(),
            _ => HashSet::new(),
        };
        merge::merge_file(&mut top, over);
        later.push((path.clone(), text, named));
    }
    let mut top_value = Value::Mapping(top);
    merge::strip_tags(&mut top_value);
    let Value::Mapping(top) = top_value else { unreachable!("a mapping stays a mapping") };
    Ok(ComposeFiles { text, top, origins, later, merged, found_override })
}

/// A compose file's document as its top-level mapping, else the refusal naming what it is.
fn compose_mapping(path: &Path, document: Value, help: &str) -> Result<Mapping> {
    match document {
        Value::Mapping(m) => Ok(m),
        other => Err(Error::file(
            path,
            format!("the document is {}, not a mapping with `services:`", yaml::kind_of(&other)),
            help,
        )),
    }
}

/// Override files `docker compose` merges over the compose file of their folder, in its order of
/// preference (compose-go's `DefaultOverrideFileNames`).
const OVERRIDE_NAMES: &[&str] =
    &["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"];

/// The override file beside a single compose file read from disk, when asked to look for one.
fn override_beside(opts: &Options, scope: &ReadScope) -> Option<PathBuf> {
    if !opts.find_override || !opts.more.is_empty() || opts.stdin.is_some() {
        return None;
    }
    let dir = opts.compose.parent().map(Path::to_path_buf).unwrap_or_default();
    OVERRIDE_NAMES.iter().map(|n| dir.join(n)).find(|p| scope.is_file(p) && normalize(p) != normalize(&opts.compose))
}

/// An override file beside the compose file that is not read (a symlink out of the project, not a
/// regular file): said, since `docker compose` would merge it.
pub(super) fn override_not_read(opts: &Options, scope: &ReadScope) -> Option<String> {
    if !opts.find_override || !opts.more.is_empty() || opts.stdin.is_some() {
        return None;
    }
    let dir = opts.compose.parent().map(Path::to_path_buf).unwrap_or_default();
    OVERRIDE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.symlink_metadata().is_ok() && !scope.is_file(p))
        .map(|p| format!("{} is not read (not a regular file inside the project, or a link out of it), so it is not merged as `docker compose` would merge it", p.display()))
}

/// The services' mapping, taken out of the top level (not copied: they are most of the file), or
/// the top level itself of a legacy version 1 file.
pub(super) fn take_services(top: &mut Mapping, compose_path: &Path, notes: &mut Vec<String>) -> Result<Mapping> {
    let services_value = match top.get_mut("services").map(std::mem::take) {
        Some(Value::Mapping(m)) => m,
        Some(other) => {
            return Err(Error::file(
                compose_path,
                format!("`services` is {}, not a mapping", yaml::kind_of(&other)),
                "list the services under `services:`",
            ))
        }
        // Legacy v1 files: services at the top level, each with an image or build.
        None if !top.is_empty() && top.iter().all(|(k, v)| is_legacy_service(k, v)) => {
            notes.push(format!(
                "{} is a legacy version 1 file (services at the top level, no `services:`); read as if they were under `services:`",
                file_name(compose_path)
            ));
            top.clone()
        }
        None => {
            return Err(Error::file(
                compose_path,
                "the file has no `services:`",
                "pass a compose file that defines services",
            ))
        }
    };
    if services_value.is_empty() {
        return Err(Error::file(compose_path, "`services:` is empty", "pass a compose file that defines services"));
    }
    Ok(services_value)
}

fn is_legacy_service(key: &Value, value: &Value) -> bool {
    key.as_str().is_some_and(|k| !k.starts_with("x-"))
        && matches!(value, Value::Mapping(m) if m.contains_key("image") || m.contains_key("build"))
}
