//! The shape of the code, checked so it stays as docs/architecture.md describes it:
//! modules depend on one another without cycles (data flows one way: read → rules → plan → emit →
//! write), and no function in src/ is longer than a screenful or two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// Each file of src/ with its text before its unit tests.
fn files() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            (rel, code)
        })
        .collect()
}

/// The top-level module a file belongs to (`plan/storage.rs` → `plan`); none for the crate root
/// and the binary.
fn module_of(rel: &str) -> Option<String> {
    let top = rel.split('/').next()?.trim_end_matches(".rs");
    (!matches!(top, "lib" | "main")).then(|| top.to_string())
}

/// The modules a text names through `crate::` (`crate::plan::X`, `use crate::{a, b::c}`).
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                out.insert(name);
            }
        } else {
            out.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    out.retain(|m| !m.is_empty() && m.chars().next().is_some_and(|c| c.is_lowercase()));
    out
}

fn graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in files {
        let Some(m) = module_of(rel) else { continue };
        let deps: Vec<String> = uses(code).into_iter().filter(|d| *d != m).collect();
        g.entry(m).or_default().extend(deps);
    }
    g
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
fn modules_depend_on_one_another_without_cycles() {
    let g = graph(&files());
    assert!(g.contains_key("plan") && g["plan"].contains("rules"), "the graph is read: {g:?}");
    assert_eq!(cycle(&g), None, "{g:?}");
    // The check notices one: guide → plan and plan → guide.
    let mut with_cycle = g.clone();
    with_cycle.entry("plan".into()).or_default().insert("guide".into());
    assert!(cycle(&with_cycle).is_some_and(|c| c.contains(&"guide".to_string())));
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
fn no_function_is_longer_than_a_screenful_or_two() {
    let mut long: Vec<(String, usize)> =
        files().iter().flat_map(|(rel, code)| function_lengths(rel, code)).filter(|(_, n)| *n > 125).collect();
    long.sort();
    assert!(long.is_empty(), "functions over 125 lines (split them into steps): {long:?}");
    // The measure is read: plan() is there, and short.
    let plan = files().into_iter().find(|(r, _)| r == "plan/mod.rs").unwrap();
    let lengths = function_lengths("plan/mod.rs", &plan.1);
    let n = lengths.iter().find(|(f, _)| f.ends_with(" plan")).map(|(_, n)| *n).unwrap();
    assert!((10..=60).contains(&n), "plan() is {n} lines");
}
