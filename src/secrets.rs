//! `compose2dify secrets DIR`: every `secret.yaml` from its `.example` with random values, the same
//! value for the same placeholder everywhere, and never over an existing `secret.yaml`. The shell
//! script `scripts/setup-secrets.sh` in the tree does the same for people without the tool.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const TOKEN: &str = "CHANGE_ME_";

/// Paths of the secret files created and kept.
#[derive(Debug, Default)]
pub struct Report {
    pub created: Vec<PathBuf>,
    pub kept: Vec<PathBuf>,
}

pub fn setup(dir: &Path) -> Result<Report> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "not a folder", "pass the generated tree (the folder with kustomization.yaml)"));
    }
    let mut examples = Vec::new();
    find_examples(dir, &mut examples);
    examples.sort();
    if examples.is_empty() {
        return Err(Error::file(
            dir,
            "no secret.yaml.example in this folder",
            "pass the folder compose2dify generated (the one with kustomization.yaml and base/)",
        ));
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for example in &examples {
        let secret = example.with_extension("");
        if let (Ok(want), Ok(have)) = (fs::read_to_string(example), fs::read_to_string(&secret)) {
            learn(&want, &have, &mut values);
        }
    }
    let mut report = Report::default();
    for example in &examples {
        let secret = example.with_extension("");
        if secret.exists() {
            report.kept.push(secret);
            continue;
        }
        let text = fs::read_to_string(example)
            .map_err(|e| Error::file(example, format!("cannot read: {e}"), "make it readable"))?;
        for token in tokens(&text) {
            if let std::collections::btree_map::Entry::Vacant(slot) = values.entry(token) {
                slot.insert(random_hex()?);
            }
        }
        let filled = fill(&text, &values);
        write_private(&secret, &filled)?;
        report.created.push(secret);
    }
    Ok(report)
}

/// 24 random bytes from the operating system, as 48 hex characters: safe in URLs, shells and YAML.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::usage(format!("the operating system gave no random bytes: {e}"), "run it on a machine with /dev/urandom")
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn find_examples(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            find_examples(&path, out);
        } else if path.file_name().is_some_and(|n| n == "secret.yaml.example") {
            out.push(path);
        }
    }
}

/// Every placeholder token in a text, in order of appearance, without repeats.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(TOKEN) {
        let len = rest[i..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let token = rest[i..i + len].to_string();
        if !out.contains(&token) {
            out.push(token);
        }
        rest = &rest[i + len..];
    }
    out
}

/// Replace each whole token by its value.
pub fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(TOKEN) {
        let len = rest[i..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        out.push_str(&rest[..i]);
        let token = &rest[i..i + len];
        out.push_str(values.get(token).map_or(token, String::as_str));
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    out
}

/// Values already chosen in an existing secret file: the same line of the example tells which.
fn learn(example: &str, secret: &str, values: &mut BTreeMap<String, String>) {
    for (want, have) in example.lines().zip(secret.lines()) {
        for token in tokens(want) {
            let Some(at) = want.find(&token) else { continue };
            let (prefix, suffix) = (&want[..at], &want[at + token.len()..]);
            if let Some(value) = have.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) {
                if !value.is_empty() && !value.contains(TOKEN) {
                    values.entry(token).or_insert_with(|| value.to_string());
                }
            }
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    let err = |e: std::io::Error| Error::file(path, format!("cannot write: {e}"), "make the folder writable");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    opts.open(path).map_err(err)?.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_fill() {
        let t =
            "a: CHANGE_ME_DB_PASSWORD\nb: redis://:CHANGE_ME_REDIS_PASSWORD@redis:6379\nc: CHANGE_ME_DB_PASSWORD_X\n";
        assert_eq!(tokens(t), vec!["CHANGE_ME_DB_PASSWORD", "CHANGE_ME_REDIS_PASSWORD", "CHANGE_ME_DB_PASSWORD_X"]);
        let v = BTreeMap::from([("CHANGE_ME_DB_PASSWORD".to_string(), "x1".to_string())]);
        assert_eq!(fill(t, &v), "a: x1\nb: redis://:CHANGE_ME_REDIS_PASSWORD@redis:6379\nc: CHANGE_ME_DB_PASSWORD_X\n");
    }

    #[test]
    fn learns_from_existing() {
        let mut v = BTreeMap::new();
        learn("  URL: redis://:CHANGE_ME_R@redis\n", "  URL: redis://:abc@redis\n", &mut v);
        assert_eq!(v.get("CHANGE_ME_R").map(String::as_str), Some("abc"));
    }
}
