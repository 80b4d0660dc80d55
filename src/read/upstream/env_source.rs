//! The env source, pinned: `--env-file`, else `.env`, else `.env.example` beside the compose file,
//! with the `--set`s over it; and how an interpolation error is told.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::inputs::{read_named, Inputs};
use super::Options;
use crate::error::{Error, Result};
use crate::hash::sha256;
use crate::read::compose::Service;
use crate::read::dotenv;
use crate::read::interpolate::InterpolationError;
use crate::read::paths::relative_name;

/// The env source, pinned: its values after `--set` (which also adds variables it lacks), the keys
/// it sets itself, and the `--set`s.
pub(super) struct EnvSource {
    pub(super) path: Option<PathBuf>,
    pub(super) values: IndexMap<String, String>,
    pub(super) source_keys: HashSet<String>,
    pub(super) overrides: HashMap<String, String>,
}

pub(super) fn read_env_source(opts: &Options, dir: &Path, inputs: &mut Inputs) -> Result<EnvSource> {
    let (env_path, env_text) = env_source(opts, dir, inputs)?;
    let mut entries = Vec::new();
    if let (Some(path), Some(text)) = (&env_path, &env_text) {
        inputs.insert(relative_name(dir, path), sha256(text.as_bytes()));
        entries = dotenv::parse(text).map_err(|e| {
            Error::at(path, text, e.line, e.column, format!("invalid env file: {}", e.reason), "fix this line")
        })?;
    }
    // The derived settings the env source has, then the `--set`s.
    let has = |k: &String| entries.iter().any(|e| &e.key == k) && !opts.set.iter().any(|(s, _)| s == k);
    let overrides: HashMap<String, String> =
        opts.derived.iter().filter(|(k, _)| has(k)).chain(&opts.set).cloned().collect();
    let mut env = IndexMap::new();
    if let (Some(path), Some(text)) = (&env_path, &env_text) {
        let expanded = dotenv::expand(&entries, &|k| overrides.get(k).cloned(), &|_| None)
            .map_err(|(line, e)| interpolation_error(path, text, Some(line), &e))?;
        for (k, v, _) in expanded {
            env.insert(k, v);
        }
    }
    let source_keys: HashSet<String> = env.keys().cloned().collect();
    for (k, v) in &opts.set {
        env.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(EnvSource { path: env_path, values: env, source_keys, overrides })
}

/// The options to read again with, when a derived setting the env source lacks is one of a
/// service's settings (its `environment`, or an env file it reads): every derived setting the
/// release has then becomes a `--set` before the user's, as it must be known before anything is
/// interpolated. None when the env source holds every derived setting the release has (the one
/// read stands).
pub(super) fn derived_beyond_env_source(
    opts: &Options,
    source_keys: &HashSet<String>,
    services: &IndexMap<String, Service>,
) -> Option<Options> {
    let given = |k: &String| opts.set.iter().any(|(s, _)| s == k);
    let in_services = |k: &String| services.values().any(|s| s.environment.contains_key(k));
    if !opts.derived.iter().any(|(k, _)| !source_keys.contains(k) && !given(k) && in_services(k)) {
        return None;
    }
    let known = opts.derived.iter().filter(|(k, _)| (source_keys.contains(k) || in_services(k)) && !given(k));
    Some(Options { set: known.chain(&opts.set).cloned().collect(), derived: Vec::new(), ..opts.clone() })
}

fn env_source(opts: &Options, dir: &Path, inputs: &Inputs) -> Result<(Option<PathBuf>, Option<String>)> {
    if let Some(path) = &opts.env_file {
        return Ok((Some(path.clone()), Some(read_named(path, "env file")?)));
    }
    for name in [".env", ".env.example"] {
        let path = dir.join(name);
        // A symlink or a FIFO there is read, and refused with its reason.
        if path.symlink_metadata().is_ok() {
            let text = inputs.text(&path, "env file")?;
            return Ok((Some(path), Some(text)));
        }
    }
    Ok((None, None))
}

pub(super) fn interpolation_message(e: &InterpolationError) -> String {
    match e {
        InterpolationError::Required { var, message, .. } if message.is_empty() => {
            format!("required variable `{var}` is not set")
        }
        InterpolationError::Required { var, message, .. } => format!("required variable `{var}` is not set: {message}"),
        InterpolationError::Syntax { reason, .. } => format!("invalid interpolation: {reason}"),
        InterpolationError::TooLong { var, limit } => {
            format!("the value of `{var}` grows past {limit} bytes as variables are put in")
        }
    }
}

pub(super) fn interpolation_help(e: &InterpolationError) -> String {
    match e {
        InterpolationError::Required { var, .. } => format!("set it in the env file, or pass --set {var}=VALUE"),
        InterpolationError::Syntax { .. } => "write `$$` for a literal dollar sign".to_string(),
        InterpolationError::TooLong { .. } => {
            "values that repeat each other again and again are not configuration; write the value itself".to_string()
        }
    }
}

fn interpolation_error(path: &Path, text: &str, line: Option<usize>, e: &InterpolationError) -> Error {
    match line {
        Some(line) => Error::at(path, text, line, 1, interpolation_message(e), interpolation_help(e)),
        None => Error::file(path, interpolation_message(e), interpolation_help(e)),
    }
}
