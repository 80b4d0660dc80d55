//! Re-running on a live tree: byte-stable output whatever the environment, `--check`, pruning of
//! the tool's own stale files only, secrets generated once and paired.

use std::fs;

use crate::common::*;
use yaml_serde::Value;

#[test]
fn same_bytes_from_another_directory_with_hostile_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    generated("1.14.1", &a, &[]);
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let b = tmp.path().join("b");
    let o = bin()
        .current_dir(&elsewhere)
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(&b)
        .env("REDIS_PASSWORD", "hostile-redis-password")
        .env("DB_HOST", "hostile-db-host")
        .env("VECTOR_STORE", "qdrant")
        .output()
        .unwrap();
    assert!(o.status.success());
    let ta = read_tree(&a);
    assert_eq!(ta, read_tree(&b));
    let machine = repo().to_string_lossy().to_string();
    let scratch = tmp.path().to_string_lossy().to_string();
    for (path, bytes) in &ta {
        let text = String::from_utf8_lossy(bytes);
        for bad in ["hostile-redis-password", "hostile-db-host", machine.as_str(), scratch.as_str(), "/root/"] {
            assert!(!text.contains(bad), "{path} contains {bad}");
        }
    }
    assert!(!b.join("services/qdrant").exists());
}

#[test]
fn check_passes_fresh_fails_edited_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    generated("1.14.1", &out, &[]);
    let ok = bin().arg(compose("1.14.1")).arg("-o").arg(&out).arg("--check").output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let path = out.join("services/api/deployment.yaml");
    let edited = fs::read_to_string(&path).unwrap().replace("replicas: 1", "replicas: 5");
    fs::write(&path, &edited).unwrap();
    let before = read_tree(&out);
    let drift = bin().arg(compose("1.14.1")).arg("-o").arg(&out).arg("--check").output().unwrap();
    assert_eq!(drift.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&drift.stdout);
    assert!(diff.contains("--- a/services/api/deployment.yaml"), "{diff}");
    assert!(diff.contains("-  replicas: 5") && diff.contains("+  replicas: 1"), "{diff}");
    assert_eq!(read_tree(&out), before, "--check wrote");
    let missing = tmp.path().join("none");
    let absent = bin().arg(compose("1.14.1")).arg("-o").arg(&missing).arg("--check").output().unwrap();
    assert_eq!(absent.status.code(), Some(1));
    assert!(!missing.exists());
}

#[test]
fn regenerating_an_older_release_prunes_only_own_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    made("1.14.1", &[]).write_filled(&out);
    let overlay = out.join("overlays/prod/kustomization.yaml");
    fs::create_dir_all(overlay.parent().unwrap()).unwrap();
    fs::write(&overlay, "resources: [../..]\n").unwrap();
    let secrets_before: Vec<(String, Vec<u8>)> =
        read_tree(&out).into_iter().filter(|(p, _)| p.ends_with("/secret.yaml")).collect();
    assert!(secrets_before.len() > 5);
    // Going back to an older release is asked for (the images move backwards).
    let stderr = generate("1.8.0", &out, &["--allow-downgrade"]);
    assert!(stderr.contains("removed services/api-websocket/deployment.yaml"), "{stderr}");
    assert!(!out.join("services/api-websocket/deployment.yaml").exists());
    assert_eq!(fs::read_to_string(&overlay).unwrap(), "resources: [../..]\n");
    for (path, bytes) in &secrets_before {
        assert_eq!(&fs::read(out.join(path)).unwrap(), bytes, "{path} changed");
    }
}

fn secret_values(docs: &[Value], name: &str) -> std::collections::BTreeMap<String, String> {
    let s = get(docs, "Secret", name);
    s["stringData"]
        .as_mapping()
        .map(|m| {
            m.iter().map(|(k, v)| (k.as_str().unwrap().to_string(), v.as_str().unwrap_or("").to_string())).collect()
        })
        .unwrap_or_default()
}

#[test]
fn secrets_are_random_paired_and_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    generated("1.14.1", &one, &[]);
    generated("1.14.1", &two, &[]);
    setup_secrets(&one);
    // The native command does the same job as the script.
    let o = bin().args(["secrets", "--new"]).arg(&two).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut firsts = Vec::new();
    for dir in [&one, &two] {
        let docs = render(dir);
        let shared = secret_values(&docs, "dify-secret");
        let api = secret_values(&docs, "api-secret");
        let all: std::collections::BTreeMap<String, String> = shared.clone().into_iter().chain(api.clone()).collect();
        for key in [
            "SECRET_KEY",
            "DB_PASSWORD",
            "REDIS_PASSWORD",
            "PLUGIN_DAEMON_KEY",
            "INNER_API_KEY_FOR_PLUGIN",
            "CODE_EXECUTION_API_KEY",
        ] {
            let v = all.get(key).unwrap_or_else(|| panic!("no {key}"));
            assert!(v.len() >= 16 && !v.contains("CHANGE_ME"), "{key}={v}");
        }
        let plugin = secret_values(&docs, "plugin-daemon-secret");
        let sandbox = secret_values(&docs, "sandbox-secret");
        let postgres = secret_values(&docs, "postgres-secret");
        let redis = secret_values(&docs, "redis-secret");
        assert_eq!(all["PLUGIN_DAEMON_KEY"], plugin["SERVER_KEY"]);
        assert_eq!(all["INNER_API_KEY_FOR_PLUGIN"], plugin["DIFY_INNER_API_KEY"]);
        assert_eq!(all["CODE_EXECUTION_API_KEY"], sandbox["API_KEY"]);
        assert_eq!(all["DB_PASSWORD"], postgres["POSTGRES_PASSWORD"]);
        assert_eq!(all["REDIS_PASSWORD"], redis["REDISCLI_AUTH"]);
        assert!(all["CELERY_BROKER_URL"].contains(&all["REDIS_PASSWORD"]));
        firsts.push(all["SECRET_KEY"].clone());
    }
    assert_ne!(firsts[0], firsts[1], "two set-ups gave the same SECRET_KEY");
    let before = read_tree(&one);
    setup_secrets(&one);
    generate("1.14.1", &one, &[]);
    assert_eq!(read_tree(&one), before, "a second set-up or a regeneration changed the tree");
    let ignored = std::process::Command::new("git")
        .current_dir(&one)
        .args(["-c", "init.defaultBranch=main", "init", "-q"])
        .status()
        .unwrap();
    assert!(ignored.success());
    let check = std::process::Command::new("git")
        .current_dir(&one)
        .args(["check-ignore", "-q", "base/secret.yaml"])
        .status()
        .unwrap();
    assert!(check.success(), "base/secret.yaml is not git-ignored");
}

#[test]
fn no_public_default_secret_anywhere() {
    let public = [
        "difyai123456",
        "sk-9f73s3ljTXVcMT3Blb3ljTqtsKiGHXVcMT3BlbkFJLK7U",
        "lYkiYYT6owG+71oLerGzA7GXCgOT++6ovaezWAjpCjf+Sjc3ZtU+qUEi",
        "QaHbTe77CtuXmsfyhR7+vRjI/+XbV1AaFy691iy+kGDv2Jvy0/eAh8Y1",
        "WVF5YThaHlkYwhGUSmCRgsX3tD5ngdN8pkih",
    ];
    for release in RELEASES {
        for (path, (bytes, _)) in &made(release, &[]).files {
            let text = String::from_utf8_lossy(bytes);
            for p in public {
                assert!(!text.contains(p), "{release}: {path} contains {p}");
            }
        }
    }
}

#[test]
fn set_changes_profiles_and_settings_like_editing_env() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    generate("1.14.1", &out, &["--set", "VECTOR_STORE=qdrant"]);
    assert!(out.join("services/qdrant/statefulset.yaml").is_file());
    assert!(!out.join("services/weaviate").exists());
    let shared = fs::read_to_string(out.join("base/configmap.yaml")).unwrap();
    assert!(shared.contains("VECTOR_STORE: qdrant"), "{shared}");
    let p = tmp.path().join("p");
    generate("1.14.1", &p, &["--profile", "weaviate", "--profile", "postgresql"]);
    assert!(!p.join("services/api-websocket").exists());
    assert!(p.join("services/weaviate").exists());
}

/// The `stringData` of every `secret.yaml` of a tree: file → key → value.
fn secret_files(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    read_tree(dir)
        .into_iter()
        .filter(|(path, _)| path.ends_with("secret.yaml"))
        .map(|(path, bytes)| {
            let doc: Value = yaml_serde::from_slice(&bytes).unwrap();
            let data = doc["stringData"]
                .as_mapping()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            (path, data)
        })
        .collect()
}

/// An upgrade from 1.8.0 to 1.14.1, with the script and with the command: every key of every
/// `.example` is there afterwards, every value chosen before is unchanged, new keys that must agree
/// with old ones (pairs) get the old value, and the keys added are named.
#[test]
fn upgrading_secrets_keeps_every_value_and_adds_every_new_key() {
    for native in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("k8s");
        made("1.8.0", &[]).write_filled(&out);
        let before = secret_files(&out);
        generate("1.14.1", &out, &[]);
        let report = if native {
            let o = bin().arg("secrets").arg(&out).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stderr).to_string()
        } else {
            let o = std::process::Command::new("sh").arg(out.join("scripts/setup-secrets.sh")).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).to_string()
        };
        let after = secret_files(&out);
        let mut added = 0;
        for (path, bytes) in read_tree(&out).into_iter().filter(|(p, _)| p.ends_with("secret.yaml.example")) {
            let example: Value = yaml_serde::from_slice(&bytes).unwrap();
            let secret = path.trim_end_matches(".example");
            let have = after.get(secret).unwrap_or_else(|| panic!("native={native}: no {secret}"));
            for (key, template) in example["stringData"].as_mapping().into_iter().flatten() {
                let key = key.as_str().unwrap();
                let value = have.get(key).unwrap_or_else(|| panic!("native={native}: {secret} lacks {key}"));
                if template.as_str().is_some_and(|t| t.contains("CHANGE_ME_")) {
                    assert!(
                        !value.contains("CHANGE_ME_") && !value.is_empty(),
                        "native={native}: {secret} {key}={value}"
                    );
                }
                if before.get(secret).is_some_and(|b| !b.contains_key(key)) {
                    added += 1;
                }
            }
        }
        assert!(added > 20, "native={native}: the upgrade adds keys ({added})");
        for (secret, old) in &before {
            let Some(new) = after.get(secret) else { continue };
            for (key, value) in old {
                assert_eq!(new.get(key), Some(value), "native={native}: {secret} {key} changed");
            }
        }
        // A new key paired with an old one gets the old value: the sandbox's key equals api's.
        let api = &after["services/api/secret.yaml"];
        let sandbox = &after["services/sandbox/secret.yaml"];
        assert_eq!(sandbox["API_KEY"], api["CODE_EXECUTION_API_KEY"], "native={native}");
        assert!(
            report.contains("added   services/web/secret.yaml") || report.contains("web/secret.yaml: "),
            "native={native}: {report}"
        );
        // Run again: nothing to add.
        let again = bin().arg("secrets").arg(&out).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&again.stderr).contains("added"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(secret_files(&out), after, "native={native}: a second run changes nothing");
    }
}
