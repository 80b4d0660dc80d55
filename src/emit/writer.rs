//! A direct YAML writer for the documents `emit` produces, byte for byte what `yaml_serde::to_string`
//! (libyaml's emitter behind serde) writes for them, without its event queue, per-scalar
//! allocations and C-style buffers.
//!
//! It follows the emitter's own state (column, whether the line holds only indentation, whether the
//! last thing written was whitespace, the indent stack) through the same steps for the shapes our
//! objects have: block mappings with simple keys, block sequences, empty `{}` and `[]`, and plain,
//! single-quoted, double-quoted and literal scalars chosen by the same rules. Anything else (a key
//! that is not a short single-line scalar, floats, bytes, enum variants with data, the line
//! separators U+2028 and U+2029) is refused with [`Unsupported`], and the caller serializes that
//! document with `yaml_serde` instead, so the output never differs.

use std::fmt;

use serde::ser::{self, Serialize};

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

/// The style serde's side asks for (yaml_serde's choice before libyaml's own checks).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    Any,
    Plain,
    SingleQuoted,
    Literal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
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
/// libyaml refuses simple keys longer than this.
const MAX_SIMPLE_KEY: usize = 128;

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

/// A word every step of `scalar` writes plain: a letter that starts no null, boolean or number,
/// then letters, digits, `_`, `-`, `.` and `/` (no indicator, blank or break), short enough for a
/// simple key.
fn plain_word(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'n' | b'N' | b't' | b'T' | b'f' | b'F') | None => false,
        Some(first) if !first.is_ascii_alphabetic() => false,
        Some(_) => {
            bytes.len() <= MAX_SIMPLE_KEY
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        }
    }
}

fn chars(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// libyaml's printable set (unicode output on).
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None | Some(' ' | '\t' | '\0') => true,
        Some(c) => is_break(c),
    }
}

/// libyaml's analysis of a scalar: which styles may hold it.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// `None` for text this writer leaves to libyaml (the line and paragraph separators, which it
/// writes raw inside quoted and block scalars).
fn analyze(value: &str) -> Option<Analysis> {
    if value.is_empty() {
        return Some(Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        });
    }
    let bytes = value.as_bytes();
    if bytes.iter().all(|b| matches!(b, b'!'..=b'~')) {
        // Printable ASCII without spaces (most names and values): no breaks, nothing special, and
        // with no blank inside, `#` only matters first and `:` only last.
        let first = bytes[0];
        let indicator = matches!(
            first,
            b'#' | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        ) || (bytes.len() == 1 && matches!(first, b'?' | b':' | b'-'))
            || (bytes.len() > 1 && bytes[bytes.len() - 1] == b':')
            || bytes.starts_with(b"---")
            || bytes.starts_with(b"...");
        return Some(Analysis {
            multiline: false,
            block_plain_allowed: !indicator,
            single_quoted_allowed: true,
            block_allowed: true,
        });
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut iter = value.chars().peekable();
    let mut first = true;
    while let Some(c) = iter.next() {
        if matches!(c, '\u{2028}' | '\u{2029}') {
            return None;
        }
        let next = iter.peek().copied();
        let followed_by_whitespace = is_blank_or_end(next);
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    block_indicators = true
                }
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else if (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace) {
            block_indicators = true;
        }
        if !printable(c) {
            special = true;
        }
        let last = next.is_none();
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
        first = false;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    Some(a)
}

/// yaml_serde's choice for a string: literal when it has a line break, single-quoted when read
/// back plain it would be something else (null, a boolean, a number) or is digits with a leading
/// zero, else whatever libyaml finds best.
fn infer_style(value: &str) -> Asked {
    if value.contains('\n') {
        return Asked::Literal;
    }
    match value.as_bytes().first() {
        None => Asked::SingleQuoted,
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F') => {
            if resolves_to_non_string(value) {
                Asked::SingleQuoted
            } else {
                Asked::Any
            }
        }
        // Nothing else reads back as null, a boolean or a number.
        Some(_) => Asked::Any,
    }
}

fn resolves_to_non_string(v: &str) -> bool {
    matches!(v, "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        || leading_zero_digits(v)
        || is_int(v)
        || is_float(v)
}

/// `0123`, `-007`: a string in YAML 1.2, quoted by yaml_serde all the same.
fn leading_zero_digits(v: &str) -> bool {
    let v = v.strip_prefix(['-', '+']).unwrap_or(v);
    v.len() > 1 && v.starts_with('0') && v[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Whether yaml_serde reads `v` as an integer (decimal, `0x`, `0o`, `0b`, signed, up to 128 bits).
fn is_int(v: &str) -> bool {
    fn radix_prefixed(rest: &str, negative: bool) -> bool {
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(digits) = rest.strip_prefix(prefix) {
                if digits.starts_with(['+', '-']) {
                    // `0x-1`: not a number (for the unsigned reading; the signed one retries below).
                    continue;
                }
                let ok = if negative {
                    i128::from_str_radix(&format!("-{digits}"), radix).is_ok()
                } else {
                    u128::from_str_radix(digits, radix).is_ok()
                };
                if ok {
                    return true;
                }
            }
        }
        false
    }
    let unsigned = v.strip_prefix('+').unwrap_or(v);
    if !unsigned.starts_with(['+', '-']) && radix_prefixed(unsigned, false) {
        return true;
    }
    if let Some(rest) = v.strip_prefix('-') {
        if radix_prefixed(rest, true) {
            return true;
        }
    }
    if leading_zero_digits(v) {
        return false;
    }
    (!unsigned.starts_with(['+', '-']) && unsigned.parse::<u128>().is_ok()) || v.parse::<i128>().is_ok()
}

fn is_float(v: &str) -> bool {
    let unsigned = match v.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => v,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(v, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

impl<'a> ser::Serializer for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" }, Asked::Plain)
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.scalar(&v.to_string(), Asked::Plain)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.scalar(&v.to_string(), Asked::Plain)
    }
    fn serialize_f32(self, _v: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _v: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result {
        self.scalar(v.encode_utf8(&mut [0; 4]), Asked::SingleQuoted)
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.scalar("null", Asked::Plain)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(Unsupported) // yaml_serde writes a tag
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        self.start(true)?;
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.start(true)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        let text = value.to_string();
        // yaml_serde reads `!name` as a tag when it is the first key of a one-entry map.
        if text.starts_with('!') {
            return Err(Unsupported);
        }
        self.string(&text)
    }
}

impl<'a> ser::SerializeSeq for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeTuple for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeTupleStruct for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeMap for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeStruct for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.string(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    #[derive(Debug, Clone, Serialize)]
    #[serde(untagged)]
    enum Node {
        Str(String),
        Int(i64),
        Bool(bool),
        Null(()),
        Map(BTreeMap<String, Node>),
        List(Vec<Node>),
    }

    fn same(value: &impl Serialize) {
        let want = yaml_serde::to_string(value).unwrap();
        let mut got = String::new();
        match write(value, &mut got) {
            Ok(()) => assert_eq!(got, want),
            // Only complex keys (`? …`, a key with a line break) are left to yaml_serde here.
            Err(Unsupported) => {
                assert!(want.starts_with("? ") || want.contains("\n? ") || want.contains(" ? "), "{want}")
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a",
            "b",
            "Z",
            " ",
            "  ",
            "\n",
            "\n\n",
            "\t",
            ":",
            ": ",
            "#",
            " #",
            "-",
            "- ",
            "?",
            "'",
            "\"",
            "\\",
            ",",
            "[",
            "]",
            "{",
            "}",
            "&",
            "*",
            "!",
            "|",
            ">",
            "%",
            "@",
            "`",
            "0",
            "1",
            "7",
            "0x1f",
            "0o7",
            "0b1",
            "+",
            ".",
            "e",
            "E",
            "inf",
            ".inf",
            "nan",
            "null",
            "~",
            "true",
            "False",
            "yes",
            "é",
            "日本",
            "\u{a0}",
            "\u{85}",
            "\u{feff}",
            "\u{1b}",
            "\r",
            "\0",
            "\u{7f}",
            "\u{1f600}",
            "---",
            "...",
            "=",
            "/",
            "$",
            "{{",
        ]);
        prop::collection::vec(pieces, 0..8).prop_map(|p| p.concat())
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            text().prop_map(Node::Str),
            any::<i64>().prop_map(Node::Int),
            any::<bool>().prop_map(Node::Bool),
            Just(Node::Null(())),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::btree_map(text(), inner.clone(), 0..5).prop_map(Node::Map),
                prop::collection::vec(inner, 0..5).prop_map(Node::List),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn writes_what_yaml_serde_writes(n in node()) {
            same(&n);
        }

        #[test]
        fn single_strings(s in text()) {
            same(&s);
            same(&BTreeMap::from([(s.clone(), s.clone())]));
            same(&BTreeMap::from([("k", vec![s.clone()])]));
        }
    }

    #[test]
    fn typical_object() {
        let mut data = BTreeMap::new();
        data.insert("nginx.conf".to_string(), "server {\n  listen 80;\n}\n".to_string());
        data.insert("lead".to_string(), "  indented\nthen\n\n".to_string());
        data.insert("PORT".to_string(), "8080".to_string());
        data.insert("EMPTY".to_string(), String::new());
        data.insert("URL".to_string(), "http://x:1/a#b".to_string());
        let cm = k8s_openapi::api::core::v1::ConfigMap { data: Some(data), ..Default::default() };
        let mut got = String::new();
        write(&cm, &mut got).unwrap();
        assert_eq!(got, yaml_serde::to_string(&cm).unwrap());
    }

    #[test]
    fn numbers_and_words() {
        for s in [
            "0",
            "012",
            "-0",
            "+1",
            "0x",
            "0xg",
            "0x1F",
            "-0x1f",
            "+0x1",
            "0x-1",
            "1e3",
            "1.",
            ".5",
            "-.inf",
            "+.inf",
            "1_000",
            "١",
            "True",
            "tRUE",
            "no",
            "NaN",
            "infinity",
            "-",
            "--",
            "+-1",
            "99999999999999999999999999999999999999999",
            "1e400",
            "0o",
            "0b2",
            "-0b1",
            "+-0x1",
            "--1",
        ] {
            same(&s);
        }
    }
}
