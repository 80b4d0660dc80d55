//! How a scalar is written: libyaml's analysis of which styles may hold a text, and yaml_serde's
//! choice of the style it asks for (quoted when a plain text would read back as something else).

/// The style serde's side asks for (yaml_serde's choice before libyaml's own checks).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Any,
    Plain,
    SingleQuoted,
    Literal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// libyaml refuses simple keys longer than this.
pub(super) const MAX_SIMPLE_KEY: usize = 128;

/// A word every step of `scalar` writes plain: a letter that starts no null, boolean or number,
/// then letters, digits, `_`, `-`, `.` and `/` (no indicator, blank or break), short enough for a
/// simple key.
pub(super) fn plain_word(value: &str) -> bool {
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

pub(super) fn chars(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// libyaml's printable set (unicode output on).
pub(super) fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None | Some(' ' | '\t' | '\0') => true,
        Some(c) => is_break(c),
    }
}

/// libyaml's analysis of a scalar: which styles may hold it.
pub(super) struct Analysis {
    pub multiline: bool,
    pub block_plain_allowed: bool,
    pub single_quoted_allowed: bool,
    pub block_allowed: bool,
}

/// `None` for text this writer leaves to libyaml (the line and paragraph separators, which it
/// writes raw inside quoted and block scalars).
pub(super) fn analyze(value: &str) -> Option<Analysis> {
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
        return Some(analyze_word(bytes));
    }
    Some(scan(value)?.analysis())
}

/// Printable ASCII without spaces (most names and values): no breaks, nothing special, and with no
/// blank inside, `#` only matters first and `:` only last.
fn analyze_word(bytes: &[u8]) -> Analysis {
    let first = bytes[0];
    let indicator = matches!(
        first,
        b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`'
    ) || (bytes.len() == 1 && matches!(first, b'?' | b':' | b'-'))
        || (bytes.len() > 1 && bytes[bytes.len() - 1] == b':')
        || bytes.starts_with(b"---")
        || bytes.starts_with(b"...");
    Analysis { multiline: false, block_plain_allowed: !indicator, single_quoted_allowed: true, block_allowed: true }
}

/// What libyaml notes while it reads a scalar's characters.
#[derive(Default)]
struct Scan {
    block_indicators: bool,
    line_breaks: bool,
    special: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

/// Read a scalar's characters as libyaml does; `None` at a line or paragraph separator.
fn scan(value: &str) -> Option<Scan> {
    let mut s = Scan { block_indicators: value.starts_with("---") || value.starts_with("..."), ..Scan::default() };
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
                    s.block_indicators = true
                }
                '?' | ':' | '-' if followed_by_whitespace => s.block_indicators = true,
                _ => {}
            }
        } else if (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace) {
            s.block_indicators = true;
        }
        if !printable(c) {
            s.special = true;
        }
        let last = next.is_none();
        if c == ' ' {
            s.leading_space |= first;
            s.trailing_space |= last;
            s.break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            s.line_breaks = true;
            s.leading_break |= first;
            s.trailing_break |= last;
            s.space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
        first = false;
    }
    Some(s)
}

impl Scan {
    /// The styles that may hold the scalar read.
    fn analysis(&self) -> Analysis {
        let mut a = Analysis {
            multiline: self.line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if self.leading_space || self.leading_break || self.trailing_space || self.trailing_break {
            a.block_plain_allowed = false;
        }
        if self.trailing_space {
            a.block_allowed = false;
        }
        if self.break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if self.space_break || self.special {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if self.line_breaks || self.block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

/// yaml_serde's choice for a string: literal when it has a line break, single-quoted when read
/// back plain it would be something else (null, a boolean, a number) or is digits with a leading
/// zero, else whatever libyaml finds best.
pub(super) fn infer_style(value: &str) -> Asked {
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
