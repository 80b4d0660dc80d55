//! The one error type of the tool: where (file:line:col), what, and what to do.

use std::fmt;
use std::path::Path;

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
    /// The line of input the location points into, for a snippet under the message.
    snippet: Option<String>,
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

    /// The same problem with other help.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = help.into();
        self
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
        let snippet = text.lines().nth(line.saturating_sub(1)).map(str::to_string);
        Self(Box::new(Details {
            location: Some(Location { file: file.clone(), line, column }),
            snippet,
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

impl Error {
    /// The whole report for stderr: `error: file:line:col: what`, the input line with a caret under
    /// the column, and what to do. `paint` colours the labels (a terminal without NO_COLOR).
    pub fn report(&self, paint: bool) -> String {
        let (red, cyan, bold, reset) =
            if paint { ("\x1b[31m", "\x1b[36m", "\x1b[1m", "\x1b[0m") } else { ("", "", "", "") };
        let mut out = format!("{bold}{red}error{reset}{bold}: {self}{reset}\n");
        if let (Some(loc), Some(line)) = (&self.location, &self.snippet) {
            let number = loc.line.to_string();
            let pad = " ".repeat(number.len());
            let shown: String = line.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
            let caret = " ".repeat(loc.column.saturating_sub(1).min(shown.chars().count()));
            out.push_str(&format!("{cyan}{pad} |{reset}\n"));
            out.push_str(&format!("{cyan}{number} |{reset} {shown}\n"));
            out.push_str(&format!("{cyan}{pad} |{reset} {caret}{red}^ here{reset}\n"));
        }
        if !self.help.is_empty() {
            out.push_str(&format!("  {cyan}help{reset}: {}\n", self.help));
        }
        out
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
    fn report_shows_the_line_and_a_caret_under_the_column() {
        let e = Error::at(Path::new("c.yaml"), "a: 1\nkey: [\n", 2, 6, "bad", "fix it");
        assert_eq!(e.report(false), "error: c.yaml:2:6: bad\n  |\n2 | key: [\n  |      ^ here\n  help: fix it\n");
        assert!(e.report(true).contains("\x1b[31m"), "coloured on a terminal");
        assert_eq!(Error::usage("no", "").report(false), "error: no\n");
    }
}
