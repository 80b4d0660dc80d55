//! The text of a Secret file as the tool writes it (`stringData:` then `  KEY: value`, one a line):
//! its entries read, filled and added to, the values a filled file holds learnt by its template,
//! and the length limits its template's annotation gives.

use std::collections::BTreeMap;

use crate::placeholders::{fill, holds_placeholder, tokens, MAX_LENGTH};

/// The length limits a secret template's annotation gives: token → at most so many characters.
pub(super) fn max_lengths(example: &str) -> BTreeMap<String, usize> {
    let prefix = format!("{MAX_LENGTH}: ");
    example
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
        .flat_map(|v| v.trim_matches(['\'', '"']).split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|item| item.split_once('=').and_then(|(t, n)| Some((t.to_string(), n.parse().ok()?))))
        .collect()
}

/// The `stringData` entries of a Secret as the tool writes it (`  KEY: value`, one a line): key and
/// value text as written.
pub(super) fn string_data(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "stringData:" {
            inside = true;
        } else if inside && line.starts_with("  ") && !line.starts_with("   ") {
            if let Some((key, value)) = line[2..].split_once(':') {
                out.push((key.to_string(), crate::read::yaml::unquote(value.trim())));
            }
        } else if inside && !line.starts_with(' ') {
            inside = false;
        }
    }
    out
}

/// The text with `lines` added at the end of its `stringData` block.
pub(super) fn add_to_string_data(text: &str, lines: &[String]) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut added = false;
    for line in text.lines() {
        if inside && !added && !line.starts_with(' ') {
            lines.iter().for_each(|l| out.push_str(&format!("{l}\n")));
            added = true;
        }
        inside = inside || line == "stringData:";
        out.push_str(line);
        out.push('\n');
    }
    if !added {
        if !inside {
            out.push_str("stringData:\n");
        }
        lines.iter().for_each(|l| out.push_str(&format!("{l}\n")));
    }
    out
}

/// `fill` for a Secret's entries (its `stringData` block, or `text` itself when it is only entry
/// lines): an entry whose value is one placeholder gets the value as a YAML scalar (quoted where
/// YAML would read it as something else); placeholders inside a longer value (a URL) are put in as
/// they are. Lines outside the entries keep their placeholders: there they are names (the
/// max-length annotation's `CHANGE_ME_INIT_PASSWORD=30`), and a value put there would sit in
/// plain text beside the encrypted data of a SOPS file.
pub(super) fn fill_secret(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = !text.lines().any(|l| l == "stringData:");
    for line in text.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if body.starts_with(|c: char| c != ' ') {
            inside = body == "stringData:";
            out.push_str(line);
            continue;
        }
        if !inside {
            out.push_str(line);
            continue;
        }
        let whole = body.strip_prefix("  ").filter(|b| !b.starts_with(' ')).and_then(|b| b.split_once(": "));
        match whole.and_then(|(key, v)| Some((key, values.get(v).filter(|_| tokens(v) == [v])?))) {
            Some((key, value)) => out.push_str(&format!("  {key}: {}{end}", crate::read::yaml::scalar(value))),
            None => out.push_str(&fill(line, values)),
        }
    }
    out
}

/// Values already chosen in an existing secret file: the same key of the example tells which.
pub(super) fn learn(example: &str, secret: &str, values: &mut BTreeMap<String, String>) {
    let have = string_data(secret);
    for (key, want) in string_data(example) {
        let Some((_, have)) = have.iter().find(|(k, _)| *k == key) else { continue };
        for token in tokens(&want) {
            let Some(at) = want.find(&token) else { continue };
            let (prefix, suffix) = (&want[..at], &want[at + token.len()..]);
            if let Some(value) = have.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) {
                if !value.is_empty() && !holds_placeholder(value) {
                    values.entry(token).or_insert_with(|| value.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_from_existing_by_key() {
        let mut v = BTreeMap::new();
        let example = "stringData:\n  A: CHANGE_ME_A\n  URL: redis://:CHANGE_ME_R@redis\ntype: Opaque\n";
        learn(example, "stringData:\n  URL: redis://:abc@redis\ntype: Opaque\n", &mut v);
        assert_eq!(v.get("CHANGE_ME_R").map(String::as_str), Some("abc"), "the URL is on another line");
        assert_eq!(v.get("CHANGE_ME_A"), None);
    }

    #[test]
    fn keys_are_added_at_the_end_of_string_data() {
        let text = "kind: Secret\nstringData:\n  A: x\ntype: Opaque\n";
        assert_eq!(
            add_to_string_data(text, &["  B: y".to_string()]),
            "kind: Secret\nstringData:\n  A: x\n  B: y\ntype: Opaque\n"
        );
        assert_eq!(
            add_to_string_data("stringData:\n  A: x\n", &["  B: y".to_string()]),
            "stringData:\n  A: x\n  B: y\n"
        );
        assert_eq!(string_data(text), vec![("A".to_string(), "x".to_string())]);
    }
}
