//! Issue 12's minor findings: one placeholder per variable, no upstream default of a secret-looking
//! variable anywhere in any release's tree, URL-safe generated and suggested secrets, and Ingress
//! annotations (explicit ones, and ingress-nginx's limits from the release's own nginx settings).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::common::*;
use yaml_serde::Value;

fn yaml_docs(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text).filter_map(|d| Value::deserialize(d).ok()).collect()
}

/// Every YAML document of a generated tree (examples included), with its file.
fn tree_docs(dir: &Path) -> Vec<(String, Value)> {
    read_tree(dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".yaml") || p.ends_with(".yaml.example"))
        .flat_map(|(p, bytes)| {
            yaml_docs(&String::from_utf8_lossy(&bytes)).into_iter().map(move |d| (p.clone(), d)).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn one_variable_one_placeholder_everywhere() {
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generate(release, &out, &[]);
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (_, d) in tree_docs(&out).iter().filter(|(p, _)| p.ends_with("secret.yaml.example")) {
            for (k, v) in d["stringData"].as_mapping().into_iter().flatten() {
                let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else { continue };
                if !v.is_empty() {
                    values.entry(k.to_string()).or_default().insert(v.to_string());
                }
            }
        }
        for (k, v) in &values {
            assert_eq!(v.len(), 1, "{release}: {k} gets one value everywhere, not {v:?}");
        }
        if release.starts_with("1.14") {
            let key = &values["INNER_API_KEY_FOR_PLUGIN"];
            assert_eq!(key.iter().next().map(String::as_str), Some("CHANGE_ME_PLUGIN_DIFY_INNER_API_KEY"));
        }
    }
}

/// A name that looks secret, by this test's own reading (not the rules').
fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let word = ["PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "API_KEY", "ACCESS_KEY", "PRIVATE_KEY"];
    let end = ["_PWD", "_PASS", "_TOKEN", "_KEY", "_KEYS"];
    (word.iter().any(|w| n.contains(w)) || end.iter().any(|e| n.ends_with(e)))
        && !n.ends_with("_PUBLIC_KEY")
        && !n.ends_with("_ID") // an access key ID names a key, like a user name
        && !n.contains("_EXPIRY_")
}

/// A value that can be a secret: not empty, not a flag, not a number.
fn secret_like_value(v: &str) -> bool {
    !v.is_empty() && !matches!(v.to_ascii_lowercase().as_str(), "true" | "false") && v.parse::<f64>().is_err()
}

/// The upstream defaults of secret-looking variables of a release folder: `.env.example`, every
/// `envs/**/*.env.example`, and `${VAR:-default}` / `${VAR-default}` in the compose file.
fn upstream_secret_defaults(folder: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |k: &str, v: &str| {
        let v = v.trim().trim_matches('"').trim_matches('\'');
        if secret_looking(k) && secret_like_value(v) {
            out.entry(k.to_string()).or_default().insert(v.to_string());
        }
    };
    let mut env_files = vec![folder.join(".env.example")];
    let mut stack = vec![folder.join("envs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".env.example") {
                env_files.push(p);
            }
        }
    }
    for f in env_files {
        for line in std::fs::read_to_string(&f).unwrap_or_default().lines() {
            if let Some((k, v)) = line.trim_start().split_once('=') {
                if !k.starts_with('#') && !k.contains(' ') {
                    add(k, v);
                }
            }
        }
    }
    let compose = std::fs::read_to_string(folder.join("docker-compose.yaml")).unwrap();
    let mut rest = compose.as_str();
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let inner = &rest[..end];
        if let Some((var, default)) = inner.split_once(":-").or_else(|| inner.split_once('-')) {
            if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                add(var, default);
            }
        }
    }
    out
}

/// Whether `needle` occurs in `text` as a whole value: not inside a longer word, path or image name.
fn occurs_as_value(text: &str, needle: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+');
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// A default that is no ordinary word of prose or settings (`password`, `elastic` are).
fn distinctive(v: &str) -> bool {
    v.len() >= 8 && !v.chars().all(|c| c.is_ascii_lowercase())
}

#[test]
fn no_upstream_default_of_a_secret_looking_variable_survives() {
    for release in RELEASES {
        let folder = compose(release).parent().unwrap().to_path_buf();
        let defaults = upstream_secret_defaults(&folder);
        assert!(defaults.len() > 10, "{release}: the defaults were read ({})", defaults.len());
        let all: BTreeSet<&String> = defaults.values().flatten().collect();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generate(release, &out, &[]);
        // 1. No secret-looking setting anywhere (ConfigMaps, Secret templates, container env)
        //    holds any of those defaults.
        for (file, d) in tree_docs(&out) {
            let mut settings: Vec<(String, String)> = Vec::new();
            for section in ["data", "stringData"] {
                for (k, v) in d[section].as_mapping().into_iter().flatten() {
                    if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                        settings.push((k.into(), v.into()));
                    }
                }
            }
            let yaml = yaml_serde::to_string(&d).unwrap();
            for (k, v) in settings.iter().filter(|(k, _)| secret_looking(k)) {
                assert!(!all.contains(v), "{release} {file}: {k}: {v} is an upstream default");
            }
            // 2. Defaults that cannot be ordinary words (8 characters or more, not only lowercase
            //    letters) appear nowhere as a value: inside URLs, commands, config files, probes.
            for v in all.iter().filter(|v| distinctive(v)) {
                assert!(!occurs_as_value(&yaml, v), "{release} {file}: upstream default `{v}` survives");
            }
        }
        for (file, bytes) in read_tree(&out).iter().filter(|(p, _)| p.ends_with(".md") || p.ends_with(".sh")) {
            let text = String::from_utf8_lossy(bytes);
            for v in all.iter().filter(|v| distinctive(v)) {
                assert!(!occurs_as_value(&text, v), "{release} {file}: upstream default `{v}` survives");
            }
        }
    }
}

fn url_safe(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

/// The values that replaced placeholders in every secret.yaml of a tree.
fn generated_values(out: &Path) -> Vec<String> {
    let mut values = Vec::new();
    for (p, bytes) in read_tree(out).iter().filter(|(p, _)| p.ends_with("secret.yaml.example")) {
        let example: Value = yaml_serde::from_slice(bytes).unwrap();
        let secret: Value =
            yaml_serde::from_str(&std::fs::read_to_string(out.join(p.trim_end_matches(".example"))).unwrap()).unwrap();
        for (k, v) in example["stringData"].as_mapping().into_iter().flatten() {
            let whole = v.as_str().is_some_and(|s| {
                s.starts_with("CHANGE_ME_")
                    && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            if whole {
                values.push(secret["stringData"][k].as_str().unwrap_or("").to_string());
            }
        }
    }
    values
}

/// No value a filled secret file holds sits outside its `stringData`: the max-length annotation
/// keeps naming its placeholders (a SOPS file encrypts only the data, so a value there would be
/// committed in plain text).
fn values_stay_in_string_data(out: &Path, what: &str) {
    let mut limits = 0;
    for (p, doc) in tree_docs(out).iter().filter(|(p, _)| p.ends_with("/secret.yaml")) {
        let values: Vec<&str> =
            doc["stringData"].as_mapping().into_iter().flatten().filter_map(|(_, v)| v.as_str()).collect();
        for (key, note) in doc["metadata"]["annotations"].as_mapping().into_iter().flatten() {
            let note = note.as_str().unwrap_or_default();
            for v in values.iter().filter(|v| v.len() >= 8) {
                assert!(!note.contains(v), "{what}: {p}'s annotation {key:?} holds a secret value");
            }
            if key.as_str() == Some("compose2dify.io/max-length") {
                assert!(note.starts_with("CHANGE_ME_"), "{what}: {p}: {note:?}");
                limits += 1;
            }
        }
    }
    assert!(limits > 0, "{what}: no filled secret file has a max-length annotation to look at");
}

#[test]
fn generated_and_suggested_secrets_are_url_safe() {
    for release in ["1.14.1", "1.8.0"] {
        // The tree's own script.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generate(release, &out, &[]);
        setup_secrets(&out);
        values_stay_in_string_data(&out, &format!("{release} setup-secrets.sh"));
        let values = generated_values(&out);
        assert!(values.len() > 5, "{release}");
        // 48 hex characters, or 30 where the console takes no more (INIT_PASSWORD's
        // compose2dify.io/max-length annotation).
        for v in &values {
            assert!(url_safe(v) && (v.len() >= 32 || v.len() == 30), "{release} setup-secrets.sh: {v:?}");
        }
        let short: std::collections::BTreeSet<&String> = values.iter().filter(|v| v.len() == 30).collect();
        assert_eq!(short.len(), 1, "{release}: only INIT_PASSWORD is short (one value, in each Secret that has it)");
        // `compose2dify secrets`.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generate(release, &out, &[]);
        let o = bin().args(["secrets", "--new"]).arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        values_stay_in_string_data(&out, &format!("{release} compose2dify secrets"));
        for v in generated_values(&out) {
            assert!(url_safe(&v) && (v.len() >= 32 || v.len() == 30), "{release} compose2dify secrets: {v:?}");
        }
        // The README's suggestion, run as written.
        for lang in ["en", "ja"] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("k8s");
            generate(release, &out, &["--lang", lang]);
            let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
            assert!(!readme.contains("rand -base64"), "{release} {lang}: no base64 suggestion");
            let i = readme.find("`openssl rand ").expect("a suggested command");
            let cmd = readme[i + 1..].split('`').next().unwrap();
            let o = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
            assert!(o.status.success(), "openssl is needed for this test: install it (apt-get install openssl)");
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            assert!(url_safe(&v) && v.len() >= 32, "{release} {lang}: `{cmd}` gives {v:?}");
        }
    }
}

fn ingress(docs: &[Value]) -> &Value {
    get(docs, "Ingress", "nginx")
}

fn nginx_setting(docs: &[Value], key: &str) -> String {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some("ConfigMap"))
        .find_map(|d| d["data"][key].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("{key} in a ConfigMap"))
}

#[test]
fn ingress_nginx_gets_the_release_nginx_limits_and_explicit_annotations_win() {
    let prefix = "nginx.ingress.kubernetes.io/";
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let base = ["--expose", "ClusterIP", "--ingress-host", "dify.example.com", "--ingress-class", "nginx"];
        let docs = rendered(release, &base);
        let a = &ingress(docs)["metadata"]["annotations"];
        let body = nginx_setting(docs, "NGINX_CLIENT_MAX_BODY_SIZE");
        assert_eq!(a[format!("{prefix}proxy-body-size").as_str()].as_str(), Some(body.as_str()), "{release}");
        for (setting, annotation) in
            [("NGINX_PROXY_READ_TIMEOUT", "proxy-read-timeout"), ("NGINX_PROXY_SEND_TIMEOUT", "proxy-send-timeout")]
        {
            let upstream = nginx_setting(docs, setting);
            assert_eq!(upstream, "3600s", "{release}: the release's own value");
            assert_eq!(a[format!("{prefix}{annotation}").as_str()].as_str(), Some("3600"), "{release}: seconds");
        }
        // nginx itself accepts these values where ingress-nginx puts them.
        let conf = format!(
            "pid /tmp/x.pid; error_log stderr; events {{}} http {{ client_max_body_size {}; proxy_read_timeout {}; proxy_send_timeout {}; }}",
            a[format!("{prefix}proxy-body-size").as_str()].as_str().unwrap(),
            a[format!("{prefix}proxy-read-timeout").as_str()].as_str().unwrap(),
            a[format!("{prefix}proxy-send-timeout").as_str()].as_str().unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, conf).unwrap();
        let o = Command::new("nginx").arg("-t").arg("-c").arg(&file).arg("-p").arg(dir.path()).output();
        let o = o.expect("nginx is needed for this test: install it (apt-get install nginx)");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("syntax is ok"), "{release}: {stderr}");

        // Explicit annotations win over derived ones, and come on top.
        let mut flags = base.to_vec();
        flags.extend([
            "--ingress-annotation",
            "nginx.ingress.kubernetes.io/proxy-body-size=1g",
            "--ingress-annotation",
            "cert-manager.io/cluster-issuer=letsencrypt",
        ]);
        let docs = rendered(release, &flags);
        let a = &ingress(docs)["metadata"]["annotations"];
        assert_eq!(a[format!("{prefix}proxy-body-size").as_str()].as_str(), Some("1g"), "{release}");
        assert_eq!(a["cert-manager.io/cluster-issuer"].as_str(), Some("letsencrypt"));
        assert_eq!(a[format!("{prefix}proxy-read-timeout").as_str()].as_str(), Some("3600"));

        // Another class: only the explicit ones.
        let docs = rendered(
            release,
            &[
                "--ingress-host",
                "dify.example.com",
                "--ingress-class",
                "traefik",
                "--ingress-annotation",
                "a.example/b=c",
            ],
        );
        let a = ingress(docs)["metadata"]["annotations"].as_mapping().expect("annotations").clone();
        assert_eq!(a.len(), 1, "{release}: {a:?}");
    }
}

#[test]
fn bad_ingress_annotations_are_refused() {
    for (arg, says) in [
        ("Nginx.Example.com/x=1", "not an annotation key"),
        ("-x=1", "not an annotation key"),
        ("a/b/c=1", "not an annotation key"),
        ("no-equals-sign", "is not KEY=VALUE"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let o = bin()
            .arg(compose("1.14.1"))
            .arg("-o")
            .arg(&out)
            .args(["--ingress-host", "dify.example.com"])
            .arg(format!("--ingress-annotation={arg}"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}: {stderr}");
        assert!(stderr.contains(says), "{arg}: {stderr}");
        assert!(!out.exists(), "nothing written");
    }
}
