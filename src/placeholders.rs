//! The placeholders that stand for secret values in the tree (`CHANGE_ME_<NAME>`): how one is
//! spelled, found in a text and filled. The same placeholder gets the same value everywhere, so
//! settings that must agree (a password and the URL that embeds it) always do.

use std::collections::BTreeMap;

/// What every placeholder starts with; the rest is its name (`CHANGE_ME_DB_PASSWORD`).
pub const PREFIX: &str = "CHANGE_ME_";

/// The annotation of a secret template naming placeholders whose value must be short:
/// `CHANGE_ME_INIT_PASSWORD=30` (space-separated).
pub const MAX_LENGTH: &str = "compose2dify.io/max-length";

/// The placeholder named `name` (`DB_PASSWORD` → `CHANGE_ME_DB_PASSWORD`).
pub fn placeholder(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// A placeholder's name (`CHANGE_ME_DB_PASSWORD` → `DB_PASSWORD`); other text as it is.
pub fn name_of(token: &str) -> &str {
    token.strip_prefix(PREFIX).unwrap_or(token)
}

/// Whether a value still holds a placeholder, or the bare `CHANGE_ME` a person writes for one: it
/// is no value yet.
pub fn is_unset(value: &str) -> bool {
    value.contains(&PREFIX[..PREFIX.len() - 1])
}

/// Whether a value holds a placeholder.
pub fn holds_placeholder(value: &str) -> bool {
    value.contains(PREFIX)
}

/// The length of the placeholder at the start of `text` (which starts with [`PREFIX`]): the prefix
/// and the letters, digits and `_` of its name.
fn token_len(text: &str) -> usize {
    text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count()
}

/// Every placeholder token in a text, in order of appearance, without repeats.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        let len = token_len(&rest[i..]);
        let token = rest[i..i + len].to_string();
        if !out.contains(&token) {
            out.push(token);
        }
        rest = &rest[i + len..];
    }
    out
}

/// Replace each whole token by its value.
pub fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        let len = token_len(&rest[i..]);
        out.push_str(&rest[..i]);
        let token = &rest[i..i + len];
        out.push_str(values.get(token).map_or(token, String::as_str));
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_fill() {
        let t =
            "a: CHANGE_ME_DB_PASSWORD\nb: redis://:CHANGE_ME_REDIS_PASSWORD@redis:6379\nc: CHANGE_ME_DB_PASSWORD_X\n";
        assert_eq!(tokens(t), vec!["CHANGE_ME_DB_PASSWORD", "CHANGE_ME_REDIS_PASSWORD", "CHANGE_ME_DB_PASSWORD_X"]);
        let v = BTreeMap::from([("CHANGE_ME_DB_PASSWORD".to_string(), "x1".to_string())]);
        assert_eq!(fill(t, &v), "a: x1\nb: redis://:CHANGE_ME_REDIS_PASSWORD@redis:6379\nc: CHANGE_ME_DB_PASSWORD_X\n");
    }

    #[test]
    fn names_and_unset_values() {
        assert_eq!(placeholder("DB_PASSWORD"), "CHANGE_ME_DB_PASSWORD");
        assert_eq!(name_of("CHANGE_ME_DB_PASSWORD"), "DB_PASSWORD");
        assert_eq!(name_of("DB_PASSWORD"), "DB_PASSWORD");
        assert!(is_unset("CHANGE_ME") && is_unset("x-CHANGE_ME_A") && !is_unset("change_me"));
        assert!(holds_placeholder("redis://:CHANGE_ME_R@redis") && !holds_placeholder("CHANGE_ME"));
    }
}
