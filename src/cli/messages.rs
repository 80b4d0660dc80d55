//! What the run says on stderr (`-q`, `-v`, colour) and writes to stdout.

use compose2dify::error::Error;
use std::io::{IsTerminal, Write};

/// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
pub(crate) fn paint() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What the user asked to see on stderr (`-q`, `-v`), and whether it may be coloured.
pub(crate) struct Messages {
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
    pub(crate) paint: bool,
}

impl Messages {
    pub(crate) fn say(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    pub(crate) fn detail(&self, line: &str) {
        if self.verbose {
            eprintln!("{line}");
        }
    }

    /// `label: text`, the label coloured on a terminal. The text may hold input (a name, a value):
    /// control characters are escaped, so it stays one line (a CI log reads `::error …` lines).
    pub(crate) fn labelled(&self, label: &str, colour: &str, text: &str) {
        let text = &*compose2dify::text::escape_hidden(text);
        if self.paint {
            self.say(&format!("\x1b[{colour}m{label}\x1b[0m: {text}"));
        } else {
            self.say(&format!("{label}: {text}"));
        }
    }
}

/// Standard output that ends quietly when the reader has gone (`… | head`), as other CLIs do.
pub(crate) fn print_out(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::usage(format!("cannot write to standard output: {e}"), "check where the output goes")),
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
