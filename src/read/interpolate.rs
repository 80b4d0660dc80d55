//! Docker Compose style variable interpolation.
//!
//! Supported grammar (Compose specification):
//!
//! * `$$` — a literal `$`;
//! * `$NAME` with `NAME = [A-Za-z_][A-Za-z0-9_]*`;
//! * `${NAME}`;
//! * `${NAME:-default}` / `${NAME-default}` — default when unset or empty / unset;
//! * `${NAME:?err}` / `${NAME?err}` — error when unset or empty / unset;
//! * `${NAME:+alt}` / `${NAME+alt}` — `alt` when set and non-empty / set, else empty.
//!
//! The texts after a modifier are interpolated themselves (so references may be
//! nested), but only the branch actually used is evaluated. Unused branches are
//! still scanned for syntax, which is how the closing `}` is found. A `$` that is
//! not followed by `$`, `{` or a name start character stays a literal `$`.
//!
//! The whole input is scanned once, so running time is linear in its length
//! (plus the size of substituted values).

use std::collections::HashSet;
use std::fmt;

/// Result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Every variable name referenced (in order of first appearance, deduplicated),
    /// including ones inside defaults that were evaluated.
    pub vars: Vec<String>,
    /// Some(NAME) when the whole input was exactly one reference ($NAME or ${NAME...})
    /// — used to trace which setting a value came from.
    pub sole_var: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// ${VAR:?msg} with VAR unset or empty, or ${VAR?msg} with VAR unset.
    /// `message` is the msg text (interpolated), possibly empty.
    Required { var: String, message: String, offset: usize },
    /// Malformed reference, e.g. unclosed "${", "${}" or an invalid name;
    /// offset = byte offset in input of the '$'.
    Syntax { offset: usize, reason: String },
    /// The value grows past `limit` bytes where variable `var` is put in (a value that doubles
    /// another, again and again).
    TooLong { var: String, limit: usize },
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::Required { var, message, .. } => {
                if message.is_empty() {
                    write!(f, "required variable {var} is not set")
                } else {
                    write!(f, "required variable {var} is not set: {message}")
                }
            }
            InterpolationError::TooLong { var, limit } => {
                write!(f, "the value grows past {limit} bytes where {var} is put in")
            }
            InterpolationError::Syntax { offset, reason } => {
                write!(f, "invalid interpolation at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for InterpolationError {}

/// Limit on nesting depth of defaults, to refuse pathological input instead of
/// overflowing the stack.
pub const MAX_DEPTH: usize = 32;

/// Largest value an interpolation may produce: more than any setting (a ConfigMap holds 1 MiB), and
/// a bound on values that double each other.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Interpolate `input`, resolving variable names through `lookup`
/// (`None` = unset; `Some("")` = set but empty).
pub fn interpolate(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Interpolated, InterpolationError> {
    let mut parser = Parser { src: input, bytes: input.as_bytes(), lookup, vars: Vec::new(), seen: HashSet::new() };
    let mut value = String::with_capacity(input.len());
    parser.text(0, 0, false, true, &mut value)?;
    let sole_var = sole_reference(input);
    Ok(Interpolated { value, vars: parser.vars, sole_var })
}

/// Returns the variable name when `input` consists of exactly one reference.
/// Only called after a successful interpolation, so the syntax is known to be valid.
fn sole_reference(input: &str) -> Option<String> {
    let rest = input.strip_prefix('$')?;
    if let Some(inner) = rest.strip_prefix('{') {
        let name_len = name_len(inner.as_bytes());
        let name = inner.get(..name_len)?;
        if name.is_empty() {
            return None;
        }
        // Find where this braced reference ends by scanning it in skip mode.
        let mut parser =
            Parser { src: input, bytes: input.as_bytes(), lookup: &|_| None, vars: Vec::new(), seen: HashSet::new() };
        let mut sink = String::new();
        let end = parser.dollar(0, 0, false, &mut sink).ok()?;
        (end == input.len()).then(|| name.to_string())
    } else {
        let len = name_len(rest.as_bytes());
        if len > 0 && len == rest.len() && is_name_start(rest.as_bytes().first().copied()?) {
            Some(rest.to_string())
        } else {
            None
        }
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length in bytes of the longest prefix made of name characters.
fn name_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| is_name_char(**b)).count()
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    lookup: &'a dyn Fn(&str) -> Option<String>,
    vars: Vec<String>,
    seen: HashSet<String>,
}

impl<'a> Parser<'a> {
    fn byte(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    /// Slice of the source; positions used here are always at ASCII bytes or the
    /// ends of the input, so this never falls back in practice.
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or_default()
    }

    fn resolve(&mut self, name: &str) -> Option<String> {
        if !self.seen.contains(name) {
            self.seen.insert(name.to_string());
            self.vars.push(name.to_string());
        }
        (self.lookup)(name)
    }

    /// Put a variable's value in, refused past `MAX_VALUE_BYTES`.
    fn put(out: &mut String, var: &str, value: &str) -> Result<(), InterpolationError> {
        if out.len() + value.len() > MAX_VALUE_BYTES {
            return Err(InterpolationError::TooLong { var: var.to_string(), limit: MAX_VALUE_BYTES });
        }
        out.push_str(value);
        Ok(())
    }

    fn syntax(offset: usize, reason: &str) -> InterpolationError {
        InterpolationError::Syntax { offset, reason: reason.to_string() }
    }

    /// Scan text starting at `pos`. When `nested`, stops at the first `}` that is
    /// not part of a reference and returns its position; otherwise runs to the end.
    /// Returns `self.bytes.len()` when the input ends first.
    /// When `eval` is false nothing is looked up or emitted (syntax is still checked).
    fn text(
        &mut self,
        mut pos: usize,
        depth: usize,
        nested: bool,
        eval: bool,
        out: &mut String,
    ) -> Result<usize, InterpolationError> {
        let len = self.bytes.len();
        while pos < len {
            // Copy the literal run up to the next special byte.
            let run = self
                .bytes
                .get(pos..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b == b'$' || (nested && b == b'}'))
                .map_or(len, |i| pos + i);
            if eval {
                out.push_str(self.slice(pos, run));
            }
            pos = run;
            match self.byte(pos) {
                Some(b'$') => pos = self.dollar(pos, depth, eval, out)?,
                _ => return Ok(pos), // '}' (nested) or end of input
            }
        }
        Ok(pos)
    }

    /// Handle a `$` at `pos`; returns the position after the construct.
    fn dollar(&mut self, pos: usize, depth: usize, eval: bool, out: &mut String) -> Result<usize, InterpolationError> {
        match self.byte(pos + 1) {
            Some(b'$') => {
                if eval {
                    out.push('$');
                }
                Ok(pos + 2)
            }
            Some(b'{') => self.braced(pos, depth, eval, out),
            Some(b) if is_name_start(b) => {
                let start = pos + 1;
                let end = start + name_len(self.bytes.get(start..).unwrap_or_default());
                if eval {
                    let name = self.slice(start, end);
                    if let Some(v) = self.resolve(name) {
                        Self::put(out, name, &v)?;
                    }
                }
                Ok(end)
            }
            _ => {
                if eval {
                    out.push('$');
                }
                Ok(pos + 1)
            }
        }
    }

    /// Handle `${...}` whose `$` is at `pos`.
    fn braced(&mut self, pos: usize, depth: usize, eval: bool, out: &mut String) -> Result<usize, InterpolationError> {
        let name_start = pos + 2;
        let name_end = name_start + name_len(self.bytes.get(name_start..).unwrap_or_default());
        let name = self.slice(name_start, name_end);
        let next = self.byte(name_end);
        if name.is_empty() {
            return Err(match next {
                Some(b'}') => Self::syntax(pos, "empty variable name in ${}"),
                None => Self::syntax(pos, "unclosed ${"),
                Some(_) => Self::syntax(pos, "invalid variable name"),
            });
        }
        if !self.byte(name_start).is_some_and(is_name_start) {
            return Err(Self::syntax(pos, "invalid variable name (must not start with a digit)"));
        }
        let (colon, op, text_start) = match next {
            None => return Err(Self::syntax(pos, "unclosed ${")),
            Some(b'}') => {
                if eval {
                    if let Some(v) = self.resolve(name) {
                        Self::put(out, name, &v)?;
                    }
                }
                return Ok(name_end + 1);
            }
            Some(b':') => match self.byte(name_end + 1) {
                Some(op @ (b'-' | b'?' | b'+')) => (true, op, name_end + 2),
                None => return Err(Self::syntax(pos, "unclosed ${")),
                Some(_) => return Err(Self::syntax(pos, "invalid modifier after ':' (expected :-, :? or :+)")),
            },
            Some(op @ (b'-' | b'?' | b'+')) => (false, op, name_end + 1),
            Some(_) => return Err(Self::syntax(pos, "invalid character in variable name")),
        };
        if depth + 1 > MAX_DEPTH {
            return Err(Self::syntax(pos, &format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let name = name.to_string();
        let value = if eval { self.resolve(&name) } else { None };
        let is_set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let present = if colon { non_empty } else { is_set };

        let len = self.bytes.len();
        let close = move |end: usize| -> Result<usize, InterpolationError> {
            if end >= len {
                Err(Self::syntax(pos, "unclosed ${"))
            } else {
                Ok(end + 1)
            }
        };

        match op {
            b'-' => {
                let use_default = eval && !present;
                let end = self.text(text_start, depth + 1, true, use_default, out)?;
                let after = close(end)?;
                if eval && present {
                    Self::put(out, &name, value.as_deref().unwrap_or_default())?;
                }
                Ok(after)
            }
            b'+' => {
                let use_alt = eval && present;
                let end = self.text(text_start, depth + 1, true, use_alt, out)?;
                close(end)
            }
            _ => {
                // '?'
                let fail = eval && !present;
                let mut message = String::new();
                let end = self.text(text_start, depth + 1, true, fail, &mut message)?;
                let after = close(end)?;
                if fail {
                    return Err(InterpolationError::Required { var: name, message, offset: pos });
                }
                if eval {
                    Self::put(out, &name, value.as_deref().unwrap_or_default())?;
                }
                Ok(after)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn run(input: &str, pairs: &[(&str, &str)]) -> Result<Interpolated, InterpolationError> {
        let map = env(pairs);
        interpolate(input, &|k| map.get(k).cloned())
    }

    fn val(input: &str, pairs: &[(&str, &str)]) -> String {
        match run(input, pairs) {
            Ok(i) => i.value,
            Err(e) => panic!("unexpected error for {input:?}: {e}"),
        }
    }

    fn err(input: &str, pairs: &[(&str, &str)]) -> InterpolationError {
        match run(input, pairs) {
            Ok(i) => panic!("expected error for {input:?}, got {i:?}"),
            Err(e) => e,
        }
    }

    fn syntax_offset(input: &str) -> usize {
        match err(input, &[]) {
            InterpolationError::Syntax { offset, .. } => offset,
            other => panic!("expected syntax error for {input:?}, got {other:?}"),
        }
    }

    const SET: &[(&str, &str)] = &[("A", "a"), ("E", ""), ("B", "b")];

    #[test]
    fn plain_and_simple_references() {
        assert_eq!(val("hello", SET), "hello");
        assert_eq!(val("", SET), "");
        assert_eq!(val("$A", SET), "a");
        assert_eq!(val("${A}", SET), "a");
        assert_eq!(val("x$A-y", SET), "xa-y");
        assert_eq!(val("$A$B", SET), "ab");
        assert_eq!(val("${A}${B}", SET), "ab");
        assert_eq!(val("$AB", SET), "", "longest name wins; AB unset");
        assert_eq!(val("$UNSET", SET), "");
        assert_eq!(val("${UNSET}", SET), "");
        assert_eq!(val("$A.b", SET), "a.b");
        assert_eq!(val("$_x", &[("_x", "u")]), "u");
    }

    #[test]
    fn default_forms() {
        assert_eq!(val("${A:-d}", SET), "a");
        assert_eq!(val("${E:-d}", SET), "d");
        assert_eq!(val("${U:-d}", SET), "d");
        assert_eq!(val("${A-d}", SET), "a");
        assert_eq!(val("${E-d}", SET), "");
        assert_eq!(val("${U-d}", SET), "d");
        assert_eq!(val("${U:-}", SET), "");
        assert_eq!(val("${U-}", SET), "");
        assert_eq!(val("${U:-a b:c-d?e+f}", SET), "a b:c-d?e+f");
        assert_eq!(val("${U:-{x}}", SET), "{x}", "first brace closes; rest literal");
    }

    #[test]
    fn alternative_forms() {
        assert_eq!(val("${A:+alt}", SET), "alt");
        assert_eq!(val("${E:+alt}", SET), "");
        assert_eq!(val("${U:+alt}", SET), "");
        assert_eq!(val("${A+alt}", SET), "alt");
        assert_eq!(val("${E+alt}", SET), "alt");
        assert_eq!(val("${U+alt}", SET), "");
        assert_eq!(val("${A:+<$B>}", SET), "<b>");
    }

    #[test]
    fn required_forms() {
        assert_eq!(val("${A:?boom}", SET), "a");
        assert_eq!(val("${A?boom}", SET), "a");
        assert_eq!(val("${E?boom}", SET), "");
        assert_eq!(
            err("x ${E:?must be set}", SET),
            InterpolationError::Required { var: "E".into(), message: "must be set".into(), offset: 2 }
        );
        assert_eq!(
            err("${U?}", SET),
            InterpolationError::Required { var: "U".into(), message: String::new(), offset: 0 }
        );
        assert_eq!(
            err("${U:?need $A and ${B}}", SET),
            InterpolationError::Required { var: "U".into(), message: "need a and b".into(), offset: 0 }
        );
        // unused branches are not evaluated
        assert_eq!(val("${A:-${U:?never}}", SET), "a");
        assert_eq!(val("${U:+${U:?never}}", SET), "");
        assert_eq!(val("${A:?${U:?never}}", SET), "a");
    }

    #[test]
    fn nesting() {
        assert_eq!(val("${U:-${V:-x}}", SET), "x");
        assert_eq!(val("${U:-${B:-x}}", SET), "b");
        assert_eq!(val("${U:-pre-${A}-post}", SET), "pre-a-post");
        assert_eq!(val("${U:-$A$B}", SET), "ab");
        assert_eq!(val("${U:-$$}", SET), "$");
        assert_eq!(val("${U:-${V:-${W:-deep}}}tail", SET), "deeptail");
    }

    #[test]
    fn values_that_double_stop_at_the_limit() {
        let big = "x".repeat(MAX_VALUE_BYTES / 2 + 1);
        let e = interpolate("${A}${A}", &|_| Some(big.clone())).unwrap_err();
        assert_eq!(e, InterpolationError::TooLong { var: "A".into(), limit: MAX_VALUE_BYTES });
        assert!(interpolate("${A}", &|_| Some(big.clone())).is_ok());
    }

    #[test]
    fn depth_limit() {
        let nest = |n: usize| format!("{}x{}", "${U:-".repeat(n), "}".repeat(n));
        assert_eq!(val(&nest(MAX_DEPTH), SET), "x");
        assert!(matches!(err(&nest(MAX_DEPTH + 1), SET), InterpolationError::Syntax { .. }));
        // very deep input does not overflow the stack
        assert!(run(&nest(100_000), SET).is_err());
    }

    #[test]
    fn large_inputs_are_fast() {
        let start = std::time::Instant::now();
        let many = "${A:-x}$B$$ ".repeat(100_000);
        assert_eq!(val(&many, SET).len(), "a$b$$ ".len() * 100_000 - 100_000 * 2);
        let dollars = "$".repeat(1_000_000);
        assert_eq!(val(&dollars, SET).len(), 500_000);
        let open = "${U:+".repeat(MAX_DEPTH).repeat(10_000);
        assert!(run(&open, SET).is_err());
        let nested = format!("{}x{}", "${U:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(run(&nested.repeat(20_000), SET).is_ok());
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn escapes_and_lone_dollars() {
        assert_eq!(val("$${FOO}", SET), "${FOO}");
        assert_eq!(val("$$A", SET), "$A");
        assert_eq!(val("$$$A", SET), "$a");
        assert_eq!(val("$$$$", SET), "$$");
        assert_eq!(val("$", SET), "$");
        assert_eq!(val("a$", SET), "a$");
        assert_eq!(val("$1", SET), "$1");
        assert_eq!(val("$ x", SET), "$ x");
        assert_eq!(val("$-", SET), "$-");
        assert_eq!(val("$}", SET), "$}");
        assert_eq!(val("}", SET), "}");
        assert_eq!(val("$é", SET), "$é");
        assert_eq!(val("price: 5$", SET), "price: 5$");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(syntax_offset("${A"), 0);
        assert_eq!(syntax_offset("ab${A"), 2);
        assert_eq!(syntax_offset("${"), 0);
        assert_eq!(syntax_offset("x${}"), 1);
        assert_eq!(syntax_offset("${1A}"), 0);
        assert_eq!(syntax_offset("${A B}"), 0);
        assert_eq!(syntax_offset("${A:}"), 0);
        assert_eq!(syntax_offset("${A:x}"), 0);
        assert_eq!(syntax_offset("${A:"), 0);
        assert_eq!(syntax_offset("${A:-x"), 0);
        assert_eq!(syntax_offset("${A:-${B:-x}"), 0);
        assert_eq!(syntax_offset("${A:-${B:-x"), 5);
        assert_eq!(syntax_offset("${é}"), 0);
        assert_eq!(syntax_offset("é${A"), 2);
        // syntax is checked in unused branches too
        assert_eq!(syntax_offset("${U:+${}}"), 5);
        let e = err("${A", &[]);
        assert_eq!(e.to_string(), "invalid interpolation at byte 0: unclosed ${");
        let e = err("${DB_HOST:?set it}", &[]);
        assert_eq!(e.to_string(), "required variable DB_HOST is not set: set it");
    }

    #[test]
    fn unicode_around_references() {
        assert_eq!(val("ünï ${A} çødé $B ✓", SET), "ünï a çødé b ✓");
        assert_eq!(val("日本${U:-語}", SET), "日本語");
        assert_eq!(val("${A:-é}", &[("A", "ß")]), "ß");
    }

    #[test]
    fn sole_var_detection() {
        let sole = |s: &str| run(s, SET).map(|i| i.sole_var).unwrap_or(None);
        assert_eq!(sole("$A"), Some("A".into()));
        assert_eq!(sole("${A}"), Some("A".into()));
        assert_eq!(sole("${A:-x}"), Some("A".into()));
        assert_eq!(sole("${U:-${B}}"), Some("U".into()));
        assert_eq!(sole("${A:+x}"), Some("A".into()));
        assert_eq!(sole("x${A}"), None);
        assert_eq!(sole("${A}x"), None);
        assert_eq!(sole("${A}${B}"), None);
        assert_eq!(sole("$A$B"), None);
        assert_eq!(sole("$A-"), None);
        assert_eq!(sole("$$A"), None);
        assert_eq!(sole("$"), None);
        assert_eq!(sole("plain"), None);
        assert_eq!(sole(""), None);
    }

    #[test]
    fn vars_list() {
        let vars = |s: &str| run(s, SET).map(|i| i.vars).unwrap_or_default();
        assert_eq!(vars("$A ${B} $A ${A:-x}"), vec!["A", "B"]);
        assert_eq!(vars("${U:-${V:-$W}}"), vec!["U", "V", "W"]);
        assert_eq!(vars("${A:-${V}}"), vec!["A"], "unused default not listed");
        assert_eq!(vars("${A:+$B}"), vec!["A", "B"]);
        assert_eq!(vars("${U:+$B}"), vec!["U"]);
        assert_eq!(vars("$$A $1"), Vec::<String>::new());
        assert_eq!(
            vars("${VECTOR_STORE:-weaviate},${DB_TYPE:-postgresql},collaboration"),
            vec!["VECTOR_STORE", "DB_TYPE"]
        );
    }

    #[test]
    fn lookup_called_only_for_evaluated_names() {
        let calls = std::cell::RefCell::new(Vec::new());
        let look = |k: &str| {
            calls.borrow_mut().push(k.to_string());
            (k == "A").then(|| "a".to_string())
        };
        let r = interpolate("${A:-$X}${U:+$Y}", &look);
        assert_eq!(r.map(|i| i.value), Ok("a".to_string()));
        assert_eq!(*calls.borrow(), vec!["A", "U"]);
    }

    fn lookup_all(k: &str) -> Option<String> {
        match k.len() % 3 {
            0 => None,
            1 => Some(String::new()),
            _ => Some(format!("<{k}>")),
        }
    }

    proptest! {
        #[test]
        fn prop_no_dollar_is_identity(s in "[^$]*") {
            let r = interpolate(&s, &lookup_all);
            prop_assert_eq!(
                r,
                Ok(Interpolated { value: s.clone(), vars: vec![], sole_var: None })
            );
        }

        #[test]
        fn prop_never_panics_on_soup(s in r"[\$\{\}:\-\?\+aAb_1 é]{0,64}") {
            let r = interpolate(&s, &lookup_all);
            match r {
                Ok(i) => {
                    // every substituted value is short, so the output is bounded
                    prop_assert!(i.value.len() <= s.len() * 8 + 8);
                    prop_assert!(i.vars.len() <= s.len());
                }
                Err(InterpolationError::TooLong { .. }) => prop_assert!(false, "short values cannot grow past the limit"),
                Err(InterpolationError::Syntax { offset, .. })
                | Err(InterpolationError::Required { offset, .. }) => {
                    prop_assert!(offset < s.len());
                    prop_assert!(s.is_char_boundary(offset));
                    prop_assert_eq!(s.as_bytes().get(offset).copied(), Some(b'$'));
                }
            }
        }

        #[test]
        fn prop_never_panics_on_any_string(s in any::<String>()) {
            let _ = interpolate(&s, &lookup_all);
            let _ = interpolate(&s, &|_| None);
        }

        #[test]
        fn prop_escaping_roundtrip(s in any::<String>()) {
            let escaped = s.replace('$', "$$");
            let r = interpolate(&escaped, &lookup_all);
            prop_assert_eq!(r.map(|i| (i.value, i.vars, i.sole_var)), Ok((s, vec![], None)));
        }

        #[test]
        fn prop_escaping_roundtrip_soup(s in r"[\$\{\}:\-\?\+aA_1 ]{0,40}") {
            let escaped = s.replace('$', "$$");
            let r = interpolate(&escaped, &lookup_all).map(|i| i.value);
            prop_assert_eq!(r, Ok(s));
        }
    }
}
