//! Settings the rules derive (the public URL's, the in-cluster addresses) reach the reader as
//! `Options::derived`: one read sets each where the release has the setting and no `--set` names
//! it, whether the env source holds it or only a service's own settings do.

use std::path::Path;

use compose2dify::read::upstream::{self, Options};

/// A stack whose `.env` holds `APP_URL`, while `OTHER_URL` is only in an env file `web` reads,
/// `INNER_URL` only in `db`'s `environment`, and `KEY_ONLY` is named there without a value (so it
/// is left out, as compose does).
fn stack(dir: &Path) {
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: nginx:1.25\n    env_file: a.env\n    environment:\n      APP_URL: ${APP_URL:-http://localhost:8080}\n      LINK: \"${OTHER_URL:-none}/x\"\n  db:\n    image: postgres:16\n    environment:\n      INNER_URL: ${INNER_URL:-unset}\n      KEY_ONLY:\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.env"), "OTHER_URL=http://localhost/o\n").unwrap();
    std::fs::write(dir.join(".env"), "APP_URL=http://localhost:9\n").unwrap();
}

fn derived() -> Vec<(String, String)> {
    [("APP_URL", "https://x.example.com"), ("OTHER_URL", "https://x.example.com/o"), ("MISSING_URL", "https://m")]
        .into_iter()
        .chain([("INNER_URL", "http://db:5432"), ("KEY_ONLY", "k")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setting(p: &upstream::Project, service: &str, key: &str) -> Option<String> {
    p.services[service].environment.get(key).map(|s| s.value.clone())
}

#[test]
fn derived_settings_are_set_where_the_release_has_them() {
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path());
    let opts = Options { compose: dir.path().join("compose.yaml"), derived: derived(), ..Default::default() };
    let p = upstream::load(&opts).unwrap();
    // In the env source.
    assert_eq!(setting(&p, "web", "APP_URL").as_deref(), Some("https://x.example.com"));
    assert_eq!(p.env["APP_URL"], "https://x.example.com");
    // Only in an env file and a service's environment: known before anything is interpolated.
    assert_eq!(setting(&p, "web", "OTHER_URL").as_deref(), Some("https://x.example.com/o"));
    assert_eq!(setting(&p, "web", "LINK").as_deref(), Some("https://x.example.com/o/x"));
    assert_eq!(setting(&p, "db", "INNER_URL").as_deref(), Some("http://db:5432"));
    // A setting the release lacks (or names without a value) is neither added nor warned about.
    assert!(!p.env.contains_key("MISSING_URL") && !p.env.contains_key("KEY_ONLY"));
    assert_eq!(setting(&p, "db", "KEY_ONLY"), None);
    assert!(p.warnings.iter().all(|w| !w.text.contains("MISSING_URL")), "{:?}", p.warnings);
}

#[test]
fn a_set_wins_over_a_derived_setting() {
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path());
    let opts = Options {
        compose: dir.path().join("compose.yaml"),
        derived: derived(),
        set: vec![("APP_URL".into(), "https://mine".into()), ("OTHER_URL".into(), "https://other".into())],
        ..Default::default()
    };
    let p = upstream::load(&opts).unwrap();
    assert_eq!(setting(&p, "web", "APP_URL").as_deref(), Some("https://mine"));
    assert_eq!(setting(&p, "web", "LINK").as_deref(), Some("https://other/x"));
    assert_eq!(setting(&p, "db", "INNER_URL").as_deref(), Some("http://db:5432"));
}

#[test]
fn without_derived_settings_the_release_keeps_its_values() {
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path());
    let p = upstream::load(&Options { compose: dir.path().join("compose.yaml"), ..Default::default() }).unwrap();
    assert_eq!(setting(&p, "web", "APP_URL").as_deref(), Some("http://localhost:9"));
    // Compose interpolates from the env source alone, which lacks `OTHER_URL`.
    assert_eq!(setting(&p, "web", "LINK").as_deref(), Some("none/x"));
    assert_eq!(setting(&p, "db", "INNER_URL").as_deref(), Some("unset"));
}
