//! `compose2dify secrets DIR --from-env docker/.env`: the secret values of a Docker Compose install,
//! for the tree's Secrets. Each setting of the `.env` is the value of the placeholder named after it
//! (`SECRET_KEY` → `CHANGE_ME_SECRET_KEY`) or after its pair (`POSTGRES_PASSWORD` → the
//! `DB_PASSWORD` placeholder), so every Secret that needs it gets the same value. An empty value, a
//! placeholder or a published default (the rules' `public_values`, or the value of the `.env.example`
//! beside the file) is no value: the tree gets a generated one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::placeholders::placeholder;
use crate::read::dotenv;

/// A value of the `.env` and where it is written.
#[derive(Debug, Clone)]
struct Found {
    value: String,
    key: String,
    line: usize,
    column: usize,
}

/// The secret values a compose install's `.env` holds, by placeholder.
#[derive(Debug)]
pub struct EnvValues {
    pub file: PathBuf,
    /// The file's text with every value hidden, for the snippet under an error.
    masked: String,
    found: BTreeMap<String, Found>,
    /// Settings the file leaves empty: an install may have made its own value for them.
    pub empty: Vec<String>,
}

/// Read a compose install's `.env` (a file named on the command line: a regular file, bounded,
/// UTF-8), with the placeholders' pairs and the values known to be published defaults.
pub fn read(path: &Path, pairs: &BTreeMap<String, String>, public: &[String]) -> Result<EnvValues> {
    let text = read_text(path)?;
    let masked: String = text.lines().map(|l| format!("{}\n", mask(l))).collect();
    let entries = dotenv::parse(&text).map_err(|e| {
        Error::at(path, &masked, e.line, e.column, format!("invalid env file: {}", e.reason), "fix this line")
    })?;
    let expanded = dotenv::expand(&entries, &|_| None, &|_| None)
        .map_err(|(line, e)| Error::at(path, &masked, line, 1, format!("cannot interpolate: {e}"), "fix this line"))?;
    // The `.env.example` beside it holds the values every install starts with: no secret.
    let example = path.with_file_name(".env.example");
    let published: BTreeMap<String, String> = if example.is_file() {
        let example_text = read_text(&example)?;
        dotenv::parse(&example_text).map(|e| e.into_iter().map(|e| (e.key, e.raw)).collect()).unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut empty = Vec::new();
    for ((key, value, _), entry) in expanded.into_iter().zip(&entries) {
        let no_value = value.trim().is_empty()
            || crate::placeholders::is_unset(&value)
            || public.contains(&value)
            || published.get(&key).is_some_and(|p| !p.is_empty() && *p == value);
        if no_value {
            if value.trim().is_empty() {
                empty.push(key);
            }
            continue;
        }
        let column = text.lines().nth(entry.line - 1).and_then(|l| l.find('=')).map_or(1, |i| i + 2);
        let at = Found { value, key: key.clone(), line: entry.line, column };
        // The setting named like the placeholder wins over its pair.
        found.insert(placeholder(&key), at.clone());
        if let Some(canonical) = pairs.get(&key) {
            found.entry(placeholder(canonical)).or_insert(at);
        }
    }
    Ok(EnvValues { file: path.to_path_buf(), masked, found, empty })
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = crate::read::scope::read_named(path, crate::read::scope::MAX_TEXT_BYTES)
        .map_err(|r| Error::file(path, r.to_string(), r.help()))?;
    String::from_utf8(bytes).map_err(|_| Error::file(path, "is not UTF-8 text", "make it a UTF-8 env file"))
}

/// A line with its value hidden (`KEY=****`), so an error's snippet never shows a secret.
fn mask(line: &str) -> String {
    match line.split_once('=') {
        Some((key, value)) => format!("{key}={}", "*".repeat(value.chars().count())),
        None => line.to_string(),
    }
}

impl EnvValues {
    /// Placeholder → value.
    pub fn values(&self) -> impl Iterator<Item = (&String, &String)> {
        self.found.iter().map(|(token, f)| (token, &f.value))
    }

    /// The setting of the file that gives a placeholder its value.
    pub fn key_of(&self, token: &str) -> Option<&str> {
        self.found.get(token).map(|f| f.key.as_str())
    }

    /// Refuses a value that a template puts inside a longer value (a `redis://:PASSWORD@…` URL)
    /// when it holds characters a URL would read otherwise.
    pub fn check_fit(&self, templates: &[&str]) -> Result<()> {
        for (token, f) in &self.found {
            let embedded = templates
                .iter()
                .flat_map(|t| t.lines())
                .any(|line| line.split_once(": ").is_some_and(|(_, v)| v != token && v.contains(token.as_str())));
            let url_safe = f.value.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            if embedded && !url_safe {
                return Err(Error::at(
                    &self.file,
                    &self.masked,
                    f.line,
                    f.column,
                    format!("{}'s value goes into a URL of the tree (a connection string), but it has characters other than letters, digits and -._~", f.key),
                    format!("give {} a value of letters and digits (in the compose install too, if it must be kept), or remove the line to get a generated one", f.key),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values() {
        assert_eq!(mask("DB_PASSWORD=secret"), "DB_PASSWORD=******");
        assert_eq!(mask("# comment"), "# comment");
    }
}
