//! Putting the tree on disk: staged then moved into place, the tool's own stale files pruned, and
//! nothing else touched. `--check` compares instead of writing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tree::Tree;

/// Lists the files the tool generated, so a later run prunes only its own stale files.
pub const MANIFEST: &str = ".compose2dify-manifest";

/// What a write did, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub written: usize,
    pub unchanged: usize,
    /// Tree-relative paths of the files written (new or changed).
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::file(path, format!("cannot {what}: {e}"), "choose an output folder you can write to (-o DIR)")
}

fn previous_manifest(out: &Path) -> BTreeSet<String> {
    fs::read_to_string(out.join(MANIFEST))
        .map(|t| t.lines().filter(|l| is_safe_relative(l)).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A manifest line is only trusted when it stays inside the tree.
fn is_safe_relative(line: &str) -> bool {
    !line.is_empty()
        && !line.starts_with('/')
        && !line.split('/').any(|c| c == ".." || c.is_empty())
        && !line.contains('\\')
}

fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::file(
            out,
            "output path is a file, not a folder",
            "pass a folder to -o (it is created when missing)",
        ));
    }
    fs::create_dir_all(out).map_err(|e| io_error(out, "create the output folder", &e))
}

/// Refuse a folder that holds files but was never written by the tool (no manifest): its
/// `kustomization.yaml` or `README.md` are someone else's. `--force` skips this check.
pub fn refuse_foreign(out: &Path) -> Result<()> {
    if !out.is_dir() || out.join(MANIFEST).is_file() {
        return Ok(());
    }
    let holds_files = fs::read_dir(out).map_err(|e| io_error(out, "read the output folder", &e))?.next().is_some();
    if holds_files {
        return Err(Error::file(
            out,
            format!("the folder holds files but no {MANIFEST}, so compose2dify did not write it"),
            "pass a new or empty folder to -o, or add --force to write into it (files with the tree's names are replaced, others kept)",
        ));
    }
    Ok(())
}

/// Write the tree into `out`. Everything is staged first; a failure before the moves leaves `out`
/// as it was.
pub fn write(tree: &Tree, out: &Path) -> Result<Outcome> {
    prepare_out(out)?;
    let stage = tempfile::Builder::new()
        .prefix(".compose2dify-stage-")
        .tempdir_in(out)
        .map_err(|e| io_error(out, "write into the output folder", &e))?;
    let mut outcome = Outcome::default();
    let mut changed = Vec::new();
    // Folders made so far, and whether each target folder exists: a tree of thousands of files has
    // far fewer folders, and a new tree has none of them yet.
    let mut made: HashSet<PathBuf> = HashSet::new();
    let mut folder_exists: HashMap<PathBuf, bool> = HashMap::new();
    for (rel, content) in &tree.files {
        let target = out.join(rel);
        let folder = target.parent().unwrap_or(out);
        let in_existing_folder = *folder_exists.entry(folder.to_path_buf()).or_insert_with(|| folder.is_dir());
        let missing = !in_existing_folder
            || match fs::read(&target) {
                Ok(old) if old == content.as_bytes() => {
                    outcome.unchanged += 1;
                    continue;
                }
                Ok(_) => false,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
        if !missing && target.is_dir() {
            return Err(Error::file(
                &target,
                "a folder stands where a generated file goes",
                "move the folder away, then run again",
            ));
        }
        let staged = stage.path().join(rel);
        if let Some(parent) = staged.parent().filter(|p| !made.contains(*p)) {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, "create a folder", &e))?;
            made.insert(parent.to_path_buf());
        }
        fs::write(&staged, content).map_err(|e| io_error(&staged, "write", &e))?;
        set_mode(&staged, rel)?;
        changed.push((rel.clone(), staged));
    }
    let manifest: String = tree.files.keys().map(|k| format!("{k}\n")).collect();
    let staged_manifest = stage.path().join(MANIFEST);
    fs::write(&staged_manifest, &manifest).map_err(|e| io_error(&staged_manifest, "write", &e))?;

    for (rel, staged) in changed {
        let target = out.join(&rel);
        if let Some(parent) = target.parent().filter(|p| !made.contains(*p)) {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, "create a folder", &e))?;
            made.insert(parent.to_path_buf());
        }
        fs::rename(&staged, &target).map_err(|e| io_error(&target, "replace", &e))?;
        outcome.written += 1;
        outcome.changed.push(rel);
    }
    for stale in previous_manifest(out).difference(&tree.files.keys().cloned().collect()) {
        let path = out.join(stale);
        if path.is_file() && fs::remove_file(&path).is_ok() {
            outcome.removed.push(stale.clone());
            remove_empty_parents(out, &path);
        }
    }
    fs::rename(&staged_manifest, out.join(MANIFEST)).map_err(|e| io_error(&out.join(MANIFEST), "replace", &e))?;
    Ok(outcome)
}

/// Write `text` to `path` through a temporary file beside it, then a rename: never through a
/// symlink (one standing at `path`, even dangling, is refused), never a partial or empty file.
/// `private` files are readable by their owner only.
pub fn replace_file(path: &Path, text: &str, private: bool) -> Result<()> {
    let err =
        |what: &str, e: std::io::Error| Error::file(path, format!("cannot {what}: {e}"), "make the folder writable");
    if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::file(
            path,
            "is a symlink, so it is not written through",
            "remove the symlink (or put the file itself there) and run again",
        ));
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut staged =
        tempfile::Builder::new().prefix(".compose2dify-").tempfile_in(folder).map_err(|e| err("write", e))?;
    use std::io::Write;
    staged.write_all(text.as_bytes()).and_then(|()| staged.as_file().sync_all()).map_err(|e| err("write", e))?;
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(staged.path(), fs::Permissions::from_mode(0o644)).map_err(|e| err("write", e))?;
    }
    staged.persist(path).map_err(|e| err("replace", e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, rel: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if rel.ends_with(".sh") { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| io_error(path, "set permissions on", &e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _rel: &str) -> Result<()> {
    Ok(())
}

/// Remove folders the pruning emptied, up to (not including) the tree root.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir: Option<PathBuf> = file.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
}

/// Compare the tree with `out` without writing: `None` when up to date, else a unified diff.
pub fn check(tree: &Tree, out: &Path) -> Option<String> {
    let mut diff = String::new();
    let mut paths: BTreeSet<String> = tree.files.keys().cloned().collect();
    paths.extend(previous_manifest(out));
    for rel in paths {
        let disk = fs::read_to_string(out.join(&rel)).ok();
        let want = tree.files.get(&rel);
        if disk.as_ref() == want {
            continue;
        }
        let old = disk.unwrap_or_default();
        let new = want.cloned().unwrap_or_default();
        let text = similar::TextDiff::from_lines(&old, &new);
        diff.push_str(
            &text.unified_diff().context_radius(3).header(&format!("a/{rel}"), &format!("b/{rel}")).to_string(),
        );
    }
    (!diff.is_empty()).then_some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_stay_inside() {
        assert!(is_safe_relative("services/api/deployment.yaml"));
        assert!(!is_safe_relative("../etc/passwd"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
    }

    #[test]
    fn write_prunes_only_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let mut t1 = Tree::default();
        t1.add("a/x.yaml", "1\n");
        t1.add("b/y.yaml", "2\n");
        write(&t1, &out).unwrap();
        fs::write(out.join("b/secret.yaml"), "mine").unwrap();
        let mut t2 = Tree::default();
        t2.add("a/x.yaml", "1\n");
        let o = write(&t2, &out).unwrap();
        assert_eq!(o.removed, vec!["b/y.yaml".to_string()]);
        assert_eq!(fs::read_to_string(out.join("b/secret.yaml")).unwrap(), "mine");
        assert!(check(&t2, &out).is_none());
        fs::write(out.join("a/x.yaml"), "changed\n").unwrap();
        assert!(check(&t2, &out).unwrap().contains("-changed"));
    }
}
