//! Putting the tree on disk: staged then moved into place, the tool's own stale files pruned, and
//! nothing else touched. `--check` compares instead of writing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
/// The manifest's old path, kept while main.rs names it.
pub use crate::tree::layout::MANIFEST;
use crate::tree::layout::{self, BASE, SERVICES};
use crate::tree::Tree;

/// What a write did, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub written: usize,
    pub unchanged: usize,
    /// Tree-relative paths of the files written (new or changed).
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Lines of the previous manifest that name no file the tool writes (forged): ignored.
    pub ignored: Vec<String>,
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::file(path, format!("cannot {what}: {e}"), "choose an output folder you can write to (-o DIR)")
}

/// The files the previous run wrote, as its manifest names them, and the lines that are ignored:
/// a manifest can only name files the tool writes (never a `secret.yaml` or anything outside the
/// tree), so a forged line cannot make a run delete someone's file.
fn previous_manifest(out: &Path) -> (BTreeSet<String>, Vec<String>) {
    let text = crate::read::scope::read_tree_text(&out.join(MANIFEST), 16 << 20).unwrap_or_default();
    let (ok, forged): (Vec<&str>, Vec<&str>) =
        text.lines().filter(|l| !l.is_empty()).partition(|l| is_safe_relative(l) && is_tool_file(l));
    (ok.into_iter().map(str::to_string).collect(), forged.into_iter().map(str::to_string).collect())
}

/// The files the tree's manifest lists that the tool writes (never an operator's file).
pub fn tool_files(out: &Path) -> BTreeSet<String> {
    previous_manifest(out).0
}

/// The YAML files of the tree on disk that its manifest lists (tree-relative path → text): only
/// regular files of at most 4 MiB, never through a symbolic link. A run killed during its moves
/// left the tree half old, half new: its moves are undone first (as the write would), so the files
/// read are the old tree's.
pub fn yaml_on_disk(out: &Path) -> BTreeMap<String, String> {
    recover(out);
    let mut files = BTreeMap::new();
    for file in previous_manifest(out).0.into_iter().filter(|f| f.ends_with(".yaml")) {
        if through_symlink(out, &file) {
            continue;
        }
        if let Ok(text) = crate::read::scope::read_tree_text(&out.join(&file), 4 << 20) {
            files.insert(file, text);
        }
    }
    files
}

/// The image references of the tree on disk (`image:` lines of its YAML files), for the refusal to
/// move an image backwards.
pub fn images_on_disk(out: &Path) -> BTreeSet<String> {
    let mut images = BTreeSet::new();
    for text in yaml_on_disk(out).values() {
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if let Some(image) = line.strip_prefix("image: ") {
                images.insert(image.trim().trim_matches(['\'', '"']).to_string());
            }
        }
    }
    images
}

/// A manifest line is only trusted when it stays inside the tree.
fn is_safe_relative(line: &str) -> bool {
    !line.is_empty()
        && !line.starts_with('/')
        && !line.split('/').any(|c| c == ".." || c == "." || c.is_empty())
        && !line.contains('\\')
        && !line.chars().any(crate::text::is_hidden)
}

/// A name the tool writes: never the operator's `secret.yaml`, the manifest or a staging folder.
fn is_tool_file(line: &str) -> bool {
    // Only the shapes of what the tool writes: the top files, `scripts/setup-secrets.sh`, and YAML
    // files (or their `.example`) of lower-case names in `base/` or one `services/<name>/` folder.
    // An overlay, a `secret.yaml`, a `.yml` or a note of the operator's never matches.
    let yaml_name = |f: &str| {
        let stem = f.strip_suffix(".yaml.example").or_else(|| f.strip_suffix(".yaml"));
        f != layout::SECRET_FILE
            && f != layout::SOPS_FILE
            && stem.is_some_and(|s| {
                !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            })
    };
    if line == layout::SETUP_SECRETS_SCRIPT {
        return true;
    }
    let parts: Vec<&str> = line.split('/').collect();
    match parts.as_slice() {
        [top] => layout::TOP_FILES.contains(top),
        [BASE, file] => yaml_name(file),
        [SERVICES, name, file] => crate::names::is_dns_label(name) && yaml_name(file),
        _ => false,
    }
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
    // A staging folder of an interrupted first run is the tool's own.
    let holds_files = fs::read_dir(out)
        .map_err(|e| io_error(out, "read the output folder", &e))?
        .flatten()
        .any(|e| !e.file_name().to_string_lossy().starts_with(STAGE_PREFIX));
    if holds_files {
        return Err(Error::file(
            out,
            format!("the folder holds files but no {MANIFEST}, so compose2dify did not write it"),
            "pass a new or empty folder to -o, or add --force to write into it (files with the tree's names are replaced, others kept)",
        ));
    }
    Ok(())
}

/// Staging folders are named with this prefix inside the output folder (and git-ignored there).
pub const STAGE_PREFIX: &str = ".compose2dify-stage-";

/// One move of the commit, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// A changed file: the old one moved into `old/`, the staged one into place.
    Replace(String),
    /// A new file moved into place.
    Create(String),
    /// A stale file of the tool's own, moved into `old/`.
    Remove(String),
}

impl Op {
    fn line(&self) -> String {
        match self {
            Op::Replace(rel) => format!("R {rel}\n"),
            Op::Create(rel) => format!("C {rel}\n"),
            Op::Remove(rel) => format!("D {rel}\n"),
        }
    }

    fn parse(line: &str) -> Option<Op> {
        let (kind, rel) = line.split_once(' ')?;
        is_safe_relative(rel).then_some(())?;
        match kind {
            "R" => Some(Op::Replace(rel.to_string())),
            "C" => Some(Op::Create(rel.to_string())),
            "D" => Some(Op::Remove(rel.to_string())),
            _ => None,
        }
    }
}

/// Write the tree into `out`. Every changed file is staged in a hidden folder inside `out` first,
/// with a journal of the moves; only then are the old files moved aside and the new ones into
/// place, with SIGINT, SIGTERM and SIGHUP held until it is done. A failure undoes the moves, so
/// `out` is left as it was; a run killed outright leaves its journal, and the next run undoes it.
pub fn write(tree: &Tree, out: &Path) -> Result<Outcome> {
    prepare_out(out)?;
    recover(out);
    let (previous, ignored) = previous_manifest(out);
    let stage = tempfile::Builder::new()
        .prefix(STAGE_PREFIX)
        .tempdir_in(out)
        .map_err(|e| io_error(out, "write into the output folder", &e))?;
    let mut outcome = Outcome { ignored, ..Outcome::default() };
    let mut ops = stage_files(tree, out, stage.path(), &mut outcome)?;
    let manifest: String = tree.files.keys().map(|k| format!("{k}\n")).collect();
    let staged_manifest = stage.path().join("new").join(MANIFEST);
    fs::write(&staged_manifest, &manifest).map_err(|e| io_error(&staged_manifest, "write", &e))?;
    for stale in previous.iter().filter(|p| !tree.files.contains_key(*p)) {
        let path = out.join(stale);
        if path.symlink_metadata().is_ok_and(|m| m.is_file()) && !through_symlink(out, stale) {
            ops.push(Op::Remove(stale.clone()));
        }
    }
    let had_manifest = out.join(MANIFEST).symlink_metadata().is_ok_and(|m| m.is_file());
    ops.push(if had_manifest { Op::Replace(MANIFEST.into()) } else { Op::Create(MANIFEST.into()) });
    let journal: String = ops.iter().map(Op::line).collect();
    let journal_path = stage.path().join("journal");
    fs::write(&journal_path, journal).map_err(|e| io_error(&journal_path, "write", &e))?;

    let held = signals::hold();
    let committed = commit(out, stage.path(), &ops);
    if let Err(e) = committed {
        undo(out, stage.path(), &ops);
        return Err(e);
    }
    // Committed: nothing to undo if the rest is cut short.
    let _ = fs::write(stage.path().join("committed"), "");
    for op in &ops {
        match op {
            Op::Replace(rel) | Op::Create(rel) if rel != MANIFEST => {
                outcome.written += 1;
                outcome.changed.push(rel.clone());
            }
            Op::Remove(rel) => {
                outcome.removed.push(rel.clone());
                remove_empty_parents(out, &out.join(rel));
            }
            _ => {}
        }
    }
    drop(stage);
    drop(held);
    Ok(outcome)
}

/// Stage every file that differs from what `out` holds under `stage/new/`; the moves to make.
fn stage_files(tree: &Tree, out: &Path, stage: &Path, outcome: &mut Outcome) -> Result<Vec<Op>> {
    let new = stage.join("new");
    // Folders made so far, and whether each target folder exists: a tree of thousands of files has
    // far fewer folders, and a new tree has none of them yet.
    let mut made: HashSet<PathBuf> = HashSet::from([new.clone()]);
    fs::create_dir_all(&new).map_err(|e| io_error(&new, "create a folder", &e))?;
    // Per target folder: whether it exists, and whether a symlink stands on the way to it.
    let mut folders: HashMap<PathBuf, (bool, bool)> = HashMap::new();
    let mut ops = Vec::new();
    for (rel, content) in &tree.files {
        let target = out.join(rel);
        let folder = target.parent().unwrap_or(out);
        let (in_existing_folder, symlinked) = *folders.entry(folder.to_path_buf()).or_insert_with(|| {
            if folder.is_dir() {
                (true, through_symlink(out, rel))
            } else {
                (false, false)
            }
        });
        if symlinked {
            return Err(Error::file(
                &target,
                "a symlinked folder stands on the way to a generated file",
                "replace the symlink with a folder (the tree is written only inside -o), then run again",
            ));
        }
        let meta = if in_existing_folder { target.symlink_metadata().ok() } else { None };
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(Error::file(
                &target,
                "a folder stands where a generated file goes",
                "move the folder away, then run again",
            ));
        }
        if meta.as_ref().is_some_and(|m| m.is_file()) && fs::read(&target).is_ok_and(|old| old == content.as_bytes()) {
            outcome.unchanged += 1;
            continue;
        }
        let staged = new.join(rel);
        if let Some(parent) = staged.parent().filter(|p| !made.contains(*p)) {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, "create a folder", &e))?;
            made.insert(parent.to_path_buf());
        }
        fs::write(&staged, content).map_err(|e| io_error(&staged, "write", &e))?;
        set_mode(&staged, rel)?;
        ops.push(if meta.is_some() { Op::Replace(rel.clone()) } else { Op::Create(rel.clone()) });
    }
    Ok(ops)
}

/// Whether a folder on the way from `out` to `rel` is a symlink (writing there would leave `out`).
fn through_symlink(out: &Path, rel: &str) -> bool {
    let mut path = out.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    parts[..parts.len().saturating_sub(1)].iter().any(|part| {
        path.push(part);
        path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink())
    })
}

/// Make the moves: each old file aside into `stage/old/`, then the staged one into place.
fn commit(out: &Path, stage: &Path, ops: &[Op]) -> Result<()> {
    for op in ops {
        let (Op::Replace(rel) | Op::Create(rel) | Op::Remove(rel)) = op;
        let target = out.join(rel);
        if matches!(op, Op::Replace(_) | Op::Remove(_)) {
            let aside = stage.join("old").join(rel);
            if let Some(parent) = aside.parent() {
                fs::create_dir_all(parent).map_err(|e| io_error(parent, "create a folder", &e))?;
            }
            fs::rename(&target, &aside).map_err(|e| io_error(&target, "replace", &e))?;
        }
        if matches!(op, Op::Replace(_) | Op::Create(_)) {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| io_error(parent, "create a folder", &e))?;
            }
            fs::rename(stage.join("new").join(rel), &target).map_err(|e| io_error(&target, "replace", &e))?;
        }
    }
    Ok(())
}

/// Undo the moves of `ops` that were made, from what the disk shows, last first: an old file still
/// aside goes back; a new file moved into place where there was none is removed. Best effort: it
/// runs after a failure, or on the next run after a kill.
fn undo(out: &Path, stage: &Path, ops: &[Op]) {
    for op in ops.iter().rev() {
        let (Op::Replace(rel) | Op::Create(rel) | Op::Remove(rel)) = op;
        let target = out.join(rel);
        let aside = stage.join("old").join(rel);
        match op {
            Op::Replace(_) | Op::Remove(_) if aside.symlink_metadata().is_ok() => {
                if fs::rename(&aside, &target).is_err() {
                    continue;
                }
            }
            Op::Create(_) if !stage.join("new").join(rel).exists() && target.is_file() => {
                let _ = fs::remove_file(&target);
            }
            _ => continue,
        }
        remove_empty_parents(out, &target);
    }
}

/// Staging folders left by an earlier run that was killed: its moves undone when it had not
/// committed, then removed.
fn recover(out: &Path) {
    let Ok(entries) = fs::read_dir(out) else { return };
    for entry in entries.flatten() {
        let is_stage = entry.file_name().to_string_lossy().starts_with(STAGE_PREFIX);
        if !is_stage || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let stage = entry.path();
        if !stage.join("committed").exists() {
            if let Ok(journal) = fs::read_to_string(stage.join("journal")) {
                let ops: Vec<Op> = journal.lines().filter_map(Op::parse).collect();
                undo(out, &stage, &ops);
            }
        }
        let _ = fs::remove_dir_all(&stage);
    }
}

/// Holding the signals that end a run (SIGINT, SIGTERM, SIGHUP) while the tree is swapped: one that
/// arrives meanwhile takes effect once the guard is dropped, after the last move.
mod signals {
    #[cfg(unix)]
    pub struct Held(libc::sigset_t);

    #[cfg(unix)]
    pub fn hold() -> Held {
        // SAFETY: sigset_t is plain data initialised by sigemptyset; pthread_sigmask only reads
        // `set` and writes `old`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            Held(old)
        }
    }

    #[cfg(unix)]
    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: restores the mask saved by `hold`.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut());
            }
        }
    }

    #[cfg(not(unix))]
    pub fn hold() {}
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
    paths.extend(previous_manifest(out).0);
    for rel in paths {
        let disk = crate::read::scope::read_tree_text(&out.join(&rel), 512 << 20).ok();
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

    /// A run killed in the middle of its moves is undone by the next: whatever the point, the tree
    /// is the old one again and the staging folder is gone.
    #[test]
    fn a_killed_commit_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let mut t1 = Tree::default();
        for i in 0..6 {
            t1.add(&format!("s{i}/a.yaml"), format!("old {i}\n"));
        }
        write(&t1, &out).unwrap();
        let before = fs::read_dir(&out).unwrap().count();
        let mut t2 = Tree::default();
        for i in 1..8 {
            t2.add(&format!("s{i}/a.yaml"), format!("new {i}\n"));
        }
        for cut in 0..=9 {
            let stage = out.join(format!("{STAGE_PREFIX}test"));
            let mut o = Outcome::default();
            let mut ops = stage_files(&t2, &out, &stage, &mut o).unwrap();
            ops.push(Op::Remove("s0/a.yaml".into()));
            fs::write(stage.join("journal"), ops.iter().map(Op::line).collect::<String>()).unwrap();
            commit(&out, &stage, &ops[..cut.min(ops.len())]).unwrap();
            recover(&out);
            for i in 0..6 {
                assert_eq!(fs::read_to_string(out.join(format!("s{i}/a.yaml"))).unwrap(), format!("old {i}\n"));
            }
            assert!(!out.join("s7").exists(), "cut {cut}: a new file stayed");
            assert_eq!(fs::read_dir(&out).unwrap().count(), before, "cut {cut}: the staging folder stayed");
        }
    }

    #[test]
    fn forged_manifest_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let mut t = Tree::default();
        t.add("services/a/x.yaml", "1\n");
        write(&t, &out).unwrap();
        fs::write(out.join("services/a/secret.yaml"), "mine").unwrap();
        fs::write(
            out.join(MANIFEST),
            "services/a/x.yaml\nservices/a/secret.yaml\n../../etc/passwd\noverlays/prod/kustomization.yaml\n",
        )
        .unwrap();
        let o = write(&Tree::default(), &out).unwrap();
        assert_eq!(
            o.ignored,
            vec![
                "services/a/secret.yaml".to_string(),
                "../../etc/passwd".to_string(),
                "overlays/prod/kustomization.yaml".to_string()
            ]
        );
        assert_eq!(o.removed, vec!["services/a/x.yaml".to_string()]);
        assert_eq!(fs::read_to_string(out.join("services/a/secret.yaml")).unwrap(), "mine");
    }

    #[test]
    fn write_prunes_only_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let mut t1 = Tree::default();
        t1.add("services/a/x.yaml", "1\n");
        t1.add("services/b/y.yaml", "2\n");
        write(&t1, &out).unwrap();
        fs::write(out.join("services/b/secret.yaml"), "mine").unwrap();
        let mut t2 = Tree::default();
        t2.add("services/a/x.yaml", "1\n");
        let o = write(&t2, &out).unwrap();
        assert_eq!(o.removed, vec!["services/b/y.yaml".to_string()]);
        assert_eq!(fs::read_to_string(out.join("services/b/secret.yaml")).unwrap(), "mine");
        assert!(check(&t2, &out).is_none());
        fs::write(out.join("services/a/x.yaml"), "changed\n").unwrap();
        assert!(check(&t2, &out).unwrap().contains("-changed"));
    }
}
