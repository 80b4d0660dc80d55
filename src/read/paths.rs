//! Path helpers: paths normalized without touching the disk, and names relative to a folder.

use std::path::{Component, Path, PathBuf};

/// Lexically resolve `.` and `..` (the files may not exist; symlinks are not followed).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` named relative to `dir`, with `/` separators.
pub fn relative_name(dir: &Path, path: &Path) -> String {
    let n = normalize(path);
    let d = normalize(dir);
    n.strip_prefix(&d).unwrap_or(&n).to_string_lossy().replace('\\', "/")
}

/// The file name of a path (`docker-compose.yaml` when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "docker-compose.yaml".into())
}
