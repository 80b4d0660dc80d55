//! A service's settings: the env files it names (`env_file`), then its own `environment`.

use yaml_serde::Value;

use super::{problem, Context, Problem, Reader, Setting};
use crate::read::yaml::{kind_of, scalar_string};

impl<C: Context> Reader<'_, C> {
    pub(super) fn env_files(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<(String, String, String, bool)>, Problem> {
        let items: Vec<&Value> = match value {
            Value::Sequence(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("{path}[{i}]");
            let (file, required) = match item {
                Value::Mapping(m) => {
                    let file = m.get("path").ok_or_else(|| problem(&at, "", "env_file entry has no `path`"))?;
                    let file = self.s(file, &at)?;
                    let required = match m.get("required") {
                        Some(r) => self.flag(r, &at)?,
                        None => true,
                    };
                    (file, required)
                }
                other => (self.s(other, &at)?, true),
            };
            let from_env_source = self.ctx.is_env_source(&file);
            if let Some(entries) = self.ctx.env_file(&file, required, &at)? {
                out.extend(entries.into_iter().map(|(k, v, o)| (k, v, o, from_env_source)));
            }
        }
        Ok(out)
    }

    pub(super) fn environment(&mut self, value: &Value, path: &str) -> Result<Vec<(String, Setting)>, Problem> {
        let mut out = Vec::new();
        match value {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let key = scalar_string(k).unwrap_or_default();
                    if v.is_null() {
                        // Compose takes it from its environment: here the pinned env source.
                        if let Some(value) = self.ctx.variable(&key, &format!("{path}.{key}")) {
                            out.push((
                                key.clone(),
                                Setting { value, origin: key, from_env_source: false, from_env_file: false },
                            ));
                        }
                        continue;
                    }
                    let raw = scalar_string(v)
                        .ok_or_else(|| problem(path, &key, format!("`{key}` is {}, not a string", kind_of(v))))?;
                    // The setting's own path only for a problem: formatting it for every setting of
                    // every service costs more than interpolating.
                    let (value, sole) = self.ctx.interpolate(&raw, path).map_err(|p| at_key(p, path, &key))?;
                    let origin = sole.unwrap_or_else(|| key.clone());
                    out.push((key, Setting { value, origin, from_env_source: false, from_env_file: false }));
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let raw = scalar_string(item).unwrap_or_default();
                    let Some((key, raw_value)) = raw.split_once('=') else {
                        let key = raw.trim().to_string();
                        if let Some(value) =
                            self.ctx.variable(&key, &format!("{path}.{key}")).filter(|_| !key.is_empty())
                        {
                            out.push((
                                key.clone(),
                                Setting { value, origin: key, from_env_source: false, from_env_file: false },
                            ));
                        }
                        continue;
                    };
                    let (value, sole) = self.ctx.interpolate(raw_value, path).map_err(|p| at_key(p, path, key))?;
                    let origin = sole.unwrap_or_else(|| key.to_string());
                    out.push((
                        key.to_string(),
                        Setting { value, origin, from_env_source: false, from_env_file: false },
                    ));
                }
            }
            Value::Null => {}
            other => return Err(problem(path, "environment", format!("environment is {}", kind_of(other)))),
        }
        Ok(out)
    }
}

/// A problem found at `path` moved to the key under it that holds the value (`….environment.KEY`).
fn at_key(mut p: Problem, path: &str, key: &str) -> Problem {
    if p.path == path {
        p.path = format!("{path}.{key}");
    }
    p
}
