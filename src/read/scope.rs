//! Where the tool may read: below the compose file's real folder and the folders named with
//! `--allow-read`, never below /proc, /sys or /dev, only regular files, and never more bytes than a
//! limit given before the read. Paths are resolved on the disk (symlinks and `..` followed), so a
//! symlink inside the project that points out of it is refused like the path it points to.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest text input read (compose files, env files): the YAML loader's own limit.
pub const MAX_TEXT_BYTES: u64 = crate::read::yaml::MAX_INPUT_BYTES as u64;

/// Folders of the system whose files are not files (process state, devices): never read.
const SYSTEM: &[&str] = &["/proc", "/sys", "/dev"];

/// The folders reads are confined to, as real paths.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    roots: Vec<PathBuf>,
}

/// Why a path is not read.
#[derive(Debug)]
pub enum Refusal {
    /// Nothing there (or a dangling symlink).
    Missing,
    /// Its real path is outside every allowed folder.
    Outside(PathBuf),
    /// Under /proc, /sys or /dev.
    System(PathBuf),
    /// A folder, FIFO, socket or device: not a regular file.
    NotRegular(&'static str),
    /// Larger than the limit (its size, the limit).
    TooLarge(u64, u64),
    Io(std::io::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Missing => write!(f, "cannot read: it does not exist"),
            Refusal::Outside(real) => {
                write!(f, "is outside the project folder (its real path is {})", real.display())
            }
            Refusal::System(real) => write!(f, "is a system file ({}), never read", real.display()),
            Refusal::NotRegular("directory") => write!(f, "is a directory, not a file"),
            Refusal::NotRegular(kind) => write!(f, "is not a regular file (a {kind})"),
            Refusal::TooLarge(size, limit) => write!(f, "is {size} bytes, more than the {limit} this tool reads"),
            Refusal::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

impl Refusal {
    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Refusal::Missing => "check the path",
            Refusal::Outside(_) => {
                "copy the file into the compose file's folder, or name its folder with --allow-read DIR"
            }
            Refusal::System(_) | Refusal::NotRegular(_) => "name a regular file",
            Refusal::TooLarge(..) => "name the file itself; a file this large is not configuration",
            Refusal::Io(_) => "make the file readable",
        }
    }
}

impl ReadScope {
    /// The compose file's folder (`dir`, empty for the current one) and the folders of
    /// `--allow-read`, each resolved to its real path; a folder that does not exist is left out.
    pub fn new(dir: &Path, allowed: &[PathBuf]) -> ReadScope {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let roots = std::iter::once(dir).chain(allowed.iter().map(PathBuf::as_path));
        ReadScope { roots: roots.filter_map(|d| std::fs::canonicalize(d).ok()).collect() }
    }

    /// The real path of `path` when it is inside the scope and not a system path.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let real = real_path(path)?;
        if !self.roots.iter().any(|r| real.starts_with(r)) {
            return Err(Refusal::Outside(real));
        }
        Ok(real)
    }

    /// A regular file inside the scope, at most `limit` bytes.
    pub fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
        read_regular(&self.resolve(path)?, limit)
    }

    /// Whether `path` is a regular file inside the scope (a candidate such as `.env` or an override
    /// file; anything else is read and refused with its reason).
    pub fn is_file(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|real| real.is_file())
    }
}

/// The real path, refused under /proc, /sys and /dev.
fn real_path(path: &Path) -> Result<PathBuf, Refusal> {
    let real = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Refusal::Missing,
        _ => Refusal::Io(e),
    })?;
    if SYSTEM.iter().any(|s| real.starts_with(s)) {
        return Err(Refusal::System(real));
    }
    Ok(real)
}

/// The first symbolic link among `rel`'s components below `root` (the file itself included): a
/// path inside a folder that must not lead out of it.
pub fn symlink_on_the_way(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let mut path = root.to_path_buf();
    for part in rel.split('/') {
        path.push(part);
        if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(path);
        }
    }
    None
}

/// A file of a generated tree (its manifest, GENERATED.md, a secret template): never through a
/// symlink, a regular file, at most `limit` bytes, UTF-8. A tree on disk is input too: a symlink
/// planted there must not feed /proc, a FIFO or another file into the run.
pub fn read_tree_text(path: &Path, limit: u64) -> Result<String, Refusal> {
    let meta = std::fs::symlink_metadata(path).map_err(Refusal::Io)?;
    if meta.file_type().is_symlink() {
        return Err(Refusal::NotRegular("symbolic link"));
    }
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|e| Refusal::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// A file named on the command line (the compose files, `--env-file`): anywhere but a system path,
/// a regular file, at most `limit` bytes.
pub fn read_named(path: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
    read_regular(&real_path(path)?, limit)
}

/// Read a real path that must be a regular file, checked before opening (a FIFO would block the
/// open) and again on the open handle, and never more than `limit` bytes.
fn read_regular(real: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
    let meta = std::fs::metadata(real).map_err(Refusal::Io)?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(Refusal::TooLarge(meta.len(), limit));
    }
    let file = open_nonblocking(real).map_err(Refusal::Io)?;
    regular(&file.metadata().map_err(Refusal::Io)?)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(Refusal::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Refusal::TooLarge(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), Refusal> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    Err(Refusal::NotRegular(if t.is_dir() { "directory" } else { kind_of_special(&t) }))
}

#[cfg(unix)]
fn kind_of_special(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if t.is_fifo() => "FIFO",
        _ if t.is_socket() => "socket",
        _ if t.is_char_device() || t.is_block_device() => "device",
        _ => "special file",
    }
}

#[cfg(not(unix))]
fn kind_of_special(_t: &std::fs::FileType) -> &'static str {
    "special file"
}

/// Opened without blocking, so a FIFO swapped in after the check cannot hang the read.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_folder_does_not_allow_its_parent() {
        let scope = ReadScope::new(Path::new(""), &[]);
        assert!(matches!(scope.resolve(Path::new("..")), Err(Refusal::Outside(_))));
        assert!(scope.resolve(Path::new("Cargo.toml")).is_ok());
    }

    #[test]
    fn system_files_are_refused_even_when_allowed() {
        let scope = ReadScope::new(Path::new("/"), &[]);
        assert!(matches!(scope.read(Path::new("/proc/self/environ"), 1 << 20), Err(Refusal::System(_))));
        assert!(matches!(read_named(Path::new("/dev/zero"), 1 << 20), Err(Refusal::System(_))));
    }
}
