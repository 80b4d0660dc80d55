//! The files and folders the active services bind-mount, read once each: text for a ConfigMap's
//! data, other bytes for its binaryData, and nothing (an empty claim, said) for what is too large,
//! outside the project or data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::inputs::Inputs;
use crate::error::Result;
use crate::hash::sha256;
use crate::read::compose::{MountSource, Service};
use crate::read::paths::relative_name;
use crate::read::project::HostPath;
use crate::read::scope::{self, ReadScope, Refusal};
use crate::warning::{Warning, WarningKind};

/// Each bind-mount source of an active service, read once however many services mount it.
pub(super) fn read_host_paths(
    dir: &Path,
    services: &IndexMap<String, Service>,
    active: &BTreeSet<String>,
    inputs: &mut Inputs,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, HostPath>> {
    let mut host_paths = BTreeMap::new();
    for svc in services.values().filter(|s| active.contains(&s.name)) {
        for m in &svc.volumes {
            if let MountSource::Bind(src) = &m.source {
                if !host_paths.contains_key(src) {
                    let hp = read_host_path(dir, src, inputs, warnings)?;
                    host_paths.insert(src.clone(), hp);
                }
            }
        }
    }
    Ok(host_paths)
}

/// Largest file that is not text we put in a ConfigMap's `binaryData`: an object holds at most 1 MiB,
/// and the API server stores binary data as base64 (4/3 of its size).
const MAX_BINARY_BYTES: usize = 700 * 1024;

/// Largest bind-mounted file, or folder of files, put in a ConfigMap (an object holds at most 1 MiB,
/// its metadata included); checked before the read.
const MAX_CONFIG_BYTES: u64 = 1000 * 1024;

/// Files under a bind-mounted folder that we read at most (a data folder is not configuration).
const MAX_DIR_FILES: usize = 64;

/// Folders below a bind-mounted folder that we descend at most.
const MAX_DIR_DEPTH: usize = 16;

fn read_host_path(dir: &Path, src: &str, inputs: &mut Inputs, warnings: &mut Vec<Warning>) -> Result<HostPath> {
    if src.starts_with('/') || src.starts_with('~') {
        return Ok(HostPath::Missing); // outside the upstream tree: never read the local disk
    }
    let unread = |warnings: &mut Vec<Warning>, why: String| {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!("`{src}` {why}: it is not read and becomes an empty claim; mount it with an overlay"),
        ));
        Ok(HostPath::Unread)
    };
    let real = match inputs.scope.resolve(&dir.join(src)) {
        Ok(real) => real,
        Err(Refusal::Missing) => return Ok(HostPath::Missing),
        Err(r) => return unread(warnings, r.to_string()),
    };
    if real.is_dir() {
        return Ok(read_host_dir(dir, src, &real, inputs, warnings));
    }
    let bytes = match scope::read_named(&real, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(Refusal::TooLarge(size, _)) => {
            return unread(warnings, format!("is {size} bytes, too large for a ConfigMap (at most {MAX_CONFIG_BYTES})"))
        }
        Err(r) => return unread(warnings, r.to_string()),
    };
    inputs.insert(relative_name(dir, &dir.join(src)), sha256(&bytes));
    Ok(match String::from_utf8(bytes) {
        // Text kubectl would refuse in a ConfigMap's data goes byte for byte into binaryData.
        Ok(text) if crate::text::first_refused(&text).is_some() && text.len() <= MAX_BINARY_BYTES => {
            HostPath::Binary(text.into_bytes())
        }
        Ok(text) if crate::text::first_refused(&text).is_some() => {
            return unread(
                warnings,
                format!("holds characters kubectl refuses and, at {} bytes, is too large for binaryData", text.len()),
            )
        }
        Ok(text) => HostPath::File(text),
        Err(e) if e.as_bytes().len() <= MAX_BINARY_BYTES => HostPath::Binary(e.into_bytes()),
        Err(e) => {
            return unread(
                warnings,
                format!(
                    "is not text and, at {} bytes, too large for a ConfigMap (at most {MAX_BINARY_BYTES})",
                    e.as_bytes().len()
                ),
            )
        }
    })
}

/// A bind-mounted folder's text files, or nothing (data) when it holds too many or too much.
fn read_host_dir(dir: &Path, src: &str, real: &Path, inputs: &mut Inputs, warnings: &mut Vec<Warning>) -> HostPath {
    let mut folder = Folder::default();
    folder.collect(&inputs.scope, real, real, 0);
    if folder.files.len() > MAX_DIR_FILES || folder.bytes > MAX_CONFIG_BYTES {
        warnings.push(Warning::new(WarningKind::Storage, format!(
            "folder `{src}` holds more than {MAX_DIR_FILES} files or {MAX_CONFIG_BYTES} bytes, so it is taken for data: an empty claim; copy its files in yourself"
        )));
        folder.files.clear();
    } else if let Some(first) = folder.binary.first() {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!(
                "folder `{src}`: {} file(s) that are not text (first: {first}) are left out of its ConfigMap",
                folder.binary.len()
            ),
        ));
    }
    if let Some(first) = folder.skipped.first() {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!(
                "folder `{src}`: {} entries are not read (first: {first}): symlinked folders, files outside the project, FIFOs and devices",
                folder.skipped.len()
            ),
        ));
    }
    for (name, text) in &folder.files {
        inputs.insert(relative_name(dir, &dir.join(src).join(name)), sha256(text.as_bytes()));
    }
    HostPath::Dir(folder.files)
}

/// What a bind-mounted folder holds, read without following a symlinked folder (a loop cannot
/// spin) and never past the limits.
#[derive(Default)]
struct Folder {
    /// Text files, named relative to the folder.
    files: BTreeMap<String, String>,
    /// Files that are not UTF-8 text.
    binary: Vec<String>,
    /// Entries not read: symlinked folders, refused symlinks, special files.
    skipped: Vec<String>,
    bytes: u64,
}

impl Folder {
    /// The entries below `dir` (names relative to `root`), stopping one file past `MAX_DIR_FILES`
    /// or one byte past `MAX_CONFIG_BYTES`.
    fn collect(&mut self, scope: &ReadScope, root: &Path, dir: &Path, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if self.files.len() > MAX_DIR_FILES || self.bytes > MAX_CONFIG_BYTES {
                return;
            }
            let name = p.strip_prefix(root).map(|r| r.to_string_lossy().replace('\\', "/")).unwrap_or_default();
            let Ok(meta) = p.symlink_metadata() else { continue };
            if meta.is_dir() && depth < MAX_DIR_DEPTH {
                self.collect(scope, root, &p, depth + 1);
                continue;
            }
            // A symlink is read only when it is a file inside the scope.
            let real = match scope.resolve(&p) {
                Ok(real) if real.is_file() => real,
                _ => {
                    self.skipped.push(name);
                    continue;
                }
            };
            match scope::read_named(&real, MAX_CONFIG_BYTES - self.bytes.min(MAX_CONFIG_BYTES)) {
                Ok(bytes) => {
                    self.bytes += bytes.len() as u64;
                    match String::from_utf8(bytes) {
                        Ok(text) if crate::text::first_refused(&text).is_some() => self.binary.push(name),
                        Ok(text) if name != ".gitkeep" => drop(self.files.insert(name, text)),
                        Ok(_) => {}
                        Err(_) => self.binary.push(name),
                    }
                }
                Err(Refusal::TooLarge(..)) => self.bytes = MAX_CONFIG_BYTES + 1,
                Err(_) => self.skipped.push(name),
            }
        }
    }
}
