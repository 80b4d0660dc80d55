//! Compose fidelity (issue 14): what `docker compose up` runs is what the cluster runs. Each test
//! writes a small compose file, runs the binary with `--preset generic` as a user would, makes the
//! secrets with the tree's own script and reads the objects `kubectl kustomize` renders.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use yaml_serde::Value;

/// A compose folder with these files (name → text).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

struct Out {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    docs: Vec<Value>,
    stderr: String,
}

/// Translate `compose.yaml` of `dir` (generic preset), run setup-secrets.sh, render.
fn translate_in(dir: &Path, extra: &[&str]) -> Out {
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("k8s");
    let o = bin()
        .arg(dir.join("compose.yaml"))
        .arg("-o")
        .arg(&tree)
        .args(["--preset", "generic"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    setup_secrets(&tree);
    let docs = render(&tree);
    Out { _dir: out, tree, docs, stderr }
}

fn translate(compose: &str, extra: &[&str]) -> Out {
    let dir = folder(&[("compose.yaml", compose)]);
    translate_in(dir.path(), extra)
}

/// Exit 2 and stderr, with nothing written.
fn refuse(dir: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("k8s");
    let o = bin()
        .arg(dir.join("compose.yaml"))
        .arg("-o")
        .arg(&tree)
        .args(["--preset", "generic"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!tree.exists(), "nothing written");
    stderr
}

/// A container's environment as the pod sees it: its ConfigMaps' and Secrets' values (after
/// setup-secrets.sh), then its own `env`.
fn environment(docs: &[Value], kind: &str, workload: &str) -> BTreeMap<String, String> {
    let pod = &get(docs, kind, workload)["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let mut env = BTreeMap::new();
    for from in c["envFrom"].as_sequence().into_iter().flatten() {
        let (k, name) = if let Some(n) = from["configMapRef"]["name"].as_str() {
            ("ConfigMap", n)
        } else {
            ("Secret", from["secretRef"]["name"].as_str().unwrap())
        };
        let obj = get(docs, k, name);
        for field in ["data", "stringData"] {
            for (key, v) in obj[field].as_mapping().into_iter().flatten() {
                let v = v.as_str().unwrap_or_default().to_string();
                let v = if k == "Secret" && field == "data" { decode(&v) } else { v };
                env.insert(key.as_str().unwrap().to_string(), v);
            }
        }
    }
    for e in c["env"].as_sequence().into_iter().flatten() {
        if let Some(v) = e["value"].as_str() {
            env.insert(e["name"].as_str().unwrap().to_string(), v.to_string());
        }
    }
    env
}

/// Whether a setting lives in a Secret (and not a ConfigMap) of the workload.
fn in_secret(docs: &[Value], workload: &str, key: &str) -> bool {
    docs.iter().filter(|d| d["kind"] == "Secret").any(|s| {
        s["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(workload))
            && (s["stringData"][key].is_string() || s["data"][key].is_string())
    })
}

fn decode(b64: &str) -> String {
    let o = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    o.stdin.as_ref().unwrap().write_all(b64.as_bytes()).unwrap();
    String::from_utf8(o.wait_with_output().unwrap().stdout).unwrap()
}

// Item 1: secrets that must match share one value; names that are not secret stay plain; flags
// are never secrets.
#[test]
fn equal_secrets_of_services_that_reach_one_another_share_one_value() {
    let out = translate(
        r#"
services:
  wordpress:
    image: wordpress:6.6
    environment:
      WORDPRESS_DB_HOST: db:3306
      WORDPRESS_DB_USER: wordpress
      WORDPRESS_DB_PASSWORD: wordpress
      WORDPRESS_DB_NAME: wordpress
  db:
    image: mariadb:11
    environment:
      MYSQL_ROOT_PASSWORD: somewordpress
      MYSQL_DATABASE: wordpress
      MYSQL_USER: wordpress
      MYSQL_PASSWORD: wordpress
      MARIADB_RANDOM_ROOT_PASSWORD: "1"
      ALLOW_EMPTY_PASSWORD: "yes"
  other:
    image: nginx:1.27
    environment:
      ADMIN_PASSWORD: wordpress
"#,
        &[],
    );
    let wp = environment(&out.docs, "Deployment", "wordpress");
    let db = environment(&out.docs, "Deployment", "db");
    let other = environment(&out.docs, "Deployment", "other");
    assert_eq!(wp["WORDPRESS_DB_PASSWORD"], db["MYSQL_PASSWORD"], "the app logs in with the database's password");
    assert!(!wp["WORDPRESS_DB_PASSWORD"].contains("CHANGE_ME") && wp["WORDPRESS_DB_PASSWORD"] != "wordpress");
    assert_ne!(db["MYSQL_ROOT_PASSWORD"], db["MYSQL_PASSWORD"], "different values stay different");
    assert_ne!(other["ADMIN_PASSWORD"], db["MYSQL_PASSWORD"], "a service that reaches neither keeps its own");
    for (env, key) in
        [(&wp, "WORDPRESS_DB_USER"), (&wp, "WORDPRESS_DB_NAME"), (&db, "MYSQL_USER"), (&db, "MYSQL_DATABASE")]
    {
        assert_eq!(env[key], "wordpress", "{key}: a name that is not secret keeps its value");
    }
    assert!(!in_secret(&out.docs, "db", "MYSQL_USER"));
    assert_eq!(db["ALLOW_EMPTY_PASSWORD"], "yes", "a flag is never a secret");
    assert_eq!(db["MARIADB_RANDOM_ROOT_PASSWORD"], "1");
    assert!(!in_secret(&out.docs, "db", "ALLOW_EMPTY_PASSWORD"));
}
