//! `compose2dify carry-env OLD NEW`: an operator's customized `.env` and `envs/**/*.env` beside an
//! old release's compose file, carried to the new release's folder. Each new file is the new
//! release's `.example` with the settings the operator changed (their value differs from the old
//! `.example`, or the old `.example` did not have them) put back; settings upstream added keep
//! upstream's defaults. Never writes over an existing file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::read::dotenv;

/// One env file carried.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Carried {
    /// The file written, relative to the new folder (`.env`, `envs/core-services/api.env`).
    pub file: String,
    /// Settings the operator changed, now in the new file with the operator's value.
    pub kept: Vec<String>,
    /// Settings the operator changed that the new release no longer has (appended, commented as such).
    pub dropped_upstream: Vec<String>,
    /// Settings the new release added, with upstream's default.
    pub added_upstream: Vec<String>,
}

/// Carry every customized env file of `old` (a compose file's folder) to `new`.
pub fn carry(old_compose: &Path, new_compose: &Path) -> Result<Vec<Carried>> {
    let folder = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let (old, new) = (folder(old_compose), folder(new_compose));
    for (dir, what) in [(&old, "old"), (&new, "new")] {
        if !dir.join(compose_name(if what == "old" { old_compose } else { new_compose })).is_file() {
            return Err(Error::file(
                if what == "old" { old_compose } else { new_compose },
                "no such compose file",
                "pass the old and the new release's docker/docker-compose.yaml",
            ));
        }
    }
    let mut done = Vec::new();
    for rel in customized(&old) {
        let target = new.join(&rel);
        let new_example = new.join(format!("{rel}.example"));
        if !new_example.is_file() {
            continue; // the new release has no such file; its settings are reported by `diff`
        }
        if target.symlink_metadata().is_ok() {
            return Err(Error::file(
                &target,
                "already exists, so it is not written over",
                "remove it (or merge your settings into it by hand) and run carry-env again",
            ));
        }
        // Both folders are input (the new one comes from upstream): no file is read or written
        // through a symbolic link, which could lead out of them.
        let example = format!("{rel}.example");
        for (root, path) in
            [(&old, rel.as_str()), (&old, example.as_str()), (&new, example.as_str()), (&new, rel.as_str())]
        {
            if let Some(link) = crate::read::scope::symlink_on_the_way(root, path) {
                return Err(Error::file(
                    &link,
                    "is a symbolic link: carry-env reads and writes only plain files inside the release folders",
                    "replace the link by the file itself",
                ));
            }
        }
        let mine_path = old.join(&rel);
        let mine = entries(&mine_path)?;
        let mine_lines = assignment_lines(&mine_path)?;
        let old_defaults = entries(&old.join(format!("{rel}.example")))?;
        let new_text = read(&new_example)?;
        let new_defaults = entries(&new_example)?;
        let changed: BTreeMap<&String, &String> =
            mine.iter().filter(|(k, v)| old_defaults.get(*k) != Some(*v)).collect();
        let mut carried = Carried { file: rel.clone(), ..Default::default() };
        let mut out = String::new();
        for line in new_text.lines() {
            match key_of(line).and_then(|k| changed.get_key_value(&k.to_string())) {
                Some((key, _)) => {
                    out.push_str(&mine_lines[*key]);
                    carried.kept.push(key.to_string());
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        let gone: Vec<(&&String, &&String)> = changed.iter().filter(|(k, _)| !new_defaults.contains_key(**k)).collect();
        if !gone.is_empty() {
            let _ = writeln!(out, "\n# Carried by compose2dify from {}: not in this release's .example", old.display());
            for (key, _) in gone {
                out.push_str(&mine_lines[*key]);
                carried.dropped_upstream.push(key.to_string());
            }
        }
        carried.added_upstream = new_defaults.keys().filter(|k| !old_defaults.contains_key(*k)).cloned().collect();
        crate::tree::write::replace_file(&target, &out, false)?;
        done.push(carried);
    }
    Ok(done)
}

/// The Markdown section for the upgrade's pull request: what was carried and what upstream added.
pub fn report(carried: &[Carried]) -> String {
    let mut out = String::from("## Your settings\n\n");
    if carried.is_empty() {
        out.push_str("No customized `.env` or `envs/**/*.env` beside the old release: the new release runs with upstream's defaults.\n");
        return out;
    }
    for c in carried {
        let _ = writeln!(out, "- `{}`", c.file);
        let list = |keys: &[String]| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        if !c.kept.is_empty() {
            let _ = writeln!(out, "  - kept your value: {}", list(&c.kept));
        }
        if !c.dropped_upstream.is_empty() {
            let _ = writeln!(
                out,
                "  - yours, no longer in upstream's file (kept at its end): {}",
                list(&c.dropped_upstream)
            );
        }
        if !c.added_upstream.is_empty() {
            let _ = writeln!(out, "  - added by this release, upstream's default: {}", list(&c.added_upstream));
        }
    }
    out
}

fn compose_name(path: &Path) -> PathBuf {
    path.file_name().map(PathBuf::from).unwrap_or_default()
}

/// `.env` and every `envs/**/*.env` of a folder that has its `.example` beside it.
fn customized(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if dir.join(".env").is_file() && dir.join(".env.example").is_file() {
        out.push(".env".to_string());
    }
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            // A symlinked folder is not followed: a loop would never end.
            if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|e| e == "env") && p.with_extension("env.example").is_file() {
                if let Ok(rel) = p.strip_prefix(root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    walk(dir, &dir.join("envs"), &mut out);
    out
}

/// An env file: a regular file (a FIFO would hang the read), bounded, UTF-8.
fn read(path: &Path) -> Result<String> {
    let bytes = crate::read::scope::read_named(path, crate::read::scope::MAX_TEXT_BYTES)
        .map_err(|r| Error::file(path, r.to_string(), r.help()))?;
    String::from_utf8(bytes).map_err(|_| Error::file(path, "is not UTF-8 text", "make it a UTF-8 env file"))
}

/// Key → value as written (unexpanded) of an env file.
fn entries(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = read(path)?;
    let parsed = dotenv::parse(&text).map_err(|e| {
        Error::at(path, &text, e.line, e.column, format!("invalid env file: {}", e.reason), "fix this line")
    })?;
    Ok(parsed.into_iter().map(|e| (e.key, e.raw)).collect())
}

/// Key → the text of its (last) assignment as the operator wrote it, quotes and all (a quoted value
/// over several lines keeps them), ending with a newline.
fn assignment_lines(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = read(path)?;
    let lines: Vec<&str> = text.lines().collect();
    let parsed = dotenv::parse(&text).map_err(|e| {
        Error::at(path, &text, e.line, e.column, format!("invalid env file: {}", e.reason), "fix this line")
    })?;
    Ok(parsed
        .into_iter()
        .map(|e| {
            let span = if e.quote == dotenv::Quote::None { 1 } else { e.raw.matches('\n').count() + 1 };
            let start = e.line.saturating_sub(1).min(lines.len());
            let end = (start + span).min(lines.len());
            (e.key, lines[start..end].iter().map(|l| format!("{l}\n")).collect())
        })
        .collect())
}

/// The key a `KEY=value` (or `export KEY=value`) line sets.
fn key_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_lines() {
        assert_eq!(key_of("A_1=x"), Some("A_1"));
        assert_eq!(key_of("export B=1"), Some("B"));
        assert_eq!(key_of("# C=1"), None);
        assert_eq!(key_of("no equals"), None);
    }
}
