//! The template engine as the guide uses it: the embedded templates, the filters that write
//! Markdown spans and shell words, and the final tidying of the rendered text.

/// The guide's templates, one per language: they hold all of its prose (embedded, so the binary
/// needs no files beside it).
pub(super) const TEMPLATE_EN: &str = include_str!("../../templates/readme.en.md.j2");
pub(super) const TEMPLATE_JA: &str = include_str!("../../templates/readme.ja.md.j2");

/// The template engine as the guide uses it: a fact the view lacks is an error, never an empty
/// string; block tags take their line with them; and the filters for Markdown spans.
pub(super) fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // Every fact is shown with its control characters escaped: a name from the inputs cannot start
    // a line of its own.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() => out.write_str(&crate::text::escape_hidden(s)).map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("code", |s: String| code(&s));
    // A word of a shell command in a ```bash block, quoted when it needs it (a mount path from the
    // compose file must not run anything on the operator's machine).
    env.add_filter("sh", |s: String| shell_words::quote(&s).into_owned());
    env.add_filter("cell", |s: String| cell(&s));
    // Laid out from the template's own text, whose facts are already escaped.
    env.add_filter("layout", |t: String| minijinja::Value::from_safe_string(layout(t)));
    // A heading's anchor as GitHub makes it (lowercase, spaces as dashes).
    env.add_filter("slug", |s: String| s.to_lowercase().replace(' ', "-"));
    // Inline-code items joined with a separator (", " unless given), the last two with `last` when
    // given (`a`, `b` and `c`).
    env.add_filter("codes", |items: Vec<String>, sep: Option<String>, last: Option<String>| {
        let codes: Vec<String> = items.iter().map(|s| code(s)).collect();
        let sep = sep.as_deref().unwrap_or(", ");
        match (codes.split_last(), last) {
            (Some((tail, rest)), Some(last)) if !rest.is_empty() => format!("{}{last}{tail}", rest.join(sep)),
            _ => codes.join(sep),
        }
    });
    env
}

/// Aligns a layout drawing's notes: each `path # note` line becomes the path, padded to two past the
/// longest path, then `# note`.
fn layout(text: String) -> String {
    let rows: Vec<(&str, Option<&str>)> =
        text.lines().map(|l| l.split_once(" # ").map_or((l, None), |(p, n)| (p, Some(n)))).collect();
    let width = rows.iter().map(|(p, _)| p.chars().count()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (path, note) in rows {
        out.push_str(path);
        if let Some(note) = note {
            out.push_str(&" ".repeat(width - path.chars().count()));
            out.push_str("# ");
            out.push_str(note);
        }
        out.push('\n');
    }
    out
}

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('|', "\\|")
}

/// A code span that no backtick in the text can close early (names come from the compose file).
fn code(s: &str) -> String {
    crate::text::code_span(s)
}

/// Collapses runs of blank lines, trims trailing spaces and ends with exactly one newline.
pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true; // suppress leading blank lines
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if blank {
                continue;
            }
            blank = true;
        } else {
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}
