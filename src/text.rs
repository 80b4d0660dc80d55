//! Text from the inputs (service and file names, values, profile names) made safe to write into
//! the tree's Markdown (GENERATED.md, the guide): a newline, a control character or a backtick in
//! a name cannot end a line, a table row or a code span and forge what follows.

use std::borrow::Cow;

/// Whether a character is shown escaped: C0 and C1 controls, DEL, line and paragraph separators,
/// bidirectional overrides, and the noncharacters U+FFFE and U+FFFF.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// A character the YAML reader of kubectl and kustomize refuses anywhere in a document, escaped or
/// not ("control characters are not allowed"): C0 controls but tab, LF and CR; DEL; C1 controls
/// but NEL; U+FFFE and U+FFFF; surrogates.
pub fn refused_by_kubectl(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The first character of `s` that kubectl refuses, as `U+XXXX`.
pub fn first_refused(s: &str) -> Option<String> {
    s.chars().find(|c| refused_by_kubectl(*c)).map(|c| format!("U+{:04X}", c as u32))
}

/// `s` with every hidden character written as `\u{…}`; borrowed when there is none.
pub fn escape_hidden(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as a Markdown code span: hidden characters escaped, and fenced with one more backtick than
/// the longest run inside it (padded with spaces when it starts or ends with one), as CommonMark
/// reads code spans.
pub fn code_span(s: &str) -> String {
    let s = escape_hidden(s);
    if !s.contains('`') {
        return format!("`{s}`");
    }
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {s} {fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_out() {
        assert_eq!(escape_hidden("plain"), "plain");
        assert_eq!(escape_hidden("a\n```choices\u{7f}\u{85}\u{fffe}"), "a\\u{a}```choices\\u{7f}\\u{85}\\u{fffe}");
        assert_eq!(code_span("api"), "`api`");
        assert_eq!(code_span("a`b"), "`` a`b ``");
        assert_eq!(code_span("x\ny"), "`x\\u{a}y`");
    }
}
