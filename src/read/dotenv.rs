//! `.env` file parsing and expansion with Docker Compose semantics.
//!
//! * blank lines and `#` comment lines are skipped; an optional `export ` prefix is allowed;
//! * `KEY=VALUE` with `KEY = [A-Za-z_][A-Za-z0-9_.-]*`; a bare `KEY` line is skipped;
//! * unquoted values are trimmed and end at an inline comment (whitespace then `#`);
//! * `'single'` values are literal (no escapes, no interpolation, single line);
//! * `"double"` values understand `\n`, `\t`, `\\`, `\"`, `\$`, are interpolated and may
//!   span several lines;
//! * CRLF line endings and a leading UTF-8 BOM are accepted.

use std::collections::HashMap;
use std::fmt;

use crate::read::interpolate::{interpolate, InterpolationError};

/// One `KEY=VALUE` assignment.
///
/// `raw` is the value as it is handed to interpolation: for double-quoted values the
/// escapes are already decoded, and `\$` is stored as `$$` so that it interpolates to a
/// literal `$`. For single-quoted values `raw` is the literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub raw: String,
    /// 1-based line of the (last) assignment.
    pub line: usize,
    pub quote: Quote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    /// 1-based, counted in characters (Unicode scalar values).
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for DotenvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.reason)
    }
}

impl std::error::Error for DotenvError {}

/// Parse a whole .env file. Keys keep file order; a repeated key keeps its last value
/// but its FIRST position.
pub fn parse(text: &str) -> Result<Vec<Entry>, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();

    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut i = 0;
    while let Some(&line) = lines.get(i) {
        let Some((entry, consumed)) = parse_assignment(&lines, i, line)? else {
            i += 1;
            continue;
        };
        i += consumed.max(1);
        match index.get(&entry.key) {
            Some(&pos) => {
                if let Some(slot) = entries.get_mut(pos) {
                    *slot = entry;
                }
            }
            None => {
                index.insert(entry.key.clone(), entries.len());
                entries.push(entry);
            }
        }
    }
    Ok(entries)
}

/// Expand entries in order: each value is interpolated (crate::read::interpolate) unless
/// single-quoted; a reference resolves first through `overrides` (closure), then to
/// earlier keys of this same file (already expanded), then through `outer`. Returns
/// (key, value, sole_var) triples in file order. `overrides` also replaces the value of
/// a key of the file itself (the key keeps its position), and override keys absent from
/// the file are NOT added here (caller decides).
///
/// An overridden key's value is taken verbatim (not interpolated) and gets
/// `sole_var = None`, as do single-quoted values.
/// Largest sum of the values of one env file, expanded: many values that each repeat a large one
/// would otherwise fill the memory.
pub const MAX_EXPANDED_BYTES: usize = 16 << 20;

#[allow(clippy::type_complexity)]
pub fn expand(
    entries: &[Entry],
    overrides: &dyn Fn(&str) -> Option<String>,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String, Option<String>)>, (usize, InterpolationError)> {
    let mut done: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    let mut total = 0;
    for entry in entries {
        let (value, sole) = if let Some(v) = overrides(&entry.key) {
            (v, None)
        } else if entry.quote == Quote::Single {
            (entry.raw.clone(), None)
        } else {
            let lookup = |name: &str| overrides(name).or_else(|| done.get(name).cloned()).or_else(|| outer(name));
            let r = interpolate(&entry.raw, &lookup).map_err(|e| (entry.line, e))?;
            (r.value, r.sole_var)
        };
        total += value.len();
        if total > MAX_EXPANDED_BYTES {
            return Err((
                entry.line,
                InterpolationError::TooLong { var: entry.key.clone(), limit: MAX_EXPANDED_BYTES },
            ));
        }
        done.insert(entry.key.clone(), value.clone());
        out.push((entry.key.clone(), value, sole));
    }
    Ok(out)
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// 1-based character column of byte offset `byte` in `line`.
fn column(line: &str, byte: usize) -> usize {
    line.get(..byte).map_or(1, |s| s.chars().count() + 1)
}

fn error(line_idx: usize, line: &str, byte: usize, reason: impl Into<String>) -> DotenvError {
    DotenvError { line: line_idx + 1, column: column(line, byte), reason: reason.into() }
}

/// Parses the assignment starting on line `idx`. Returns the entry and how many lines
/// it consumed, or `None` for lines that carry no assignment.
fn parse_assignment(lines: &[&str], idx: usize, line: &str) -> Result<Option<(Entry, usize)>, DotenvError> {
    let body_start = line.len() - line.trim_start_matches(is_blank).len();
    let body = line.get(body_start..).unwrap_or_default();
    if body.is_empty() || body.starts_with('#') {
        return Ok(None);
    }
    // optional `export ` prefix
    let mut key_start = body_start;
    if let Some(rest) = body.strip_prefix("export") {
        if rest.starts_with(is_blank) {
            let trimmed = rest.trim_start_matches(is_blank);
            if !trimmed.is_empty() {
                key_start = line.len() - trimmed.len();
            }
        }
    }
    let from_key = line.get(key_start..).unwrap_or_default();
    let Some(eq_rel) = from_key.find('=') else {
        // `KEY` alone (value would come from the environment): skipped, if it is a key.
        // A trailing comment is allowed: `KEY  # comment`.
        let word_len = from_key.find(is_blank).unwrap_or(from_key.len());
        let word = from_key.get(..word_len).unwrap_or_default();
        check_key(idx, line, key_start, word)?;
        check_trailing(idx, line, key_start + word_len, "expected '=' after variable name")?;
        return Ok(None);
    };
    let eq = key_start + eq_rel;
    let key_text = from_key.get(..eq_rel).unwrap_or_default();
    let key = key_text.trim_end_matches(is_blank);
    if key.is_empty() {
        return Err(error(idx, line, eq, "missing variable name before '='"));
    }
    check_key(idx, line, key_start, key)?;

    let after_eq = eq + 1;
    let value_part = line.get(after_eq..).unwrap_or_default();
    let value_start = after_eq + (value_part.len() - value_part.trim_start_matches(is_blank).len());
    let value_text = line.get(value_start..).unwrap_or_default();

    let entry = |raw: String, quote: Quote| Entry { key: key.to_string(), raw, line: idx + 1, quote };

    if let Some(inner) = value_text.strip_prefix('\'') {
        let Some(close) = inner.find('\'') else {
            return Err(error(idx, line, value_start, "unterminated single quote"));
        };
        let raw = inner.get(..close).unwrap_or_default().to_string();
        let rest_start = value_start + 1 + close + 1;
        check_trailing(idx, line, rest_start, AFTER_QUOTE)?;
        return Ok(Some((entry(raw, Quote::Single), 1)));
    }

    if value_text.starts_with('"') {
        let (raw, end_line, rest_start) = parse_double(lines, idx, value_start + 1)
            .ok_or_else(|| error(idx, line, value_start, "unterminated double quote"))?;
        let last = lines.get(end_line).copied().unwrap_or_default();
        check_trailing(end_line, last, rest_start, AFTER_QUOTE)?;
        return Ok(Some((entry(raw, Quote::Double), end_line.saturating_sub(idx) + 1)));
    }

    // unquoted: ends at whitespace followed by '#'
    let mut end = value_text.len();
    // the character before the value is either '=' or a blank
    let mut prev_blank = value_start != after_eq;
    for (i, c) in value_text.char_indices() {
        if c == '#' && prev_blank {
            end = i;
            break;
        }
        prev_blank = is_blank(c);
    }
    let raw = value_text.get(..end).unwrap_or_default().trim_end_matches(is_blank).to_string();
    Ok(Some((entry(raw, Quote::None), 1)))
}

fn check_key(idx: usize, line: &str, key_start: usize, key: &str) -> Result<(), DotenvError> {
    let mut chars = key.char_indices();
    match chars.next() {
        None => return Err(error(idx, line, key_start, "expected KEY=VALUE")),
        Some((_, c)) if !is_key_start(c) => {
            return Err(error(idx, line, key_start, format!("invalid variable name: unexpected character {c:?}")))
        }
        Some(_) => {}
    }
    if let Some((i, c)) = chars.find(|(_, c)| !is_key_char(*c)) {
        return Err(error(idx, line, key_start + i, format!("invalid variable name: unexpected character {c:?}")));
    }
    Ok(())
}

const AFTER_QUOTE: &str = "unexpected text after closing quote";

/// From `rest_start` on, only blanks or a comment may follow; otherwise `reason`.
fn check_trailing(idx: usize, line: &str, rest_start: usize, reason: &str) -> Result<(), DotenvError> {
    let rest = line.get(rest_start..).unwrap_or_default();
    let trimmed = rest.trim_start_matches(is_blank);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        Ok(())
    } else {
        let at = rest_start + (rest.len() - trimmed.len());
        Err(error(idx, line, at, reason))
    }
}

/// Decodes a double-quoted value whose content starts at byte `start` of line `idx`.
/// Returns the decoded value, the index of the line holding the closing quote and the
/// byte offset just after the closing quote; `None` when the quote is never closed.
fn parse_double(lines: &[&str], idx: usize, start: usize) -> Option<(String, usize, usize)> {
    let mut out = String::new();
    let mut line_idx = idx;
    let mut offset = start;
    loop {
        let line = lines.get(line_idx)?;
        let mut chars = line.get(offset..)?.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((out, line_idx, offset + i + 1)),
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, '$')) => out.push_str("$$"),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    // backslash at end of line: keep it, the newline follows
                    None => out.push('\\'),
                },
                _ => out.push(c),
            }
        }
        out.push('\n');
        line_idx += 1;
        offset = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        match parse(text) {
            Ok(entries) => entries.into_iter().map(|e| (e.key, e.raw)).collect(),
            Err(e) => panic!("unexpected error for {text:?}: {e}"),
        }
    }

    fn one(text: &str) -> Entry {
        match parse(text) {
            Ok(mut entries) if entries.len() == 1 => entries.remove(0),
            other => panic!("expected exactly one entry for {text:?}, got {other:?}"),
        }
    }

    fn raw(text: &str) -> String {
        one(text).raw
    }

    fn err(text: &str) -> DotenvError {
        match parse(text) {
            Ok(entries) => panic!("expected error for {text:?}, got {entries:?}"),
            Err(e) => e,
        }
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    fn expand_text(
        text: &str,
        overrides: &dyn Fn(&str) -> Option<String>,
        outer: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<(String, String, Option<String>)> {
        let entries = parse(text).unwrap_or_else(|e| panic!("parse: {e}"));
        expand(&entries, overrides, outer).unwrap_or_else(|e| panic!("expand: {e:?}"))
    }

    #[test]
    fn skips_blank_comment_and_bare_key_lines() {
        let text = "\n   \n# comment\n   # indented comment\nBARE\n  export ONLY  \nA=1\n\t\n";
        assert_eq!(pairs(text), vec![p("A", "1")]);
        assert_eq!(one("\n\nA=1").line, 3);
        assert_eq!(pairs(""), vec![]);
    }

    #[test]
    fn keys_and_whitespace() {
        assert_eq!(
            pairs("export A=1\n  B = 2 \nexport\tC=3\nD.e-f_9=4\n_x=5\nexport=6"),
            vec![p("A", "1"), p("B", "2"), p("C", "3"), p("D.e-f_9", "4"), p("_x", "5"), p("export", "6"),]
        );
    }

    #[test]
    fn invalid_keys_report_position() {
        let e = err("A=1\n1A=2");
        assert_eq!((e.line, e.column), (2, 1));
        let e = err("  BAD KEY=1");
        assert!(e.reason.contains("invalid variable name"));
        assert_eq!((e.line, e.column), (1, 6));
        let e = err("=value");
        assert_eq!((e.line, e.column), (1, 1));
        let e = err("ключ=1");
        assert_eq!((e.line, e.column), (1, 1));
        let e = err("AB$C=1");
        assert_eq!((e.line, e.column), (1, 3));
        let e = err("not a key line");
        assert_eq!((e.line, e.column), (1, 5));
        assert_eq!(e.to_string(), "line 1, column 5: expected '=' after variable name");
        assert_eq!(
            pairs(
                "BARE   # comment
BARE2	#c
A=1"
            ),
            vec![p("A", "1")]
        );
        let e = err("BA-RE!");
        assert_eq!((e.line, e.column), (1, 6));
    }

    #[test]
    fn unquoted_values() {
        assert_eq!(raw("A=plain value   "), "plain value");
        assert_eq!(raw("A=a#b"), "a#b");
        assert_eq!(raw("A=a #b"), "a");
        assert_eq!(raw("A=a\t# b"), "a");
        assert_eq!(raw("A= #only comment"), "");
        assert_eq!(raw("A=#notcomment"), "#notcomment");
        assert_eq!(raw("A="), "");
        assert_eq!(raw("A=   "), "");
        assert_eq!(raw("A=x=y=z"), "x=y=z");
        assert_eq!(raw("A=it's \"fine\""), "it's \"fine\"");
        assert_eq!(raw("A=back\\slash"), "back\\slash");
        assert_eq!(raw("A=Qazwsxedc!@#123"), "Qazwsxedc!@#123");
        assert_eq!(one("A=v").quote, Quote::None);
    }

    #[test]
    fn single_quoted_values() {
        let e = one("A='  lit $B \\n \"x\" # y '  # comment");
        assert_eq!(e.raw, "  lit $B \\n \"x\" # y ");
        assert_eq!(e.quote, Quote::Single);
        assert_eq!(raw("A=''"), "");
        assert_eq!(raw("A='x'#c"), "x");
        let e = err("A=1\nB = 'open\nC=2'");
        assert_eq!((e.line, e.column), (2, 5));
        let e = err("A='x' y");
        assert_eq!((e.line, e.column), (1, 7));
    }

    #[test]
    fn double_quoted_values() {
        let e = one(r#"A="x\ny\t\\ \"q\" \$HOME $B # not comment"  # comment"#);
        assert_eq!(e.raw, "x\ny\t\\ \"q\" $$HOME $B # not comment");
        assert_eq!(e.quote, Quote::Double);
        assert_eq!(raw(r#"A="""#), "");
        assert_eq!(raw(r#"A="a\xb""#), "a\\xb");
        assert_eq!(raw("A=\"it's\""), "it's");
        let e = err(r#"A="x" y"#);
        assert_eq!((e.line, e.column), (1, 7));
        let e = err("X=1\n  A = \"never closed\nB=2\n");
        assert_eq!((e.line, e.column), (2, 7));
        let e = err(r#"A="ends with escaped quote\""#);
        assert_eq!((e.line, e.column), (1, 3));
    }

    #[test]
    fn double_quoted_multiline() {
        let text = "A=\"line1\nline2 # kept\n  line3\" # trailing\nB=after\n";
        let entries = parse(text).unwrap_or_default();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries.first().map(|e| (e.raw.as_str(), e.line)), Some(("line1\nline2 # kept\n  line3", 1)));
        assert_eq!(entries.get(1).map(|e| (e.key.as_str(), e.raw.as_str(), e.line)), Some(("B", "after", 4)));
        // CRLF inside a multi-line value becomes a plain newline
        assert_eq!(raw("A=\"a\r\nb\"\r\n"), "a\nb");
        let e = err("A=\"a\nb\" junk");
        assert_eq!((e.line, e.column), (2, 4));
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}# c\r\nA=1\r\nB='2'\r\nC=\"3\"\r\nD=4 # c\r\n";
        assert_eq!(pairs(text), vec![p("A", "1"), p("B", "2"), p("C", "3"), p("D", "4")]);
        assert_eq!(pairs("\u{feff}A=1"), vec![p("A", "1")]);
        let e = err("\u{feff}1=x");
        assert_eq!((e.line, e.column), (1, 1));
    }

    #[test]
    fn repeated_key_keeps_first_position_last_value() {
        let entries = parse("A=1\nB=2\nA=3\n").unwrap_or_default();
        let got: Vec<_> = entries.iter().map(|e| (e.key.as_str(), e.raw.as_str(), e.line)).collect();
        assert_eq!(got, vec![("A", "3", 3), ("B", "2", 2)]);
    }

    #[test]
    fn dify_values_parse_as_written() {
        let text = "\
LOG_DATEFORMAT=%Y-%m-%d %H:%M:%S
COMPOSE_PROFILES=${VECTOR_STORE:-weaviate},${DB_TYPE:-postgresql},collaboration
CELERY_BROKER_URL=redis://:difyai123456@redis:6379/1
AZURE_BLOB_ACCOUNT_URL=https://<your_account_name>.blob.core.windows.net
SECRET_KEY=
";
        assert_eq!(
            pairs(text),
            vec![
                p("LOG_DATEFORMAT", "%Y-%m-%d %H:%M:%S"),
                p("COMPOSE_PROFILES", "${VECTOR_STORE:-weaviate},${DB_TYPE:-postgresql},collaboration"),
                p("CELERY_BROKER_URL", "redis://:difyai123456@redis:6379/1"),
                p("AZURE_BLOB_ACCOUNT_URL", "https://<your_account_name>.blob.core.windows.net"),
                p("SECRET_KEY", ""),
            ]
        );
        let out = expand_text(text, &none, &none);
        assert_eq!(out.get(1).map(|t| t.1.as_str()), Some("weaviate,postgresql,collaboration"));
    }

    /// Excerpts of the upstream Dify `.env.example` files (0.15.3 … 1.14.1 and
    /// 1.14.1's `envs/**/*.env.example`), keeping their comment style and tricky values.
    #[test]
    fn upstream_excerpts_parse() {
        let root_env = "\
# ------------------------------------------------------------------
# Essential defaults for Docker Compose deployments.
# For a default deployment, copy this file to .env and run:
#   docker compose up -d
# ------------------------------------------------------------------

# Core service URLs
CONSOLE_API_URL=
TRIGGER_URL=http://localhost
ENDPOINT_URL_TEMPLATE=http://localhost/e/{hook_id}
SECRET_KEY=sk-9f73s3ljTXVcMT3Blb3ljTqtsKiGHXVcMT3BlbkFJLK7U
DB_USERNAME=postgres
DB_PASSWORD=difyai123456
DB_DATABASE=dify
PGUSER=${DB_USERNAME}
POSTGRES_PASSWORD=${DB_PASSWORD}
POSTGRES_DB=${DB_DATABASE}
LOG_DATEFORMAT=%Y-%m-%d %H:%M:%S
WEAVIATE_AUTHENTICATION_APIKEY_USERS=hello@dify.ai
COMPOSE_PROFILES=${VECTOR_STORE:-weaviate},${DB_TYPE:-postgresql},collaboration
";
        let opensearch = "\
# ------------------------------
# OpenSearch Configuration
# ------------------------------
OPENSEARCH_INITIAL_ADMIN_PASSWORD=Qazwsxedc!@#123
";
        let shared = "\
CELERY_BROKER_URL=redis://:difyai123456@redis:6379/1
AZURE_BLOB_ACCOUNT_URL=https://<your_account_name>.blob.core.windows.net
UPLOAD_FILE_EXTENSION_BLACKLIST=
";
        let out = expand_text(root_env, &none, &none);
        let get = |k: &str| out.iter().find(|t| t.0 == k).map(|t| (t.1.clone(), t.2.clone()));
        assert_eq!(out.len(), 13);
        assert_eq!(get("PGUSER"), Some(("postgres".into(), Some("DB_USERNAME".into()))));
        assert_eq!(get("POSTGRES_DB"), Some(("dify".into(), Some("DB_DATABASE".into()))));
        assert_eq!(get("ENDPOINT_URL_TEMPLATE"), Some(("http://localhost/e/{hook_id}".into(), None)));
        assert_eq!(pairs(opensearch), vec![p("OPENSEARCH_INITIAL_ADMIN_PASSWORD", "Qazwsxedc!@#123")]);
        assert_eq!(pairs(shared).len(), 3);
    }

    #[test]
    fn expand_resolution_order() {
        let text = "\
A=${OUT}
B=${A}-${C:-c}
C=${B}
S='$A literal'
D=\"x\\$A $A\"
O=orig
P=${O}
";
        let over = |k: &str| (k == "O").then(|| "over".to_string());
        let outer = |k: &str| match k {
            "OUT" => Some("outer".to_string()),
            "C" => Some("outerC".to_string()),
            "A" => Some("outerA".to_string()),
            _ => None,
        };
        let out = expand_text(text, &over, &outer);
        let t = |k: &str, v: &str, s: Option<&str>| (k.to_string(), v.to_string(), s.map(String::from));
        assert_eq!(
            out,
            vec![
                t("A", "outer", Some("OUT")),
                // C is not defined yet in the file, so it comes from `outer`
                t("B", "outer-outerC", None),
                t("C", "outer-outerC", Some("B")),
                t("S", "$A literal", None),
                t("D", "x$A outer", None),
                t("O", "over", None),
                t("P", "over", Some("O")),
            ]
        );
        // override keys absent from the file are not added
        let out = expand_text("A=1", &|_| Some("z".into()), &none);
        assert_eq!(out, vec![t("A", "z", None)]);
    }

    #[test]
    fn expand_reports_line_of_failing_entry() {
        let entries = parse("A=1\n\nB=${NOPE:?please set NOPE}\n").unwrap_or_default();
        let r = expand(&entries, &none, &none);
        assert_eq!(
            r,
            Err((3, InterpolationError::Required { var: "NOPE".into(), message: "please set NOPE".into(), offset: 0 }))
        );
        let entries = parse("A=1\nB=\"${\"\n").unwrap_or_default();
        assert!(matches!(expand(&entries, &none, &none), Err((2, InterpolationError::Syntax { .. }))));
    }

    proptest! {
        #[test]
        fn prop_parse_never_panics(s in any::<String>()) {
            let _ = parse(&s);
        }

        #[test]
        fn prop_parse_never_panics_on_soup(s in "[A-Za-z_ =#'\"\\\\$\\{\\}\r\n\t\u{feff}é]{0,80}") {
            if let Ok(entries) = parse(&s) {
                let _ = expand(&entries, &none, &none);
            }
        }

        #[test]
        fn prop_simple_lines_roundtrip(
            lines in proptest::collection::vec(
                ("[A-Za-z_][A-Za-z0-9_.-]{0,12}", "([^'\"#$\\s\\r\\n]([^'\"#$\\r\\n]{0,20}[^'\"#$\\s\\r\\n])?)?"),
                0..12,
            ),
            crlf in any::<bool>(),
        ) {
            let mut expected: Vec<(String, String)> = Vec::new();
            for (k, v) in &lines {
                match expected.iter_mut().find(|(ek, _)| ek == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => expected.push((k.clone(), v.clone())),
                }
            }
            let nl = if crlf { "\r\n" } else { "\n" };
            let text: String = lines.iter().map(|(k, v)| format!("{k}={v}{nl}")).collect();
            let got = parse(&text).map(|es| {
                es.into_iter()
                    .map(|e| (e.key, e.raw))
                    .collect::<Vec<_>>()
            });
            prop_assert_eq!(got, Ok(expected));
        }
    }
}
