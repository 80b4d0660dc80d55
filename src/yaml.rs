//! Reading YAML text into a generic tree: syntax errors with their place, merge keys resolved,
//! alias bombs refused.

use std::path::Path;

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
    let mut value: Value = yaml_serde::from_str(text).map_err(|e| syntax_error(path, text, &e, what))?;
    let mut budget = MAX_NODES;
    count_nodes(&value, &mut budget).map_err(|()| {
        Error::file(
            path,
            format!("document expands to more than {MAX_NODES} nodes (alias expansion bomb?)"),
            "remove the self-multiplying aliases",
        )
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
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    let help = if message.contains("repetition limit") || message.contains("recursion limit") {
        "the document nests or repeats aliases beyond what any compose file needs; remove them".to_string()
    } else {
        format!("fix the YAML syntax of this {what} at the place shown")
    };
    match e.location() {
        Some(loc) => Error::at(path, text, loc.line(), loc.column(), format!("invalid YAML: {message}"), help),
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

fn count_nodes(value: &Value, budget: &mut usize) -> std::result::Result<(), ()> {
    *budget = budget.checked_sub(1).ok_or(())?;
    match value {
        Value::Sequence(items) => items.iter().try_for_each(|v| count_nodes(v, budget)),
        Value::Mapping(map) => map.iter().try_for_each(|(k, v)| {
            count_nodes(k, budget)?;
            count_nodes(v, budget)
        }),
        Value::Tagged(tagged) => count_nodes(&tagged.value, budget),
        _ => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
