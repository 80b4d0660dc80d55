//! Reading YAML text into a generic tree: syntax errors with their place, merge keys resolved,
//! alias bombs refused.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::error::{Error, Result};

/// Largest input we read: Dify's compose file is ~40 KB; anything near this is not a compose file.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Nodes a document may expand to once aliases are resolved (an alias bomb expands past it).
pub const MAX_NODES: usize = 2_000_000;

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
    let mut value: Value = serde_yaml_ng::from_str(text).map_err(|e| syntax_error(path, text, &e, what))?;
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

fn syntax_error(path: &Path, text: &str, e: &serde_yaml_ng::Error, what: &str) -> Error {
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
        None => Error::file(path, format!("invalid YAML: {message}"), help),
    }
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
    fn empty_and_scalar_merge_are_errors() {
        assert!(p("  \n").is_err());
        assert!(p("a: {<<: 3}\n").is_err());
    }
}
