//! The address users reach Dify at (issue 12's review): upstream points the web UI's WebSocket,
//! triggers and plugin endpoints at `localhost`, which only the machine running compose can reach.
//! `--public-url` (or `--ingress-host`) sets every such setting of the rules' `public_url` in every
//! ConfigMap that holds it; the tree's README lists where they are; without it the tool says so.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

/// Every ConfigMap's data in the rendered tree: (ConfigMap name, key) → value.
fn settings(docs: &[Value]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for d in docs.iter().filter(|d| d["kind"] == "ConfigMap") {
        let name = d["metadata"]["name"].as_str().unwrap().to_string();
        if let Some(data) = d["data"].as_mapping() {
            for (k, v) in data {
                out.insert((name.clone(), k.as_str().unwrap().to_string()), v.as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

/// The public-URL settings of the Dify rules, with their templates.
fn rules() -> Vec<(String, String)> {
    let r = compose2dify::rules::load(compose2dify::rules::Preset::Dify, None).unwrap();
    r.public_url.into_iter().collect()
}

fn expected(template: &str, url: &str, ws: &str) -> String {
    template.replace("{url}", url).replace("{ws}", ws)
}

#[test]
fn public_url_reaches_every_configmap_that_holds_a_browser_facing_setting() {
    let rules = rules();
    assert!(rules.iter().any(|(k, _)| k == "NEXT_PUBLIC_SOCKET_URL"), "the rules name the WebSocket URL");
    for release in ["1.14.1", "1.8.0"] {
        let before = rendered(release, &[]);
        let after = rendered(release, &["--public-url", "https://dify.example.com/"]);
        let (before, after) = (settings(before), settings(after));
        let mut seen = 0;
        for ((map, key), value) in &after {
            if let Some((_, template)) = rules.iter().find(|(k, _)| k == key) {
                let want = expected(template, "https://dify.example.com", "wss://dify.example.com");
                // 1.8.0's compose file appends a literal `}` to ENDPOINT_URL_TEMPLATE (its default
                // `{hook_id}` closes the `${…}`), as docker compose does; the rest is ours.
                assert!(value.starts_with(&want), "{release}: {map} {key} = {value}, want {want}");
                assert!(!value.contains("localhost"), "{release}: {map} {key} still names localhost");
                seen += 1;
            } else {
                assert_eq!(before.get(&(map.clone(), key.clone())), Some(value), "{release}: {map} {key} changed");
            }
        }
        assert!(seen >= 6, "{release}: only {seen} public-URL settings found");
        // Nothing that held such a setting lost it, and no ConfigMap gained one.
        let keys = |m: &BTreeMap<(String, String), String>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&before), keys(&after), "{release}: the same settings in the same ConfigMaps");
    }
    // 1.14.1's web UI opens its WebSocket at the public address.
    let docs = rendered("1.14.1", &["--public-url", "https://dify.example.com"]);
    let web = settings(docs);
    assert_eq!(web[&("web-config".to_string(), "NEXT_PUBLIC_SOCKET_URL".to_string())], "wss://dify.example.com");
}

#[test]
fn without_public_url_the_tool_and_the_readme_say_localhost_must_change() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let stderr = generate("1.14.1", &out, &[]);
    assert!(stderr.contains("point at localhost; pass --public-url"), "{stderr}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("#### Public URL"), "README has the section");
    assert!(readme.contains("--public-url https://dify.example.com"), "README shows the flag");
    assert!(
        readme.contains("| `NEXT_PUBLIC_SOCKET_URL` | `ws://localhost` | `base/configmap.yaml`"),
        "README lists where"
    );
    assert!(!readme.contains("# adjust to your domain"), "README no longer asks for hand edits of one ConfigMap");
    // With a public URL there is nothing to say on stderr, and the README shows the values.
    let out2 = dir.path().join("k8s2");
    let stderr = generate("1.14.1", &out2, &["--public-url", "http://10.1.2.3:8080"]);
    assert!(!stderr.contains("localhost"), "{stderr}");
    let readme = std::fs::read_to_string(out2.join("README.md")).unwrap();
    assert!(readme.contains("| `NEXT_PUBLIC_SOCKET_URL` | `ws://10.1.2.3:8080` |"), "{readme}");
}

#[test]
fn ingress_host_is_the_default_and_an_explicit_set_wins() {
    let docs = rendered(
        "1.14.1",
        &[
            "--ingress-host",
            "dify.example.org",
            "--ingress-tls-secret",
            "dify-tls",
            "--set",
            "TRIGGER_URL=https://hooks.example.org",
        ],
    );
    let s = settings(docs);
    let get = |m: &str, k: &str| s[&(m.to_string(), k.to_string())].clone();
    assert_eq!(get("dify-config", "CONSOLE_API_URL"), "https://dify.example.org");
    assert_eq!(get("web-config", "NEXT_PUBLIC_SOCKET_URL"), "wss://dify.example.org");
    assert_eq!(get("dify-config", "TRIGGER_URL"), "https://hooks.example.org");
    // Without a TLS secret the Ingress serves http.
    let docs = rendered("1.14.1", &["--ingress-host", "dify.example.org"]);
    let s = settings(docs);
    assert_eq!(s[&("dify-config".to_string(), "APP_WEB_URL".to_string())], "http://dify.example.org");
}

#[test]
fn settings_a_release_lacks_are_left_alone_without_a_warning() {
    // 0.15.3 has no NEXT_PUBLIC_SOCKET_URL or TRIGGER_URL: no `--set … changes nothing` warning.
    let dir = tempfile::tempdir().unwrap();
    let stderr = generate("0.15.3", &dir.path().join("k8s"), &["--public-url", "https://dify.example.com"]);
    assert!(!stderr.contains("changes nothing"), "{stderr}");
}

#[test]
fn a_bad_public_url_is_refused_and_nothing_is_written() {
    for bad in
        ["ftp://dify.example.com", "dify.example.com", "https://", "https://dify.example.com:99999", "https://a b"]
    {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(["--public-url", bad]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("--public-url") && stderr.contains("is not an http(s) URL"), "{bad}: {stderr}");
        assert!(!Path::new(&out).exists(), "{bad}: nothing written");
    }
}

#[test]
fn generic_rules_have_no_public_url_and_say_so() {
    let corpus = repo().join("tests/corpus/01-web-db");
    let file = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .unwrap();
    let o = bin()
        .arg(&file)
        .args(["--preset", "generic", "-o", "-", "--public-url", "https://x.example.com"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--public-url changes nothing"));
}
