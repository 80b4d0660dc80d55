//! What reading a service needs from outside (the compose model's `Context`): its strings
//! interpolated with the env source, and the env files it names read (each once), bounded.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::env_source::{interpolation_help, interpolation_message};
use super::inputs::Inputs;
use crate::hash::sha256;
use crate::read::compose::{Context, EnvEntries, Problem};
use crate::read::dotenv;
use crate::read::interpolate;
use crate::read::paths::{normalize, relative_name};
use crate::read::scope::MAX_TEXT_BYTES;

pub(super) struct Loader<'a> {
    pub(super) dir: PathBuf,
    pub(super) env: &'a IndexMap<String, String>,
    pub(super) env_source: Option<PathBuf>,
    pub(super) overrides: &'a HashMap<String, String>,
    pub(super) cache: HashMap<PathBuf, Option<EnvEntries>>,
    /// Interpolated strings: a shared env block merged into every service repeats the same ones.
    pub(super) interpolated: HashMap<String, (String, Option<String>)>,
    /// Bytes of interpolated values handed out so far.
    pub(super) expanded: usize,
    pub(super) inputs: &'a mut Inputs,
    /// Env files read from their `.example` because the file itself is missing.
    pub(super) examples_read: Vec<String>,
    /// Every variable a compose string refers to and every key of an env file read: what `--set`
    /// can change.
    pub(super) known: HashSet<String>,
    /// `environment` entries that name only a key the env source does not set: (service path, key).
    pub(super) unset: Vec<(String, String)>,
}

/// Largest sum of the compose file's strings after interpolation: a file that repeats a large
/// variable a million times is refused before it fills the memory.
const MAX_INTERPOLATED_BYTES: usize = 64 << 20;

impl Loader<'_> {
    /// An interpolated value, refused once the file's values together pass the limit.
    fn bounded(
        &self,
        value: (String, Option<String>),
        path: &str,
        raw: &str,
    ) -> std::result::Result<(String, Option<String>), Problem> {
        if let Some(c) = crate::text::first_refused(&value.0) {
            return Err(Problem {
                path: path.to_string(),
                needle: raw.chars().take_while(|c| !crate::text::refused_by_kubectl(*c)).collect(),
                message: format!(
                    "the value holds the control character {c}, which kubectl and kustomize refuse in any YAML"
                ),
                help: "remove the character (or the variable's) from the value".to_string(),
            });
        }
        if self.expanded <= MAX_INTERPOLATED_BYTES {
            return Ok(value);
        }
        Err(Problem {
            path: path.to_string(),
            needle: raw.to_string(),
            message: format!(
                "the compose file's values, with variables put in, pass {MAX_INTERPOLATED_BYTES} bytes here"
            ),
            help: "a value repeated this often is not configuration; write fewer, smaller values".to_string(),
        })
    }

    /// The settings of the env file at `p` (named `file` by the entry at `at`), with the `--set`s
    /// put in; for the env source, the `--set`s it lacks added.
    fn entries(&mut self, p: &Path, file: &str, at: &str) -> std::result::Result<EnvEntries, Problem> {
        let refusal = |message: String, help: &str| Problem {
            path: at.to_string(),
            needle: file.to_string(),
            message,
            help: help.to_string(),
        };
        let bytes = self
            .inputs
            .scope
            .read(p, MAX_TEXT_BYTES)
            .map_err(|r| refusal(format!("env file `{}` {r}", p.display()), r.help()))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            refusal(format!("env file `{}` is not UTF-8 text", p.display()), "make the file UTF-8 text")
        })?;
        self.inputs.insert(relative_name(&self.dir, p), sha256(text.as_bytes()));
        let entries = dotenv::parse(&text).map_err(|e| Problem {
            path: at.to_string(),
            needle: file.to_string(),
            message: format!("{}:{}:{}: invalid env file: {}", relative_name(&self.dir, p), e.line, e.column, e.reason),
            help: "fix this line of the env file".to_string(),
        })?;
        self.known.extend(entries.iter().map(|e| e.key.clone()));
        // `--set` edits the setting in every env file that has it (so it reaches settings that
        // newer releases keep in `envs/**`), and adds it to the env source.
        let is_source = self.env_source.as_ref().is_some_and(|s| normalize(s) == normalize(p));
        let overrides = self.overrides;
        let env = self.env;
        let over = |k: &str| overrides.get(k).cloned();
        let expanded = dotenv::expand(&entries, &over, &|k| env.get(k).cloned()).map_err(|(line, e)| Problem {
            path: at.to_string(),
            needle: file.to_string(),
            message: format!("{}:{line}: {}", relative_name(&self.dir, p), interpolation_message(&e)),
            help: interpolation_help(&e),
        })?;
        if let Some((k, c)) = expanded.iter().find_map(|(k, v, _)| crate::text::first_refused(v).map(|c| (k, c))) {
            let line = entries.iter().find(|e| &e.key == k).map_or(1, |e| e.line);
            return Err(refusal(
                format!("{}:{line}: the value of `{k}` holds the control character {c}, which kubectl and kustomize refuse in any YAML", relative_name(&self.dir, p)),
                "remove the character from the value",
            ));
        }
        let mut out: Vec<(String, String, String)> =
            expanded.into_iter().map(|(k, v, sole)| (k.clone(), v, sole.unwrap_or(k))).collect();
        if is_source {
            for (k, v) in overrides {
                if !out.iter().any(|(key, _, _)| key == k) {
                    out.push((k.clone(), v.clone(), k.clone()));
                }
            }
            out.sort_by_key(|(k, _, _)| !entries.iter().any(|e| &e.key == k));
        }
        Ok(out)
    }
}

impl Context for Loader<'_> {
    fn variable(&mut self, key: &str, at: &str) -> Option<String> {
        self.known.insert(key.to_string());
        let value = self.env.get(key).cloned();
        if value.is_none() {
            self.unset.push((at.to_string(), key.to_string()));
        }
        value
    }

    fn interpolate(&mut self, raw: &str, path: &str) -> std::result::Result<(String, Option<String>), Problem> {
        if let Some(done) = self.interpolated.get(raw) {
            self.expanded += done.0.len();
            return self.bounded(done.clone(), path, raw);
        }
        let env = self.env;
        match interpolate::interpolate(raw, &|k| env.get(k).cloned()) {
            Ok(i) => {
                self.expanded += i.value.len();
                self.known.extend(i.vars.iter().cloned());
                self.interpolated.insert(raw.to_string(), (i.value.clone(), i.sole_var.clone()));
                self.bounded((i.value, i.sole_var), path, raw)
            }
            Err(e) => Err(Problem {
                path: path.to_string(),
                needle: raw.to_string(),
                message: interpolation_message(&e),
                help: interpolation_help(&e),
            }),
        }
    }

    fn is_env_source(&self, file: &str) -> bool {
        let path = normalize(&self.dir.join(file));
        let example = PathBuf::from(format!("{}.example", path.display()));
        let default = normalize(&self.dir.join(".env"));
        path == default || self.env_source.as_ref().is_some_and(|s| [&path, &example].contains(&&normalize(s)))
    }

    fn env_file(
        &mut self,
        file: &str,
        required: bool,
        at: &str,
    ) -> std::result::Result<Option<Vec<(String, String, String)>>, Problem> {
        let path = normalize(&self.dir.join(file));
        if let Some(cached) = self.cache.get(&path) {
            return Ok(cached.clone());
        }
        let example = PathBuf::from(format!("{}.example", path.display()));
        // Whatever stands there is read (and a symlink out of the project, a FIFO refused).
        let chosen = if path.symlink_metadata().is_ok() {
            Some(path.clone())
        } else if example.symlink_metadata().is_ok() {
            self.examples_read.push(file.to_string());
            Some(example)
        } else if required {
            return Err(Problem {
                path: at.to_string(),
                needle: file.to_string(),
                message: format!("env file `{file}` does not exist (nor `{file}.example`)"),
                help: "create it, or mark the entry `required: false`".to_string(),
            });
        } else {
            None
        };
        let result = match chosen {
            None => None,
            Some(p) => Some(self.entries(&p, file, at)?),
        };
        self.cache.insert(path, result.clone());
        Ok(result)
    }
}
