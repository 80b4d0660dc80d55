//! The one error type of the tool: where (file:line:col), what, and what to do.

use std::fmt;
use std::path::Path;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// A position in an input file, 1-based as editors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Every refusal of the tool. `Display` is one line: `file:line:col: what`; the help says what to do.
/// Boxed, so results stay small on the happy path.
#[derive(Debug)]
pub struct Error(Box<Details>);

/// What an `Error` carries.
#[derive(Debug)]
pub struct Details {
    /// The file the problem is in (shown as given on the command line), when there is one.
    pub file: Option<String>,
    pub location: Option<Location>,
    pub message: String,
    pub help: String,
    /// The input text and byte offset, for a snippet under the message.
    snippet: Option<(NamedSource<String>, usize)>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A problem not tied to a file (bad command-line value).
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self(Box::new(Details {
            file: None,
            location: None,
            message: message.into(),
            help: help.into(),
            snippet: None,
        }))
    }

    /// A problem with a whole file (missing, unreadable, wrong shape).
    pub fn file(path: &Path, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self(Box::new(Details {
            file: Some(display_path(path)),
            location: None,
            message: message.into(),
            help: help.into(),
            snippet: None,
        }))
    }

    /// A problem at a place in a file whose text we have.
    pub fn at(
        path: &Path,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        let file = display_path(path);
        let offset = offset_of(text, line, column);
        Self(Box::new(Details {
            location: Some(Location { file: file.clone(), line, column }),
            snippet: Some((NamedSource::new(file.clone(), text.to_string()), offset)),
            file: Some(file),
            message: message.into(),
            help: help.into(),
        }))
    }

    /// A problem at a byte offset of a file whose text we have.
    pub fn at_offset(
        path: &Path,
        text: &str,
        offset: usize,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        let (line, column) = line_col(text, offset);
        Self::at(path, text, line, column, message, help)
    }
}

impl std::ops::Deref for Error {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.file) {
            (Some(loc), _) => write!(f, "{loc}: {}", self.message),
            (None, Some(file)) => write!(f, "{file}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl Diagnostic for Error {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.help.is_empty()).then(|| Box::new(&self.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.snippet.as_ref().map(|(src, _)| src as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, offset) = self.snippet.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::at_offset(*offset, "here"))))
    }
}

/// Paths are shown as the user gave them, with `/` separators, so messages are the same on every machine.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col = l.char_indices().nth(column.saturating_sub(1)).map_or(l.len(), |(b, _)| b);
            return offset + col.min(l.trim_end_matches('\n').len());
        }
        offset += l.len();
    }
    text.len()
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a: 1\nbb: 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 5), (2, 1));
        assert_eq!(line_col(text, 7), (2, 3));
    }

    #[test]
    fn display_starts_with_location() {
        let e = Error::at(Path::new("x/compose.yaml"), "a\nbad\n", 2, 2, "oops", "fix it");
        assert_eq!(e.to_string(), "x/compose.yaml:2:2: oops");
        assert_eq!(e.help, "fix it");
    }

    #[test]
    fn offsets_round_trip() {
        let text = "é: 1\nkey: [\n";
        let off = offset_of(text, 2, 6);
        assert_eq!(line_col(text, off), (2, 6));
    }
}
