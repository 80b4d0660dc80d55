//! Where the Secrets' values come from: a fresh clone of an installed tree is never given new
//! passwords by accident (`secrets` and setup-secrets.sh refuse to invent without `--new`),
//! `--from-cluster` takes the live Secrets' values, and `--from-env` takes a Docker Compose
//! install's `.env` into every Secret that needs a value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;
use yaml_serde::Value;

fn kubectl() -> PathBuf {
    fake_kubectl()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout)
}

fn secrets(tree: &Path, args: &[&str], cluster: &Path) -> Output {
    bin().arg("secrets").arg(tree).args(args).env("FAKE_CLUSTER", cluster).output().unwrap()
}

/// Every secret.yaml of a tree: path → key → value (as YAML reads it).
fn secret_files(tree: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    read_tree(tree)
        .into_iter()
        .filter(|(p, _)| p.ends_with("/secret.yaml"))
        .map(|(p, bytes)| {
            let doc: Value = yaml_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{p}: {e}"));
            let data = doc["stringData"]
                .as_mapping()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().unwrap_or_else(|| panic!("{p}: {k:?} is not a string"));
                    (k.as_str().unwrap().to_string(), v.to_string())
                })
                .collect();
            (p, data)
        })
        .collect()
}

/// The name and namespace of the Secret a secret.yaml makes.
fn secret_id(tree: &Path, path: &str) -> String {
    let doc: Value = yaml_serde::from_slice(&std::fs::read(tree.join(format!("{path}.example"))).unwrap()).unwrap();
    format!("{}_{}", doc["metadata"]["namespace"].as_str().unwrap(), doc["metadata"]["name"].as_str().unwrap())
}

/// A fresh clone of an installed tree: `secrets` and the script refuse to invent values and say
/// which command to run; `--from-cluster` writes exactly the values the cluster holds.
#[test]
fn a_fresh_clone_takes_the_live_values_and_never_invents_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    let first = generated("1.14.1", &tree, &[]);
    assert!(first.contains("--new") && first.contains("--from-cluster"), "the first write names the step: {first}");
    // The install as it runs: its Secrets in the cluster.
    let o = secrets(&tree, &["--apply", "--kubectl", kubectl().to_str().unwrap()], cluster.path());
    assert!(o.status.success(), "{}", text(&o));

    let o = secrets(&tree, &[], cluster.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = text(&o);
    let dir = tree.display().to_string();
    for hint in [
        format!("compose2dify secrets {dir} --from-cluster"),
        format!("compose2dify secrets {dir} --new"),
        "--from-env".to_string(),
    ] {
        assert!(said.contains(&hint), "names `{hint}`: {said}");
    }
    assert!(secret_files(&tree).is_empty(), "nothing written");

    let script = std::process::Command::new("sh").arg(tree.join("scripts/setup-secrets.sh")).output().unwrap();
    assert_eq!(script.status.code(), Some(2), "{}", text(&script));
    assert!(text(&script).contains("--from-cluster") && text(&script).contains("setup-secrets.sh --new"));
    assert!(secret_files(&tree).is_empty(), "the script wrote nothing");
    let bad =
        std::process::Command::new("sh").arg(tree.join("scripts/setup-secrets.sh")).arg("--force").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let o = secrets(&tree, &["--from-cluster", "--kubectl", kubectl().to_str().unwrap()], cluster.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("from the cluster: ") && !text(&o).contains("generated"), "{}", text(&o));
    let live = in_cluster(cluster.path());
    let files = secret_files(&tree);
    assert!(files.len() >= 5, "{files:?}");
    for (path, data) in &files {
        let secret = &live[&secret_id(&tree, path)];
        assert_eq!(data, secret, "{path} holds exactly the live Secret");
    }
    for value in live.values().flat_map(|d| d.values()).filter(|v| v.len() >= 16) {
        assert!(!text(&o).contains(value.as_str()), "a value was printed");
    }
    // The tree renders with them.
    render(&tree);
}

/// `--from-cluster` with none of the Secrets in the cluster (another context?) is refused unless
/// `--new` says this is a first install; a file that disagrees with the cluster is kept and named.
#[test]
fn an_empty_cluster_and_a_disagreeing_file_are_said() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.8.0", &tree, &[]);
    let k = kubectl();
    let o = secrets(&tree, &["--from-cluster", "--kubectl", k.to_str().unwrap()], cluster.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("holds none of the Secrets") && text(&o).contains("--new"), "{}", text(&o));
    assert!(secret_files(&tree).is_empty());

    let o = secrets(&tree, &["--from-cluster", "--new", "--kubectl", k.to_str().unwrap()], cluster.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("generated: "), "{}", text(&o));

    // The cluster gets other values (made from another clone); this clone's files are kept.
    let other = tmp.path().join("other");
    generated("1.8.0", &other, &[]);
    let o = secrets(&other, &["--apply", "--kubectl", k.to_str().unwrap()], cluster.path());
    assert!(o.status.success(), "{}", text(&o));
    let before = secret_files(&tree);
    let o = secrets(&tree, &["--from-cluster", "--kubectl", k.to_str().unwrap()], cluster.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("differ from the cluster's for: ") && text(&o).contains("DB_PASSWORD"), "{}", text(&o));
    assert_eq!(secret_files(&tree), before, "the files are kept");
}

/// Wrong flags and a failing kubectl: exit 2, nothing written.
#[test]
fn secrets_flags_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    let cases: &[(&[&str], &str)] = &[
        (&["--kubectl", "/bin/true"], "only run with --apply or --from-cluster"),
        (&["--apply", "--new"], "cannot be used with"),
        (&["--apply", "--from-cluster"], "cannot be used with"),
        (&["--from-cluster", "--kubectl", "/nonexistent/kubectl"], "cannot run /nonexistent/kubectl"),
        (&["--from-cluster", "--kubectl", "/bin/false"], "failed"),
        (&["--from-env", "/nonexistent/.env"], "/nonexistent/.env"),
    ];
    for (args, expect) in cases {
        let o = secrets(&tree, args, cluster.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(expect), "{args:?}: {}", text(&o));
        assert!(secret_files(&tree).is_empty(), "{args:?}: nothing written");
    }
}

/// A secret `--set` over a generated tree with no secret.yaml (a fresh clone) would invent every
/// other value: refused before anything is written.
#[test]
fn a_secret_set_on_a_fresh_clone_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    let before = read_tree(&tree);
    let o = bin()
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(&tree)
        .args(["--set", "SECRET_KEY=abcdef0123456789abcdef"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--from-cluster"), "{}", text(&o));
    assert_eq!(read_tree(&tree), before, "nothing written");
    // A first run with it makes the files.
    let fresh = tmp.path().join("fresh");
    let o = bin()
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(&fresh)
        .args(["--set", "SECRET_KEY=abcdef0123456789abcdef"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(secret_files(&fresh)["services/api/secret.yaml"]["SECRET_KEY"], "abcdef0123456789abcdef");
}

/// A compose install's `.env`, from 1.14.1's `.env.example` with the operator's values.
fn compose_install(dir: &Path, changes: &[(&str, &str)]) -> PathBuf {
    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let example = std::fs::read_to_string(repo().join("compose/dify-1.14.1/.env.example")).unwrap();
    std::fs::write(docker.join(".env.example"), &example).unwrap();
    let mut env = example.clone();
    for (key, value) in changes {
        let start = env.find(&format!("\n{key}=")).unwrap_or_else(|| panic!("{key} in .env.example")) + 1;
        let end = start + env[start..].find('\n').unwrap();
        env.replace_range(start..end, &format!("{key}={value}"));
    }
    std::fs::write(docker.join(".env"), env).unwrap();
    docker.join(".env")
}

const MINE: &[(&str, &str)] = &[
    ("SECRET_KEY", "sk-Zm9vYmFyYmF6+cXV4/cXV1eA=="),
    ("DB_PASSWORD", "123456"),
    ("REDIS_PASSWORD", "redis-pass-of-mine"),
    ("PLUGIN_DAEMON_KEY", "plugin-daemon-key-of-mine"),
    ("PLUGIN_DIFY_INNER_API_KEY", "inner-api-key-of-mine"),
    ("CODE_EXECUTION_API_KEY", "sandbox-key-of-mine"),
    ("SANDBOX_API_KEY", "sandbox-key-of-mine"),
];

/// Must show: `--from-env` on a compose install's `.env` gives the same values in every Secret that
/// needs them (pairs too); what the file leaves empty or at a published default is generated; the
/// report names keys, never values.
#[test]
fn from_env_puts_the_compose_values_into_every_secret_that_needs_them() {
    let tmp = tempfile::tempdir().unwrap();
    let env = compose_install(tmp.path(), MINE);
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    let o = bin().arg("secrets").arg(&tree).arg("--from-env").arg(&env).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    for (_, value) in MINE {
        assert!(!said.contains(value), "a value was printed: {said}");
    }
    let taken =
        said.lines().find(|l| l.starts_with(&format!("from {}: ", env.display()))).unwrap_or_else(|| panic!("{said}"));
    for key in ["SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD", "PLUGIN_DAEMON_KEY", "CODE_EXECUTION_API_KEY"] {
        assert!(taken.contains(key), "{key}: {taken}");
    }
    let generated = said.lines().find(|l| l.starts_with("generated")).unwrap_or_else(|| panic!("{said}"));
    assert!(generated.contains("INIT_PASSWORD") && generated.contains("WEAVIATE_API_KEY"), "{generated}");
    let note = said.lines().find(|l| l.contains("empty, so they were generated")).unwrap_or_else(|| panic!("{said}"));
    assert!(note.contains("INIT_PASSWORD") && !note.contains("SECRET_KEY"), "{note}");

    // Every Secret the tree deploys, as kustomize builds it.
    let docs = render(&tree);
    let want: BTreeMap<&str, &str> = MINE.iter().copied().collect();
    let mut checked = 0;
    for secret in docs.iter().filter(|d| d["kind"] == "Secret") {
        let name = secret["metadata"]["name"].as_str().unwrap();
        for (key, value) in secret["stringData"].as_mapping().into_iter().flatten() {
            let (key, value) = (key.as_str().unwrap(), value.as_str().unwrap_or_else(|| panic!("{name} {key:?}")));
            let expected = match key {
                "POSTGRES_PASSWORD" | "DB_PASSWORD" => Some(want["DB_PASSWORD"]),
                "SERVER_KEY" | "PLUGIN_DAEMON_KEY" => Some(want["PLUGIN_DAEMON_KEY"]),
                "API_KEY" | "CODE_EXECUTION_API_KEY" => Some(want["CODE_EXECUTION_API_KEY"]),
                "SECRET_KEY" | "REDIS_PASSWORD" | "PLUGIN_DIFY_INNER_API_KEY" => Some(want[key]),
                "CELERY_BROKER_URL" => {
                    assert!(value.contains(":redis-pass-of-mine@"), "{name} {key}: the password in the URL");
                    None
                }
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(value, expected, "{name} {key}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "the keys were found in the Secrets ({checked})");
    let db = find(&docs, "Secret", "postgres-secret").expect("postgres' Secret");
    assert_eq!(db["stringData"]["POSTGRES_PASSWORD"].as_str(), Some("123456"), "a number-like password stays a string");

    // The same into the cluster with --apply.
    let cluster = tempfile::tempdir().unwrap();
    let external = tmp.path().join("external");
    crate::common::generated("1.14.1", &external, &["--secrets", "external"]);
    let o = bin()
        .arg("secrets")
        .arg(&external)
        .args(["--apply", "--kubectl"])
        .arg(kubectl())
        .arg("--from-env")
        .arg(&env)
        .env("FAKE_CLUSTER", cluster.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let live = in_cluster(cluster.path());
    assert_eq!(live["dify_postgres-secret"]["POSTGRES_PASSWORD"], "123456");
    assert_eq!(live["dify_api-secret"]["SECRET_KEY"], want["SECRET_KEY"]);
    assert_eq!(live["dify_plugin-daemon-secret"]["SERVER_KEY"], want["PLUGIN_DAEMON_KEY"]);
}

/// A broken `.env`, or a value that cannot go into a URL: file:line:col, exit 2, nothing written,
/// and no value in the message.
#[test]
fn from_env_refuses_bad_input_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[("SECRET_KEY", "\"unterminated-secret-value")], ":32:", "unterminated-secret-value"),
        (&[("REDIS_PASSWORD", "p@ss/word-of-mine")], ":99:16", "p@ss/word-of-mine"),
    ];
    for (changes, place, value) in cases {
        let dir = tempfile::tempdir().unwrap();
        let env = compose_install(dir.path(), changes);
        let o = bin().arg("secrets").arg(&tree).arg("--from-env").arg(&env).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{changes:?}: {}", text(&o));
        let said = text(&o);
        assert!(said.contains(&format!("{}{place}", env.display())), "{changes:?}: {said}");
        assert!(!said.contains(value), "{changes:?}: the value was printed: {said}");
        assert!(secret_files(&tree).is_empty(), "{changes:?}: nothing written");
    }
}

/// `--secrets sops --age R`: the kustomizations list secret.sops.yaml; `secrets --new` writes them
/// encrypted to R (no value in the clear), they decrypt with the same crates to paired values;
/// without an identity existing files are kept and a missing one is refused; with it, it is made
/// with the values the others hold.
#[test]
fn sops_files_are_encrypted_to_the_recipients_and_decrypt() {
    use age::secrecy::ExposeSecret;
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let key_file = tmp.path().join("keys.txt");
    std::fs::write(&key_file, format!("{}\n", id.to_string().expose_secret())).unwrap();
    let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(id)];
    let tree = tmp.path().join("k8s");
    generate("1.14.1", &tree, &["--secrets", "sops", "--age", &recipient]);
    let kustomization = std::fs::read_to_string(tree.join("services/api/kustomization.yaml")).unwrap();
    assert!(kustomization.contains("- secret.sops.yaml"), "{kustomization}");
    assert!(!tree.join("scripts/setup-secrets.sh").exists());
    let generated = std::fs::read_to_string(tree.join("GENERATED.md")).unwrap();
    assert!(generated.contains(&format!("--age {recipient}")), "the recipient is a recorded choice");

    let o = bin().arg("secrets").arg(&tree).arg("--new").env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let files: BTreeMap<String, Vec<u8>> =
        read_tree(&tree).into_iter().filter(|(p, _)| p.ends_with("/secret.sops.yaml")).collect();
    assert!(files.len() >= 5, "{:?}", files.keys());
    let mut plain = BTreeMap::new();
    for (path, bytes) in &files {
        let text = String::from_utf8(bytes.clone()).unwrap();
        let doc: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(doc["sops"]["age"][0]["recipient"].as_str(), Some(recipient.as_str()), "{path}");
        assert!(doc["sops"]["mac"].as_str().unwrap().starts_with("ENC[AES256_GCM,data:"), "{path}");
        for (key, value) in doc["stringData"].as_mapping().unwrap() {
            let value = value.as_str().unwrap();
            assert!(value.is_empty() || value.starts_with("ENC[AES256_GCM,data:"), "{path} {key:?} in the clear");
        }
        let decrypted = compose2dify::commands::sops::decrypt(&text, &ids).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc: Value = yaml_serde::from_str(&decrypted).unwrap();
        assert!(!decrypted.contains("sops:"), "{path}");
        // Every value is filled; the max-length annotation, outside the encrypted data, still
        // names placeholders rather than holding a value in the clear.
        for (key, value) in doc["stringData"].as_mapping().unwrap() {
            assert!(!value.as_str().unwrap_or_default().contains("CHANGE_ME"), "{path} {key:?} unfilled");
        }
        let limits = doc["metadata"]["annotations"]["compose2dify.io/max-length"].as_str();
        assert!(limits.is_none_or(|l| l.starts_with("CHANGE_ME_") && text.contains(l)), "{path}: {limits:?}");
        plain.insert(path.clone(), doc);
    }
    let db = &plain["base/secret.sops.yaml"]["stringData"]["DB_PASSWORD"];
    assert_eq!(db.as_str().unwrap().len(), 48);
    assert_eq!(&plain["services/postgres/secret.sops.yaml"]["stringData"]["POSTGRES_PASSWORD"], db, "paired");
    // kustomize builds the tree with the encrypted Secrets in it (Flux decrypts them after).
    let docs = render(&tree);
    assert!(docs.iter().filter(|d| d["kind"] == "Secret").all(|d| d["sops"]["mac"].is_string()));

    // Without an identity: complete files are kept byte for byte; a missing one is refused.
    let o = bin().arg("secrets").arg(&tree).env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let web = tree.join("services/web/secret.sops.yaml");
    std::fs::remove_file(tree.join("services/api/secret.sops.yaml")).unwrap();
    std::fs::remove_file(tree.join("base/secret.sops.yaml")).unwrap();
    let o = bin().arg("secrets").arg(&tree).env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--age-identity"), "{}", text(&o));
    assert!(!tree.join("services/api/secret.sops.yaml").exists());
    assert_eq!(std::fs::read(&web).unwrap(), files["services/web/secret.sops.yaml"], "kept as it was");

    // With it (SOPS_AGE_KEY_FILE): made again with the values the others hold.
    let o = bin().arg("secrets").arg(&tree).env("SOPS_AGE_KEY_FILE", &key_file).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let api = std::fs::read_to_string(tree.join("services/api/secret.sops.yaml")).unwrap();
    let api: Value = yaml_serde::from_str(&compose2dify::commands::sops::decrypt(&api, &ids).unwrap()).unwrap();
    let websocket = &plain["services/api-websocket/secret.sops.yaml"]["stringData"];
    assert_eq!(api["stringData"]["SECRET_KEY"], websocket["SECRET_KEY"], "the value api-websocket's file holds");
    let base = std::fs::read_to_string(tree.join("base/secret.sops.yaml")).unwrap();
    let base: Value = yaml_serde::from_str(&compose2dify::commands::sops::decrypt(&base, &ids).unwrap()).unwrap();
    assert_eq!(&base["stringData"]["DB_PASSWORD"], db, "the value the postgres file holds");

    // A wrong identity file is refused.
    std::fs::write(tmp.path().join("bad.txt"), "not a key\n").unwrap();
    let o = bin().arg("secrets").arg(&tree).arg("--age-identity").arg(tmp.path().join("bad.txt")).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn bad_sops_choices_are_refused_and_nothing_is_written() {
    let cases: &[(&[&str], &str)] = &[
        (&["--secrets", "sops"], "needs the age recipients"),
        (&["--secrets", "sops", "--age", "age1notakey"], "is not an age recipient"),
        (&["--age", "age1qwwzsz6z2mmu6hpmjt2he7nepmnhutmhehvkva7l5zy5xzf08d5s5n4d6n"], "only read with --secrets sops"),
    ];
    for (args, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(*args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o).contains(expect), "{args:?}: {}", text(&o));
        assert!(!out.exists(), "{args:?}: nothing written");
    }
}

/// A files-mode tree stays one when its GENERATED.md is made to say sops (a forged commit): the
/// secrets are not encrypted to a recipient the kustomizations do not use.
#[test]
fn a_forged_sops_record_does_not_encrypt_to_its_recipient() {
    let tmp = tempfile::tempdir().unwrap();
    let attacker = age::x25519::Identity::generate().to_public().to_string();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    let generated = tree.join("GENERATED.md");
    let record = std::fs::read_to_string(&generated).unwrap();
    let forged = record.replacen("```choices\n", &format!("```choices\n--secrets sops\n--age {attacker}\n"), 1);
    std::fs::write(&generated, forged).unwrap();
    let o = bin().arg("secrets").arg(&tree).arg("--new").env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(&attacker), "{}", text(&o));
    let files = read_tree(&tree);
    assert!(files.keys().any(|p| p == "base/secret.yaml"), "the files the kustomizations list");
    assert!(!files.keys().any(|p| p.ends_with("secret.sops.yaml")), "{:?}", files.keys());
}

/// Only the templates the tool wrote are read, and only in the tree's namespace: a template added
/// by hand (or a forged one) never makes `--from-cluster` read another namespace's Secret.
#[test]
fn secrets_reads_only_its_own_templates_in_its_own_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &[]);
    let extra = tree.join("services/zz-monitoring");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("secret.yaml.example"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud-creds\n  namespace: kube-system\nstringData:\n  KEY: CHANGE_ME_KEY\n",
    )
    .unwrap();
    let o = bin().arg("secrets").arg(&tree).arg("--new").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!extra.join("secret.yaml").exists(), "a template the tool did not write is not read");

    // A template of the tool's own that names another namespace is refused.
    let web = tree.join("services/web/secret.yaml.example");
    let t = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, t.replace("namespace: dify", "namespace: kube-system")).unwrap();
    let o = bin().arg("secrets").arg(&tree).arg("--from-cluster").arg("--kubectl").arg(kubectl()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("kube-system"), "{}", text(&o));
}

/// Moving a files-mode tree to sops keeps the values of its secret.yaml files; a recipient added
/// later seals every file again (with an identity), or is said (without one).
#[test]
fn moving_to_sops_keeps_the_values_and_a_new_recipient_is_sealed_in() {
    use age::secrecy::ExposeSecret;
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    made("1.14.1", &[]).write_filled(&tree);
    let db = secret_files(&tree)["base/secret.yaml"]["DB_PASSWORD"].clone();
    let one = age::x25519::Identity::generate();
    let two = age::x25519::Identity::generate();
    let key_file = tmp.path().join("one.txt");
    std::fs::write(&key_file, format!("{}\n", one.to_string().expose_secret())).unwrap();
    let (r1, r2) = (one.to_public().to_string(), two.to_public().to_string());
    generate("1.14.1", &tree, &["--secrets", "sops", "--age", &r1]);
    let o = bin().arg("secrets").arg(&tree).env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("encrypted to the age recipients {}", tree.join("GENERATED.md").display())),
        "{}",
        text(&o)
    );
    let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(one)];
    let base = std::fs::read_to_string(tree.join("base/secret.sops.yaml")).unwrap();
    let base: Value = yaml_serde::from_str(&compose2dify::commands::sops::decrypt(&base, &ids).unwrap()).unwrap();
    assert_eq!(base["stringData"]["DB_PASSWORD"].as_str(), Some(db.as_str()), "the value in use");

    generate("1.14.1", &tree, &["--age", &r2]);
    let o = bin().arg("secrets").arg(&tree).env_remove("SOPS_AGE_KEY_FILE").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("encrypted to other age recipients"), "{}", text(&o));
    let o = bin().arg("secrets").arg(&tree).arg("--age-identity").arg(&key_file).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(two)];
    let base = std::fs::read_to_string(tree.join("base/secret.sops.yaml")).unwrap();
    let base: Value =
        yaml_serde::from_str(&compose2dify::commands::sops::decrypt(&base, &ids).expect("the new recipient reads it"))
            .unwrap();
    assert_eq!(base["stringData"]["DB_PASSWORD"].as_str(), Some(db.as_str()));
}

/// On an external tree, `--apply` cuts a generated value to its template's length limit as the
/// files do (Dify's INIT_PASSWORD takes at most 30 characters), and `--new`, which would write files
/// no kustomization uses, is refused with the command to run instead.
#[test]
fn an_external_tree_applies_short_values_and_refuses_files() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("k8s");
    generated("1.14.1", &tree, &["--secrets", "external"]);
    let o = secrets(&tree, &["--new"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--apply"), "{}", text(&o));
    assert!(!read_tree(&tree).keys().any(|p| p.ends_with("/secret.yaml")), "nothing written");

    let store = tmp.path().join("cluster");
    std::fs::create_dir_all(&store).unwrap();
    let o = secrets(&tree, &["--apply", "--kubectl", kubectl().to_str().unwrap()], &store);
    assert!(o.status.success(), "{}", text(&o));
    let init: Vec<String> = in_cluster(&store).values().filter_map(|s| s.get("INIT_PASSWORD").cloned()).collect();
    assert!(!init.is_empty(), "{:?}", in_cluster(&store).keys());
    assert!(init.iter().all(|v| !v.is_empty() && v.len() <= 30), "{init:?}");
}
