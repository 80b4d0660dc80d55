//! The shape of the code, checked so it stays as docs/architecture.md describes it:
//! - every module of src/ (each file, not only the top-level folders) imports only modules further
//!   down the pipeline: leaves → read → rules → choices → plan → tree → emit → guide → lib → commands
//!   → cli → main;
//! - inside plan/, a pass imports only the passes before it;
//! - no file of src/ is longer than 800 lines, and no function longer than 100.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages of a run in order. A module may import its own stage's modules and earlier stages'.
/// The leaves are small helpers every stage may use; among themselves they only need no cycle.
const PIPELINE: &[&[&str]] = &[
    &["error", "warning", "text", "hash", "names", "placeholders"],
    &["read"],
    &["rules"],
    &["choices"],
    &["plan"],
    &["tree"],
    &["emit"],
    &["guide"],
    &["lib"],
    &["commands"],
    &["cli"],
    &["main"],
];

/// The planning passes in the order `plan()` runs them; shared types and helpers come first.
const PLAN_ORDER: &[&str] = &[
    "types",
    "release",
    "select",
    "settings",
    "files",
    "storage",
    "probes",
    "flows",
    "entry",
    "pod",
    "pod_security",
    "workload",
    "findings",
    "tests",
];

const MAX_FILE_LINES: usize = 800;
const MAX_FUNCTION_LINES: usize = 100;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each file of src/ as (path relative to src/, whole text).
fn texts() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Each file of src/ with its text before its unit tests.
fn files() -> Vec<(String, String)> {
    texts()
        .into_iter()
        .map(|(rel, text)| {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            (rel, code)
        })
        .collect()
}

/// The module path of a file: `plan/storage.rs` → `plan::storage`, `plan/mod.rs` → `plan`,
/// `lib.rs` → `lib`.
fn module_of(rel: &str) -> String {
    rel.trim_end_matches(".rs").trim_end_matches("/mod").replace('/', "::")
}

/// The paths a text names through `crate::` or `super::`, groups expanded
/// (`use crate::{a, b::{c, d}}` → `a`, `b::c`, `b::d`), each as its `::`-separated segments with
/// `super` resolved against the file's own module.
fn paths_named(module: &str, code: &str) -> Vec<Vec<String>> {
    fn expand(prefix: &[String], rest: &str, out: &mut Vec<Vec<String>>) {
        let mut segs = prefix.to_vec();
        let mut s = rest;
        loop {
            let name: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                segs.push(name.clone());
                s = &s[name.len()..];
            }
            // `a::{…}`, or a group right after the root (`crate::{…}`).
            let after = s.strip_prefix("::").or_else(|| name.is_empty().then_some(s));
            if let Some(after) = after {
                if let Some(group) = after.strip_prefix('{') {
                    let mut depth = 1;
                    let end = group
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '{' => 1,
                                '}' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(group.len(), |(i, _)| i);
                    let inner = &group[..end];
                    let mut depth = 0;
                    let mut start = 0;
                    for (i, c) in inner.char_indices().chain(std::iter::once((inner.len(), ','))) {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                expand(&segs, inner[start..i].trim(), out);
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                    return;
                }
                if !name.is_empty() {
                    s = after;
                    continue;
                }
            }
            out.push(segs);
            return;
        }
    }
    let own: Vec<String> = if module == "lib" { vec![] } else { module.split("::").map(str::to_string).collect() };
    // `super` of `plan::storage` (plan/storage.rs) is `plan`; of `plan` (plan/mod.rs) the crate.
    let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    for (root, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (i, _) in code.match_indices(root) {
            if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            expand(&base, &code[i + root.len()..], &mut out);
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module of src/ (`plan::Workload` →
/// `plan`, `plan::storage::claims` → `plan::storage`, `generate` → `lib`).
fn target(path: &[String], modules: &BTreeSet<String>) -> String {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
        .unwrap_or_else(|| "lib".to_string())
}

/// Which modules each module imports (a module's own children and its own name left out).
fn graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = files.iter().map(|(rel, _)| module_of(rel)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in files {
        let m = module_of(rel);
        let deps = g.entry(m.clone()).or_default();
        for path in paths_named(&m, code) {
            let t = target(&path, &modules);
            if t != m && !t.starts_with(&format!("{m}::")) {
                deps.insert(t);
            }
        }
    }
    g
}

/// The stage of a module (the index of its top-level name in PIPELINE).
fn stage(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap();
    PIPELINE.iter().position(|s| s.contains(&top))
}

/// Every import against the pipeline, as `from → to`: a later stage, or inside plan/ a later pass.
/// A child importing its own folder's mod.rs (shared types it re-exports) is not one.
fn against_the_pipeline(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, deps) in g {
        for to in deps {
            let upward = match (stage(from), stage(to)) {
                (Some(a), Some(b)) => b > a,
                _ => true,
            };
            let pass = |m: &str| m.strip_prefix("plan::").and_then(|p| PLAN_ORDER.iter().position(|x| *x == p));
            let later_pass = matches!((pass(from), pass(to)), (Some(a), Some(b)) if b > a);
            let own_parent = from.rsplit_once("::").is_some_and(|(parent, _)| parent == to);
            if (upward || later_pass) && !own_parent {
                out.push(format!("{from} → {to}"));
            }
        }
    }
    out
}

/// A cycle of the graph, if it has one, as the path that closes it.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut c = stack[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            // Children naming their folder's mod.rs (its re-exported types) close no real cycle.
            if n.rsplit_once("::").is_some_and(|(parent, _)| parent == d) {
                continue;
            }
            if let Some(c) = visit(d, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_imports_only_down_the_pipeline() {
    let g = graph(&files());
    // The graph is read down to files: a pass's imports, and a use group's members.
    assert!(g["plan::storage"].contains("rules"), "{:?}", g["plan::storage"]);
    assert!(g["plan::workload"].contains("plan::storage"), "{:?}", g["plan::workload"]);
    assert!(g.keys().all(|m| stage(m).is_some()), "a module outside PIPELINE: {:?}", g.keys().collect::<Vec<_>>());
    assert_eq!(against_the_pipeline(&g), Vec::<String>::new());
    assert_eq!(cycle(&g), None);
    // The check sees each kind: a stage importing a later one, a pass importing a later pass, a
    // cycle between leaves.
    let mut bad = g.clone();
    bad.entry("read::compose".into()).or_default().insert("plan".into());
    bad.entry("plan::select".into()).or_default().insert("plan::workload".into());
    bad.entry("text".into()).or_default().insert("names".into());
    bad.entry("names".into()).or_default().insert("text".into());
    let found = against_the_pipeline(&bad);
    assert!(found.contains(&"read::compose → plan".to_string()), "{found:?}");
    assert!(found.contains(&"plan::select → plan::workload".to_string()), "{found:?}");
    assert!(cycle(&bad).is_some());
}

#[test]
fn use_groups_and_super_are_resolved() {
    let code =
        "use crate::{read::{compose, yaml::Node}, names};\nuse super::settings::replace;\nlet x = crate::generate();";
    let mut named = paths_named("plan::storage", code);
    named.sort();
    let joined: Vec<String> = named.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        ["generate", "names", "plan::settings::replace", "read::compose", "read::yaml::Node"],
        "{named:?}"
    );
}

#[test]
fn the_planning_passes_each_have_a_module() {
    let files = files();
    let plan: Vec<&str> = files.iter().filter(|(r, _)| r.starts_with("plan/")).map(|(r, _)| r.as_str()).collect();
    for pass in ["select", "settings", "storage", "probes", "flows", "workload"] {
        assert!(plan.contains(&format!("plan/{pass}.rs").as_str()), "{pass}: {plan:?}");
    }
}

/// Every function of src/ with its length in lines: from its `fn` line to the `}` at its own
/// indentation.
fn function_lengths(rel: &str, code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let body = body.strip_prefix("const ").unwrap_or(body);
        let sig = ["pub fn ", "pub(crate) fn ", "pub(super) fn ", "fn "].iter().find_map(|p| body.strip_prefix(p));
        let Some(sig) = sig else { continue };
        let name: String = sig.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            out.push((format!("{rel}:{} {name}", i + 1), end + 1));
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_100_lines() {
    // Unit tests count too: a test module's fixture is code a reader follows.
    let mut long: Vec<(String, usize)> = texts()
        .iter()
        .flat_map(|(rel, code)| function_lengths(rel, code))
        .filter(|(_, n)| *n > MAX_FUNCTION_LINES)
        .collect();
    long.sort();
    assert!(long.is_empty(), "functions over {MAX_FUNCTION_LINES} lines (split them into steps): {long:?}");
    // The measure is read: plan() is there, and short.
    let plan = files().into_iter().find(|(r, _)| r == "plan/mod.rs").unwrap();
    let lengths = function_lengths("plan/mod.rs", &plan.1);
    let n = lengths.iter().find(|(f, _)| f.ends_with(" plan")).map(|(_, n)| *n).unwrap();
    assert!((10..=60).contains(&n), "plan() is {n} lines");
}

#[test]
fn no_file_is_longer_than_800_lines() {
    let long: Vec<(String, usize)> = texts()
        .into_iter()
        .map(|(rel, text)| (rel, text.lines().count()))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines (split them by what they hold): {long:?}");
    assert!(texts().iter().any(|(rel, t)| rel == "lib.rs" && t.lines().count() > 10), "the lengths are read");
}

/// The first sentence of a file's `//!` documentation, as docs/architecture.md's table shows it.
fn first_sentence(text: &str) -> String {
    let doc: Vec<&str> = text.lines().map_while(|l| l.strip_prefix("//!")).map(str::trim).collect();
    let doc = doc.join(" ");
    let end = doc
        .match_indices('.')
        .map(|(i, _)| i + 1)
        .find(|&i| doc[i..].is_empty() || doc[i..].starts_with(char::is_whitespace));
    doc[..end.unwrap_or(doc.len())].replace('|', "\\|")
}

#[test]
fn docs_architecture_lists_every_file_with_its_own_words() {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md")).unwrap();
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `src/")).collect();
    let mut stale = Vec::new();
    for (rel, text) in texts() {
        let row = format!("| `src/{rel}` | {} |", first_sentence(&text));
        assert!(!first_sentence(&text).is_empty(), "src/{rel} has no //! line saying what it holds");
        if !rows.contains(&row.as_str()) {
            stale.push(row);
        }
    }
    let files: BTreeSet<String> = texts().into_iter().map(|(rel, _)| format!("| `src/{rel}` |")).collect();
    let gone: Vec<&&str> = rows.iter().filter(|r| !files.iter().any(|f| r.starts_with(f.as_str()))).collect();
    assert!(
        stale.is_empty() && gone.is_empty(),
        "docs/architecture.md is out of date; these rows are due: {stale:#?}; these name no file: {gone:#?}"
    );
    assert_eq!(first_sentence("//! One. Two.\n//! Three\nuse x;"), "One.");
}
