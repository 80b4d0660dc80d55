//! Every read of an input file: confined to the project's folders, bounded, UTF-8, and recorded
//! with the SHA-256 of its contents.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::read::scope::{self, ReadScope, Refusal, MAX_TEXT_BYTES};
use crate::read::yaml;

/// Input files read so far, with the SHA-256 of their contents, and the folders reads are
/// confined to.
pub(super) struct Inputs {
    pub(super) hashes: BTreeMap<String, String>,
    pub(super) scope: ReadScope,
}

impl Inputs {
    pub(super) fn insert(&mut self, name: String, hash: String) {
        self.hashes.insert(name, hash);
    }

    /// A text file named by another input: inside the scope, a regular file, bounded.
    pub(super) fn text(&self, path: &Path, what: &str) -> Result<String> {
        let bytes = self.scope.read(path, MAX_TEXT_BYTES).map_err(|r| refused(path, what, &r))?;
        checked_text(path, bytes, what)
    }
}

/// The refusal of a read, naming the file.
pub(super) fn refused(path: &Path, what: &str, r: &Refusal) -> Error {
    let help = match r {
        Refusal::Missing | Refusal::Io(_) | Refusal::NotRegular(_) => format!("{}; pass a readable {what}", r.help()),
        _ => r.help().to_string(),
    };
    Error::file(path, r.to_string(), help)
}

/// A text file named on the command line: anywhere but a system folder, a regular file, bounded.
pub(super) fn read_named(path: &Path, what: &str) -> Result<String> {
    let bytes = scope::read_named(path, MAX_TEXT_BYTES).map_err(|r| refused(path, what, &r))?;
    checked_text(path, bytes, what)
}

/// Input bytes as text: refused when too large or not UTF-8.
pub(super) fn checked_text(path: &Path, bytes: Vec<u8>, what: &str) -> Result<String> {
    if bytes.len() > yaml::MAX_INPUT_BYTES {
        return Err(Error::file(
            path,
            format!("file is larger than {} bytes", yaml::MAX_INPUT_BYTES),
            format!("pass the {what} itself"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            format!("pass the {what}, not a binary file"),
        )
    })
}
