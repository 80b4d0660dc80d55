//! Property tests of reading: arbitrary text into the YAML loader, and structured mutations of real
//! compose files through the whole library pipeline (read → plan → emit, in process, nothing written).
//! Whatever the input, the tool never panics and every refusal names its file; a YAML syntax error
//! names a line inside the file.
//!
//! CI runs a bounded number of cases (a few seconds in all). Run longer with, for example,
//! `PROPTEST_CASES=5000 cargo test --release --test fuzz`.

use std::fs;
use std::path::{Path, PathBuf};

use compose2dify::rules::{self, Preset, Rules};
use compose2dify::{guide::Lang, read::upstream, read::yaml, Settings};
use proptest::prelude::*;
use proptest::sample::Index;

/// `PROPTEST_CASES` when set, else the bounded default for CI.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A small compose file of the generic kind: anchors, merge keys, long and short syntaxes.
const GENERIC: &str = r#"version: "3.9"
x-common: &common
  restart: unless-stopped
  environment: &env
    TZ: UTC
services:
  web_app:
    <<: *common
    image: nginx:${NGINX_TAG:-1.25}
    ports:
      - "8080:80"
      - target: 443
        published: 8443
    volumes:
      - ./site.conf:/etc/nginx/conf.d/default.conf:ro
      - type: volume
        source: cache
        target: /var/cache/nginx
    depends_on:
      my_db:
        condition: service_healthy
    environment:
      <<: *env
      DB_HOST: my_db
  my_db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app"]
      interval: 10s
    environment:
      - POSTGRES_PASSWORD=${DB_PASSWORD:-example}
volumes:
  cache: {}
"#;

/// Text pieces that break YAML and compose in interesting ways.
const SNIPPETS: &[&str] = &[
    "<<: *x",
    "<<: *common",
    "<<: [*common, 3]",
    "${",
    "${X:?boom}",
    "$${Y}",
    "\t",
    "\0",
    "&a",
    "*a",
    "- ",
    ": ",
    "[",
    "{",
    "]",
    "'",
    "\"",
    "? ",
    "---",
    "...",
    "%YAML 1.1",
    "!!binary x",
    "!custom {}",
    "\u{feff}",
    "é",
    "#",
    "|",
    ">-",
    "~",
    "99999:80",
    "build: .",
    "extends: web_app",
    "image:",
    "services:",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Truncate(Index, Index),
    Indent(Index, i8),
    Insert(Index, Index, Index),
    TruncateFile(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(l, c)| Mutation::Truncate(l, c)),
        (any::<Index>(), -4i8..=4).prop_map(|(l, d)| Mutation::Indent(l, d)),
        (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(l, c, s)| Mutation::Insert(l, c, s)),
        any::<Index>().prop_map(Mutation::TruncateFile),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        match m {
            Mutation::Delete(i) => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::Duplicate(i) => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mutation::Truncate(i, c) => {
                let n = lines.len();
                let line = &mut lines[i.index(n)];
                let chars: Vec<char> = line.chars().collect();
                *line = chars[..c.index(chars.len() + 1)].iter().collect();
            }
            Mutation::Indent(i, d) => {
                let n = lines.len();
                let line = &mut lines[i.index(n)];
                if *d >= 0 {
                    *line = format!("{}{line}", " ".repeat(*d as usize));
                } else {
                    let strip = line.len() - line.trim_start_matches(' ').len();
                    *line = line[strip.min(d.unsigned_abs() as usize)..].to_string();
                }
            }
            Mutation::Insert(i, c, s) => {
                let n = lines.len();
                let line = &mut lines[i.index(n)];
                let chars: Vec<char> = line.chars().collect();
                let at = c.index(chars.len() + 1);
                let snippet = SNIPPETS[s.index(SNIPPETS.len())];
                *line = format!(
                    "{}{snippet}{}",
                    chars[..at].iter().collect::<String>(),
                    chars[at..].iter().collect::<String>()
                );
            }
            Mutation::TruncateFile(i) => {
                let joined = lines.join("\n");
                let chars: Vec<char> = joined.chars().collect();
                let cut: String = chars[..i.index(chars.len() + 1)].iter().collect();
                lines = cut.lines().map(str::to_string).collect();
            }
        }
    }
    lines.join("\n") + "\n"
}

/// A working copy of a project folder, so the mutated compose file sits beside its env files.
struct Project {
    _tmp: tempfile::TempDir,
    compose: PathBuf,
    rules: Rules,
}

fn dify_project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let src = crate::common::compose("1.14.1");
    crate::common::copy_dir(src.parent().unwrap(), tmp.path());
    let compose = tmp.path().join("docker-compose.yaml");
    Project { _tmp: tmp, compose, rules: rules::load(Preset::Dify, None).unwrap() }
}

fn generic_project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("site.conf"), "server { listen 80; }\n").unwrap();
    let compose = tmp.path().join("compose.yaml");
    fs::write(&compose, GENERIC).unwrap();
    Project { _tmp: tmp, compose, rules: rules::load(Preset::Generic, None).unwrap() }
}

/// Every corpus case (`tests/corpus/`) copied once, with the rules of the generic preset.
struct Corpus {
    _tmp: tempfile::TempDir,
    entries: Vec<(PathBuf, String)>,
    rules: Rules,
}

fn corpus() -> Corpus {
    let tmp = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&crate::common::repo().join("tests/corpus"), tmp.path());
    let mut entries = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let names = ["compose.yaml", "docker-compose.yml", "compose.json"];
        if let Some(entry) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            let text = fs::read_to_string(&entry).unwrap();
            entries.push((entry, text));
        }
    }
    Corpus { _tmp: tmp, entries, rules: rules::load(Preset::Generic, None).unwrap() }
}

/// Read, plan and emit one text; any refusal must name the file, and a syntax error a line in it.
fn pipeline(compose: &Path, rules: &Rules, text: &str) -> Result<(), TestCaseError> {
    fs::write(compose, text).unwrap();
    let opts = upstream::Options { compose: compose.to_path_buf(), ..Default::default() };
    let result = upstream::load(&opts)
        .and_then(|p| compose2dify::generate(&p, rules, Settings { lang: Lang::En, ..Default::default() }).map(|_| ()));
    if let Err(e) = result {
        check_error(&e, text)?;
    }
    Ok(())
}

fn check_error(e: &compose2dify::error::Error, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.message.is_empty());
    prop_assert!(!e.help.is_empty(), "no help for: {e}");
    if e.message.starts_with("invalid YAML") {
        let loc = e.location.as_ref();
        prop_assert!(loc.is_some(), "a syntax error without a line: {e}");
        let loc = loc.unwrap();
        let lines = text.lines().count().max(1);
        prop_assert!(loc.line >= 1 && loc.line <= lines + 1, "line {} outside 1..={}: {e}", loc.line, lines + 1);
    }
    // Every refusal about the input names a file; only the planner's name clashes speak of workloads.
    prop_assert!(e.file.is_some() || e.message.contains("workload"), "an input error without a file: {e}");
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_text_into_the_yaml_loader(text in any::<String>()) {
        if let Err(e) = yaml::parse(Path::new("c.yaml"), &text, "compose file") {
            check_error(&e, &text)?;
        }
    }

    #[test]
    fn yaml_shaped_soup_into_the_yaml_loader(text in "([a-z_]{1,6}|[ \n\t:\\-\\[\\]{},&*<>!|'\"#?%@`$]){0,120}") {
        if let Err(e) = yaml::parse(Path::new("c.yaml"), &text, "compose file") {
            check_error(&e, &text)?;
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_bytes_as_a_compose_file(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let tmp = tempfile::tempdir().unwrap();
        let compose = tmp.path().join("docker-compose.yaml");
        fs::write(&compose, &bytes).unwrap();
        let opts = upstream::Options { compose: compose.clone(), ..Default::default() };
        if let Err(e) = upstream::load(&opts) {
            prop_assert!(e.file.is_some(), "{e}");
        }
    }

    #[test]
    fn mutated_generic_compose_through_the_pipeline(mutations in proptest::collection::vec(mutation(), 1..6)) {
        thread_local!(static PROJECT: Project = generic_project());
        let text = apply(GENERIC, &mutations);
        PROJECT.with(|p| pipeline(&p.compose, &p.rules, &text))?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn mutated_corpus_files_through_the_pipeline(case in any::<Index>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        thread_local!(static CORPUS: Corpus = corpus());
        CORPUS.with(|c| {
            let (entry, original) = &c.entries[case.index(c.entries.len())];
            pipeline(entry, &c.rules, &apply(original, &mutations))
        })?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn mutated_dify_compose_through_the_pipeline(mutations in proptest::collection::vec(mutation(), 1..5)) {
        thread_local!(static PROJECT: Project = dify_project());
        let original = fs::read_to_string(crate::common::compose("1.14.1")).unwrap();
        let text = apply(&original, &mutations);
        PROJECT.with(|p| pipeline(&p.compose, &p.rules, &text))?;
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for open in ["[", "{a: ", "- "] {
        let text = format!("a: {}\n", open.repeat(100_000));
        let e = yaml::parse(Path::new("deep.yaml"), &text, "compose file").expect_err("refused");
        assert!(e.to_string().starts_with("deep.yaml:"), "{e}");
    }
    // Block-style nesting, one level per line.
    let mut text = String::new();
    for depth in 0..2_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    assert!(yaml::parse(Path::new("deep.yaml"), &text, "compose file").is_err());
}

#[test]
fn deep_nesting_through_the_binary_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let compose = tmp.path().join("compose.yaml");
    fs::write(&compose, format!("services: {}\n", "[".repeat(100_000))).unwrap();
    let o = crate::common::bin()
        .arg(&compose)
        .arg("-o")
        .arg(tmp.path().join("k8s"))
        .arg("--preset")
        .arg("generic")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!tmp.path().join("k8s").exists());
}
