//! Objects → YAML text: every document of the tree is serialized here. A direct YAML writer for the
//! documents `emit` produces, byte for byte what `yaml_serde::to_string` (libyaml's emitter behind
//! serde) writes for them, without its event queue, per-scalar allocations and C-style buffers.
//!
//! It follows the emitter's own state (column, whether the line holds only indentation, whether the
//! last thing written was whitespace, the indent stack) through the same steps for the shapes our
//! objects have: block mappings with simple keys, block sequences, empty `{}` and `[]`, and plain,
//! single-quoted, double-quoted and literal scalars chosen by the same rules (`style`). Anything
//! else (a key that is not a short single-line scalar, floats, bytes, enum variants with data, the
//! line separators U+2028 and U+2029) is refused with [`Unsupported`], and [`to_yaml`] serializes
//! that document with `yaml_serde` instead, so the output never differs. Writing it is not the
//! disk: `tree::write` puts the tree's texts there.

mod serializer;
mod style;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::ser::{self, Serialize};

use style::{analyze, chars, infer_style, is_break, plain_word, printable, Asked, Style, MAX_SIMPLE_KEY};

/// The one serializer: every emitted document goes through here. Each is written by the direct
/// writer (`write`, the same bytes as `yaml_serde`), or by `yaml_serde` when it has a shape the
/// writer leaves to it.
pub fn to_yaml<T: Serialize>(docs: &[T]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let start = out.len();
        if write(doc, &mut out).is_err() {
            out.truncate(start);
            out.push_str(&yaml_serde::to_string(doc).unwrap_or_else(|e| format!("# serialization failed: {e}\n")));
        }
    }
    out
}

/// Several objects of different kinds in one file.
pub fn docs(parts: Vec<String>) -> String {
    parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("---\n")
}

/// The writer met a shape it does not reproduce; serialize the document with `yaml_serde`.
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shape not handled by the direct YAML writer")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Append one document, as `yaml_serde::to_string(value)` writes it, to `out`. On `Err`, `out` may
/// hold part of the document: truncate it to its length before the call.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut String) -> Result {
    let mut w = Writer {
        out,
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        frames: Vec::new(),
    };
    value.serialize(&mut w)?;
    if !w.frames.is_empty() {
        return Err(Unsupported);
    }
    // The implicit document end: a line break unless the line is already empty.
    w.indent = -1;
    w.write_indent();
    Ok(())
}

/// Where the next node goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Root,
    Key,
    Value,
    Item,
}

/// An open mapping or sequence. Its block form starts with its first entry; one that ends without
/// any is written `{}` or `[]`, as libyaml does after looking ahead.
struct Frame {
    map: bool,
    empty: bool,
    /// A sequence that is a mapping's value on the key's line: its items are not indented further.
    indentless: bool,
    /// A mapping whose key is written and whose value comes next.
    value_next: bool,
}

struct Writer<'a> {
    out: &'a mut String,
    /// Characters on the current line.
    column: usize,
    /// The last thing written was whitespace (or nothing).
    whitespace: bool,
    /// The current line holds only indentation so far.
    indention: bool,
    indent: i32,
    indents: Vec<i32>,
    frames: Vec<Frame>,
}

const BEST_INDENT: i32 = 2;

impl Writer<'_> {
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) -> Result {
        self.indent = self.indents.pop().ok_or(Unsupported)?;
        Ok(())
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// An ASCII indicator (`-`, `:`, `'`, `{`, …).
    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.len();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// Text without line breaks.
    fn write_text(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += chars(text);
    }

    /// What comes before the next node in its parent: a key's indentation, a value's `:`, an
    /// item's `- `. Returns where the node goes.
    fn next_slot(&mut self) -> Result<Slot> {
        let Some(frame) = self.frames.last_mut() else {
            return Ok(Slot::Root);
        };
        let first = std::mem::replace(&mut frame.empty, false);
        if frame.map {
            if frame.value_next {
                frame.value_next = false;
                self.write_indicator(":", false, false, false);
                return Ok(Slot::Value);
            }
            frame.value_next = true;
            if first {
                self.increase_indent(false, false);
            }
            self.write_indent();
            Ok(Slot::Key)
        } else {
            let indentless = frame.indentless;
            if first {
                self.increase_indent(false, indentless);
            }
            self.write_indent();
            self.write_indicator("-", true, false, true);
            Ok(Slot::Item)
        }
    }

    fn scalar(&mut self, value: &str, asked: Asked) -> Result {
        let slot = self.next_slot()?;
        let a = analyze(value).ok_or(Unsupported)?;
        let simple_key = slot == Slot::Key;
        if simple_key && (a.multiline || value.len() > MAX_SIMPLE_KEY) {
            return Err(Unsupported); // libyaml writes it as a complex key (`? …`)
        }
        let mut style = match asked {
            Asked::Any | Asked::Plain => Style::Plain,
            Asked::SingleQuoted => Style::SingleQuoted,
            Asked::Literal => Style::Literal,
        };
        if simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && simple_key)) {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        match style {
            Style::Plain => {
                if !self.whitespace && !value.is_empty() {
                    self.out.push(' ');
                    self.column += 1;
                }
                self.write_text(value);
                self.whitespace = false;
                self.indention = false;
            }
            // Breaks inside single quotes (a `char` asked for so) follow rules not reproduced here.
            Style::SingleQuoted if a.multiline => return Err(Unsupported),
            Style::SingleQuoted => {
                self.write_indicator("'", true, false, false);
                for (i, part) in value.split('\'').enumerate() {
                    if i > 0 {
                        self.out.push_str("''");
                        self.column += 2;
                    }
                    self.write_text(part);
                }
                self.write_indicator("'", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::DoubleQuoted => {
                self.write_indicator("\"", true, false, false);
                self.write_double_quoted(value);
                self.write_indicator("\"", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent()
    }

    fn write_double_quoted(&mut self, value: &str) {
        let mut start = 0;
        for (i, c) in value.char_indices() {
            if printable(c) && !is_break(c) && c != '"' && c != '\\' {
                continue;
            }
            let escape = match c {
                '\0' => Some('0'),
                '\u{7}' => Some('a'),
                '\u{8}' => Some('b'),
                '\t' => Some('t'),
                '\n' => Some('n'),
                '\u{b}' => Some('v'),
                '\u{c}' => Some('f'),
                '\r' => Some('r'),
                '\u{1b}' => Some('e'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                '\u{85}' => Some('N'),
                '\u{2028}' => Some('L'),
                '\u{2029}' => Some('P'),
                _ => None,
            };
            self.write_text(&value[start..i]);
            start = i + c.len_utf8();
            self.out.push('\\');
            self.column += 1;
            match escape {
                Some(e) => {
                    self.out.push(e);
                    self.column += 1;
                }
                None => {
                    let code = u32::from(c);
                    let (mark, width) = match code {
                        0..=0xFF => ('x', 2),
                        0x100..=0xFFFF => ('u', 4),
                        _ => ('U', 8),
                    };
                    self.out.push(mark);
                    for k in (0..width).rev() {
                        let digit = (code >> (k * 4)) & 0xF;
                        self.out.push(char::from_digit(digit, 16).unwrap_or('0').to_ascii_uppercase());
                    }
                    self.column += 1 + width as usize;
                }
            }
        }
        self.write_text(&value[start..]);
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // break, and the chomping indicator from how it ends.
        if value.starts_with([' ', '\n']) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = if !value.ends_with('\n') {
            Some("-")
        } else if value.len() == 1 || value[..value.len() - 1].ends_with('\n') {
            Some("+")
        } else {
            None
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for (i, line) in value.split('\n').enumerate() {
            if i > 0 {
                self.put_break();
                self.indention = true;
                breaks = true;
            }
            if line.is_empty() {
                continue;
            }
            if breaks {
                self.write_indent();
            }
            self.write_text(line);
            self.indention = false;
            breaks = false;
        }
    }

    fn start(&mut self, map: bool) -> Result {
        let slot = self.next_slot()?;
        if slot == Slot::Key {
            return Err(Unsupported);
        }
        let indentless = !map && slot == Slot::Value && !self.indention;
        self.frames.push(Frame { map, empty: true, indentless, value_next: false });
        Ok(())
    }

    fn end(&mut self) -> Result {
        let frame = self.frames.pop().ok_or(Unsupported)?;
        if frame.value_next {
            return Err(Unsupported);
        }
        if frame.empty {
            let (open, close) = if frame.map { ("{", "}") } else { ("[", "]") };
            self.write_indicator(open, true, true, false);
            self.write_indicator(close, false, false, false);
        } else {
            self.pop_indent()?;
        }
        Ok(())
    }

    fn string(&mut self, value: &str) -> Result {
        if plain_word(value) {
            // Field names, setting names, most values: plain wherever they stand, and nothing
            // about them needs the scalar's indentation (it only matters after a line break).
            self.next_slot()?;
            if !self.whitespace {
                self.out.push(' ');
                self.column += 1;
            }
            self.out.push_str(value);
            self.column += value.len();
            self.whitespace = false;
            self.indention = false;
            return Ok(());
        }
        self.scalar(value, infer_style(value))
    }
}
