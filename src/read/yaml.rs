//! Reading YAML text into a generic tree: syntax errors with their place, merge keys resolved,
//! alias bombs refused.

use std::cell::Cell;
use std::fmt;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, VariantAccess, Visitor};
use yaml_serde::mapping::Entry;
use yaml_serde::value::{Tag, TaggedValue};
use yaml_serde::{Mapping, Value};

use crate::error::{Error, Result};

/// Largest input we read: Dify's compose file is ~40 KB; anything near this is not a compose file.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Nodes a document may expand to once aliases are resolved (an alias bomb expands past it).
pub const MAX_NODES: usize = 2_000_000;

/// Deepest `[`/`{` nesting we hand to the YAML parser. libyaml's scanner slows down with the square of
/// the depth (100,000 `[` take a minute), and the deserializer refuses 128 levels anyway.
pub const MAX_FLOW_DEPTH: usize = 256;

/// Parse one YAML document. `what` names the kind of file for the help text.
pub fn parse(path: &Path, text: &str, what: &str) -> Result<Value> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::file(
            path,
            format!("file is {} bytes, more than the {MAX_INPUT_BYTES} this tool reads", text.len()),
            format!("pass the {what} itself"),
        ));
    }
    if text.trim().is_empty() {
        return Err(Error::file(path, "file is empty", format!("pass a {what} with content")));
    }
    if let Some(offset) = too_deep(text) {
        return Err(Error::at_offset(
            path,
            text,
            offset,
            format!("invalid YAML: brackets nest deeper than {MAX_FLOW_DEPTH} levels"),
            "no compose file nests this deep; close the brackets or remove them",
        ));
    }
    let budget = Budget::new(MAX_NODES);
    let mut value = budget.read(yaml_serde::Deserializer::from_str(text)).map_err(|e| match e {
        Refused::Expands => Error::file(
            path,
            format!(
                "document expands to more than {MAX_NODES} nodes once its aliases are resolved (alias expansion bomb?)"
            ),
            "remove the aliases that repeat large values",
        ),
        Refused::Syntax(e) => syntax_error(path, text, &e, what),
    })?;
    resolve_merges(&mut value).map_err(|reason| {
        Error::file(
            path,
            format!("invalid merge key `<<`: {reason}"),
            "a merge key takes a mapping or a list of mappings",
        )
    })?;
    Ok(value)
}

fn syntax_error(path: &Path, text: &str, e: &yaml_serde::Error, what: &str) -> Error {
    let message = e.to_string();
    // The library appends " at line L column C"; the location goes in front instead.
    let mut message = message.split(" at line ").next().unwrap_or(&message).to_string();
    // The library reads integers as wide as 128 bits, then cannot hold them.
    if let Some(number) = message
        .strip_suffix(" as u128, expected any YAML value")
        .or(message.strip_suffix(" as i128, expected any YAML value"))
    {
        let number = number.rsplit('`').nth(1).unwrap_or(number);
        let place = message
            .split(": invalid type")
            .next()
            .filter(|p| *p != message)
            .map(|p| format!("{p}: "))
            .unwrap_or_default();
        message = format!("{place}the integer {number} is larger than 64 bits can hold");
    }
    let help = if message.contains("larger than 64 bits") {
        "write a smaller number, or quote it to make it a string".to_string()
    } else if message.contains("repetition limit") || message.contains("recursion limit") {
        "the document nests or repeats aliases beyond what any compose file needs; remove them".to_string()
    } else {
        format!("fix the YAML syntax of this {what} at the place shown")
    };
    match e.location() {
        // The library counts U+2028, U+2029 and a lone CR as line breaks; editors and our messages count
        // only LF, so the place is taken from its byte index.
        Some(loc) => Error::at_offset(path, text, loc.index(), format!("invalid YAML: {message}"), help),
        // The library gives no place for a second document; point at its start, else at line 1.
        None => {
            let (line, column) = second_document(text).unwrap_or((1, 1));
            let help = if message.contains("more than one document") {
                "a compose file is one YAML document: remove the `---` (or the text after the first value)".to_string()
            } else {
                help
            };
            Error::at(path, text, line, column, format!("invalid YAML: {message}"), help)
        }
    }
}

/// Where a second document starts: a `---` or `...` line after some content.
fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        if seen_content && (line.starts_with("---") || line.starts_with("...")) {
            return Some((i + 1, 1));
        }
        let t = line.trim();
        seen_content |= !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') && t != "---";
    }
    None
}

/// Byte offset of the first bracket nested deeper than `MAX_FLOW_DEPTH`, outside comments and quotes.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let starts_token =
        |i: usize| i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':');
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' if starts_token(i) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            quote @ (b'"' | b'\'') if starts_token(i) => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if quote == b'"' && bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Why a bounded read stopped.
enum Refused {
    /// The document, aliases expanded, holds more nodes than the budget.
    Expands,
    /// The YAML library's own error: syntax, duplicate keys, a second document, its limits.
    Syntax(yaml_serde::Error),
}

/// Nodes a read may still build, shared by every document of a text. The count is taken while the
/// value is built: yaml_serde replays an alias by visiting its anchor's events again, so every
/// expanded node passes through [`Node`] and a bomb stops once the budget is spent, before the
/// expansion is held in memory. (Its own limit counts alias jumps, not what they expand to.)
struct Budget {
    left: Cell<usize>,
    spent: Cell<bool>,
}

impl Budget {
    fn new(nodes: usize) -> Self {
        Budget { left: Cell::new(nodes), spent: Cell::new(false) }
    }

    /// One document, as `yaml_serde::Value` reads it, within the budget.
    fn read(&self, document: yaml_serde::Deserializer<'_>) -> std::result::Result<Value, Refused> {
        Node(self)
            .deserialize(document)
            .map_err(|e| if self.spent.get() { Refused::Expands } else { Refused::Syntax(e) })
    }

    fn take<E: serde::de::Error>(&self) -> std::result::Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.spent.set(true);
                Err(E::custom("the document expands past the node budget"))
            }
        }
    }
}

/// One node of a value being read, counted against the budget; built as `yaml_serde::Value`'s own
/// `Deserialize` builds it (the same values, tags, duplicate-key error and expectation text, which
/// `syntax_error` reads).
#[derive(Clone, Copy)]
struct Node<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(n.into()))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(s))
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Value, E> {
        self.0.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> std::result::Result<Value, A::Error> {
        self.0.take()?;
        let mut out = Vec::new();
        while let Some(item) = items.next_element_seed(self)? {
            out.push(item);
        }
        Ok(Value::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> std::result::Result<Value, A::Error> {
        self.0.take()?;
        let mut out = Mapping::new();
        while let Some(key) = entries.next_key_seed(self)? {
            match out.entry(key) {
                Entry::Occupied(entry) => return Err(A::Error::custom(duplicate(entry.key()))),
                Entry::Vacant(entry) => {
                    entry.insert(entries.next_value_seed(self)?);
                }
            }
        }
        Ok(Value::Mapping(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, tagged: A) -> std::result::Result<Value, A::Error> {
        self.0.take()?;
        let (tag, value) = tagged.variant::<String>()?;
        if tag.is_empty() {
            return Err(A::Error::custom("empty YAML tag is not allowed"));
        }
        let value = value.newtype_variant_seed(self)?;
        Ok(Value::Tagged(Box::new(TaggedValue { tag: Tag::new(tag), value })))
    }
}

/// yaml_serde's message for a key written twice in one mapping.
fn duplicate(key: &Value) -> String {
    match key {
        Value::Null => "duplicate entry with null key".to_string(),
        Value::Bool(b) => format!("duplicate entry with key `{b}`"),
        Value::Number(n) => format!("duplicate entry with key {n}"),
        Value::String(s) => format!("duplicate entry with key {s:?}"),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => "duplicate entry in YAML map".to_string(),
    }
}

/// Why a file of the tree on disk is not read as YAML, for a message that names the file.
fn tree_reason(refused: Refused) -> String {
    match refused {
        Refused::Expands => {
            format!("it expands to more than {MAX_NODES} nodes once its aliases are resolved (alias expansion bomb?)")
        }
        Refused::Syntax(e) => format!("not YAML: {e}"),
    }
}

/// One YAML document of a file of the tree on disk (a Secret, a template), bounded as compose input
/// is; the error says why it is refused.
pub fn document(text: &str) -> std::result::Result<Value, String> {
    if let Some(offset) = too_deep(text) {
        return Err(format!("brackets nest deeper than {MAX_FLOW_DEPTH} levels at byte {offset}"));
    }
    Budget::new(MAX_NODES).read(yaml_serde::Deserializer::from_str(text)).map_err(tree_reason)
}

/// Every YAML document of a file of the tree on disk, within one node budget for the whole file.
pub fn documents(text: &str) -> std::result::Result<Vec<Value>, String> {
    if let Some(offset) = too_deep(text) {
        return Err(format!("brackets nest deeper than {MAX_FLOW_DEPTH} levels at byte {offset}"));
    }
    let budget = Budget::new(MAX_NODES);
    yaml_serde::Deserializer::from_str(text).map(|doc| budget.read(doc).map_err(tree_reason)).collect()
}

/// YAML merge keys (`<<: *a`, `<<: [*a, *b]`): keys already present win, then earlier sources win.
pub fn resolve_merges(value: &mut Value) -> std::result::Result<(), String> {
    match value {
        Value::Mapping(map) => {
            while let Some(merge) = map.remove("<<") {
                let sources = match merge {
                    Value::Mapping(m) => vec![m],
                    Value::Sequence(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::Mapping(m) => Ok(m),
                            other => Err(format!("list element is {}", kind_of(&other))),
                        })
                        .collect::<std::result::Result<Vec<Mapping>, String>>()?,
                    other => return Err(format!("value is {}", kind_of(&other))),
                };
                for source in sources {
                    for (k, v) in source {
                        if !map.contains_key(&k) {
                            map.insert(k, v);
                        }
                    }
                }
            }
            map.values_mut().try_for_each(resolve_merges)
        }
        Value::Sequence(items) => items.iter_mut().try_for_each(resolve_merges),
        Value::Tagged(tagged) => resolve_merges(&mut tagged.value),
        _ => Ok(()),
    }
}

/// A YAML scalar as written on one line, read back: a double-quoted one as JSON reads it (the
/// tool writes them so), a single-quoted one with `''` for `'`, a plain one as it stands.
pub fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        if let Ok(text) = serde_json::from_str::<String>(value) {
            return text;
        }
    }
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].replace("''", "'");
    }
    value.to_string()
}

/// A value as a YAML scalar that reads back as exactly that string: plain when it is one, else
/// double-quoted (JSON's escapes are YAML's).
pub fn scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(c))
        && value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && yaml_serde::from_str::<yaml_serde::Value>(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .as_deref()
            == Some(value);
    if plain {
        value.to_string()
    } else {
        serde_json::Value::String(value.to_string()).to_string()
    }
}

/// How a value is named in messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A scalar as compose reads it: strings as they are, numbers and booleans in their YAML spelling.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Find where `needle` first appears as a key or value in the text, for pointing at a semantic problem.
pub fn find_line(text: &str, needle: &str) -> Option<(usize, usize)> {
    let offset = text.find(needle)?;
    Some(crate::error::line_col(text, offset))
}

/// Where the value at `path` (`services.b.ports[0]`, as the reader names places) is written, and
/// `needle` inside it: the block of each path segment is found by following the text's
/// indentation, so a value that also appears in another service is pointed at where it is. A
/// segment the text does not show (a merged-in key, a list entry written `KEY=value`) stops the
/// walk, and the needle is searched for in the block reached; the whole text is the last resort.
pub fn locate(text: &str, path: &str, needle: &str) -> Option<(usize, usize)> {
    let lines = lines_of(text);
    // A block: from (line, column) to the end of line `end - 1`.
    let mut block = Block { line: 0, col: 0, end: lines.len(), item: false };
    let mut found_any = false;
    for segment in segments(path) {
        let next = match segment {
            Segment::Key(k) => block.key(&lines, &k),
            Segment::Index(i) => block.index(&lines, i),
        };
        match next {
            Some(b) => {
                block = b;
                found_any = true;
            }
            None => break,
        }
    }
    let (start, end) = block.bytes(text, &lines);
    let inside = &text[start.min(end)..end];
    match (!needle.is_empty()).then(|| inside.find(needle)).flatten() {
        Some(at) => Some(crate::error::line_col(text, start + at)),
        None if found_any => Some(crate::error::line_col(text, start)),
        None => find_line(text, needle),
    }
}

/// Whether this text itself writes the value at `path` with `needle` in it: every key of the path up
/// to its first list index is written (indexes count entries of the merged list, not of this file),
/// and the needle is inside. Of several merged compose files, the one that holds the value is the
/// one to point at.
pub fn holds(text: &str, path: &str, needle: &str) -> bool {
    let lines = lines_of(text);
    let mut block = Block { line: 0, col: 0, end: lines.len(), item: false };
    for segment in segments(path) {
        let Segment::Key(k) = segment else { break };
        match block.key(&lines, &k) {
            Some(b) => block = b,
            None => return false,
        }
    }
    let (start, end) = block.bytes(text, &lines);
    needle.is_empty() || text[start.min(end)..end].contains(needle)
}

/// Each line with the byte offset it starts at, without its line break.
fn lines_of(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        out.push((offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    out
}

enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_string()));
        }
        while let Some((n, after)) = rest.split_once(']') {
            if let Ok(i) = n.parse() {
                out.push(Segment::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// Part of the text: from column `col` of `line` to the end of line `end - 1`. `item`: it starts
/// at a list entry's `- `, whose content counts as indented past the dash.
#[derive(Clone, Copy, Debug)]
struct Block {
    line: usize,
    col: usize,
    end: usize,
    item: bool,
}

/// A line's content with its column, or none for blank and comment lines.
fn content(line: &str, from: usize) -> Option<(usize, &str)> {
    let rest = line.get(from..)?;
    let trimmed = rest.trim_start();
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| (from + rest.len() - trimmed.len(), trimmed))
}

impl Block {
    /// Where the block starts in `text` (its key or item) and where it ends.
    fn bytes(&self, text: &str, lines: &[(usize, &str)]) -> (usize, usize) {
        let start = lines.get(self.line).map_or(text.len(), |(o, _)| o + self.col);
        (start, lines.get(self.end).map_or(text.len(), |(o, _)| *o))
    }

    /// The lines of the block: (line index, column, content), the first from the block's column.
    fn entries<'t>(&self, lines: &[(usize, &'t str)]) -> Vec<(usize, usize, &'t str)> {
        (self.line..self.end.min(lines.len()))
            .filter_map(|i| {
                let from = if i == self.line { self.col } else { 0 };
                let (col, text) = content(lines[i].1, from)?;
                // A list entry's own first line: its content starts after the dash.
                if i == self.line && self.item {
                    let after = text.strip_prefix('-')?.trim_start();
                    return (!after.is_empty()).then(|| (i, col + (text.len() - after.len()), after));
                }
                Some((i, col, text))
            })
            .collect()
    }

    /// The value of mapping key `key` in this block.
    fn key(&self, lines: &[(usize, &str)], key: &str) -> Option<Block> {
        let entries = self.entries(lines);
        let &(_, indent, _) = entries.first()?;
        let forms = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")];
        let mut found = None;
        for (n, &(i, col, text)) in entries.iter().enumerate() {
            if col < indent {
                break;
            }
            if col != indent {
                continue;
            }
            if let Some(form) = forms.iter().find(|f| {
                text.starts_with(f.as_str()) && text[f.len()..].chars().next().is_none_or(char::is_whitespace)
            }) {
                found = Some((n, i, col + form.len()));
                break;
            }
        }
        let (n, line, col) = found?;
        let end = entries[n + 1..].iter().find(|(_, c, _)| *c <= indent).map_or(self.end, |(i, _, _)| *i);
        Some(Block { line, col, end, item: false })
    }

    /// Entry `index` of the list in this block (block style `- x` lines, or a one-line `[a, b]`).
    fn index(&self, lines: &[(usize, &str)], index: usize) -> Option<Block> {
        let entries = self.entries(lines);
        let &(first, indent, text) = entries.first()?;
        if let Some(flow) = text.strip_prefix('[') {
            // Entries of a flow list on one line, split at top-level commas outside quotes.
            let base = indent + 1;
            let (mut depth, mut quote, mut start, mut n) = (0usize, None::<char>, 0usize, 0usize);
            for (at, c) in flow.char_indices() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '[' | '{') => depth += 1,
                    (None, ']' | '}') if depth > 0 => depth -= 1,
                    (None, ',' | ']') if depth == 0 => {
                        if n == index {
                            let item = &flow[start..at];
                            let lead = item.len() - item.trim_start().len();
                            return Some(Block { line: first, col: base + start + lead, end: first + 1, item: false });
                        }
                        n += 1;
                        start = at + 1;
                    }
                    _ => {}
                }
            }
            return None;
        }
        let items: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, (_, col, text))| *col == indent && (text.starts_with("- ") || *text == "-"))
            .map(|(n, _)| n)
            .collect();
        let &n = items.get(index)?;
        let end = entries[n + 1..].iter().find(|(_, c, _)| *c <= indent).map_or(self.end, |(i, _, _)| *i);
        let (line, col, _) = entries[n];
        Some(Block { line, col, end, item: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn locate_never_panics(text in "[ a-z:\\-\\[\\],\"'#é\n]{0,200}", path in "[a-z.\\[\\]0-9]{0,20}", needle in "[a-z:é]{0,4}") {
            let _ = locate(&text, &path, &needle);
        }
    }

    #[test]
    fn locate_follows_the_path_not_the_first_match() {
        let text = "services:\n  a:\n    ports:\n      - \"99999:80\"\n  b:\n    image: x\n    ports:\n      - \"8080:80\"\n      - \"99999:80\"\n    environment:\n      K: v\n";
        assert_eq!(locate(text, "services.b.ports[1]", "99999"), Some((9, 10)));
        assert_eq!(locate(text, "services.a.ports[0]", "99999"), Some((4, 10)));
        assert_eq!(locate(text, "services.b.environment.K", ""), Some((11, 9)));
        let flow = "services:\n  a:\n    ports: [\"1:1\"]\n  b:\n    ports: [\"80\", \"70000\"]\n";
        assert_eq!(locate(flow, "services.b.ports[1]", "70000"), Some((5, 20)));
        // A key the text does not show (merged in): the needle in the block reached, else anywhere.
        assert_eq!(locate(text, "services.b.nothere", "8080"), Some((8, 10)));
        assert_eq!(locate(text, "x.y", "image"), Some((6, 5)));
        let items = "s:\n  - name: a\n    port: 1\n  - name: b\n    port: 1\n";
        assert_eq!(locate(items, "s[1].port", "1"), Some((5, 11)));
    }

    fn p(text: &str) -> Result<Value> {
        parse(Path::new("c.yaml"), text, "compose file")
    }

    #[test]
    fn merges_single_and_list_with_local_keys_winning() {
        let v = p("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 0\n").unwrap();
        let c = &v["c"];
        assert_eq!(c["x"], Value::from(0));
        assert_eq!(c["y"], Value::from(1));
        assert_eq!(c["z"], Value::from(2));
        assert!(c.get("<<").is_none());
    }

    #[test]
    fn nested_merge_inside_an_anchor_is_resolved() {
        let v = p("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n").unwrap();
        assert_eq!(v["c"]["x"], Value::from(1));
        assert_eq!(v["c"]["y"], Value::from(2));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = p("services:\n  api:\n    image: x\n   bad: indent\n").unwrap_err();
        let loc = e.location.clone().expect("location");
        assert_eq!(loc.line, 4, "{e}");
    }

    #[test]
    fn holds_asks_for_every_key_and_the_needle() {
        let text = "services:\n  app:\n    image: a\n  db:\n    ports:\n      - \"99999:80\"\n";
        assert!(holds(text, "services.db.ports[3]", "99999"), "indexes of the merged list are not this file's");
        assert!(!holds(text, "services.app.ports[0]", "99999"), "app writes no ports here");
        assert!(!holds(text, "services.db.ports[0]", "12345"));
        assert!(holds(text, "services.app", ""));
    }

    #[test]
    fn a_unicode_line_separator_is_not_a_line_break_in_the_place_shown() {
        // U+2028 breaks the line for the YAML library, not for editors: the place counts LF only.
        let e = p("a: b\n\u{2028}c d: e: f\n").unwrap_err();
        let loc = e.location.clone().expect("location");
        assert_eq!((loc.line, loc.column), (2, 8), "{e}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(p(&text).is_err());
    }

    /// One anchor of a large list and many aliases to it: few jumps for yaml_serde's own limit, 400
    /// million nodes once expanded. Refused while it is read, not after.
    fn wide_alias_bomb() -> String {
        let items = vec!["1"; 20_000].join(",");
        let aliases: String = (0..20_000).map(|i| format!("  k{i}: *a\n")).collect();
        format!("x-a: &a [{items}]\nx-b:\n{aliases}services:\n  web:\n    image: nginx:1\n")
    }

    #[test]
    fn a_wide_alias_bomb_is_refused_while_it_is_read() {
        let started = std::time::Instant::now();
        let e = p(&wide_alias_bomb()).unwrap_err();
        assert!(e.to_string().contains("alias"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
        let e = documents(&format!("a: 1\n---\n{}", wide_alias_bomb())).unwrap_err();
        assert!(e.contains("alias"), "{e}");
        assert!(document(&wide_alias_bomb()).unwrap_err().contains("alias"));
    }

    #[test]
    fn the_budget_counts_expanded_nodes_across_documents() {
        let read = |text: &str, nodes: usize| -> std::result::Result<Vec<Value>, bool> {
            let budget = Budget::new(nodes);
            yaml_serde::Deserializer::from_str(text)
                .map(|doc| budget.read(doc).map_err(|e| matches!(e, Refused::Expands)))
                .collect()
        };
        // A list of three and its alias: 1 + 2 × (1 + 3) + 2 keys = 11 nodes.
        let text = "a: &x [1, 2, 3]\nb: *x\n";
        assert!(read(text, 11).is_ok());
        assert_eq!(read(text, 10), Err(true));
        // Two documents of 3 nodes share one budget.
        assert!(read("[1, 2]\n---\n[3, 4]\n", 6).is_ok());
        assert_eq!(read("[1, 2]\n---\n[3, 4]\n", 5), Err(true));
        assert_eq!(read("a: [\n", 100), Err(false), "a syntax error is not a spent budget");
    }

    #[test]
    fn bounded_values_are_what_yaml_serde_reads() {
        let texts = [
            "services:\n  a:\n    image: !override x\n    ports: !reset ['80']\n    n: [1, -2, 3.5, .inf, ~, true, '7']\n",
            "a: &a {x: 1, y: [!!str 2, !custom {z: null}]}\nb: *a\nc: !!binary aGk=\n? [k]\n: v\n",
            "plain\n",
            "",
            "# only a comment\n",
        ];
        for text in texts {
            let budget = Budget::new(MAX_NODES);
            let bounded = budget.read(yaml_serde::Deserializer::from_str(text)).ok().expect(text);
            assert_eq!(bounded, yaml_serde::from_str::<Value>(text).unwrap(), "{text:?}");
        }
        // Errors the library finds carry the same text (and place) as its own reading gives.
        for text in ["a: 1\na: 2\n", "{1: a, 1: b}\n", "a: 1\n---\nb: 2\n", "a: 99999999999999999999999\n", "a: [\n"] {
            let budget = Budget::new(MAX_NODES);
            let Err(Refused::Syntax(e)) = budget.read(yaml_serde::Deserializer::from_str(text)) else {
                panic!("{text:?} was read")
            };
            assert_eq!(e.to_string(), yaml_serde::from_str::<Value>(text).unwrap_err().to_string(), "{text:?}");
        }
    }

    #[test]
    fn deep_brackets_are_refused_quickly_with_a_place() {
        let e = p(&format!("a: {}\n", "[".repeat(100_000))).unwrap_err();
        assert_eq!(e.location.clone().map(|l| (l.line, l.column)), Some((1, 4 + MAX_FLOW_DEPTH)));
        // Brackets inside quotes and comments do not count.
        let quoted = format!("a: \"{}\"  # {}\n", "[".repeat(300), "{".repeat(300));
        assert!(p(&quoted).is_ok());
    }

    #[test]
    fn a_second_document_is_located() {
        let e = p("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.location.clone().map(|l| l.line), Some(2), "{e}");
        let e = p("|\n_").unwrap_err();
        assert!(e.location.is_some(), "{e}");
    }

    #[test]
    fn empty_and_scalar_merge_are_errors() {
        assert!(p("  \n").is_err());
        assert!(p("a: {<<: 3}\n").is_err());
    }
}
