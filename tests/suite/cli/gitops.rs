//! GitOps: a tree that a fresh clone can deploy (`--secrets external` and `external-secrets`),
//! Secrets made in the cluster without losing a value on upgrade, and refusals of bad choices.

use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

fn fresh(release: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated(release, &out, extra);
    (dir, out)
}

const STORE: &[&str] =
    &["--secrets", "external-secrets", "--secret-store", "vault", "--secret-store-kind", "ClusterSecretStore"];

/// A fresh tree builds as it is, with no local step, and passes strict validation (the
/// ExternalSecrets against external-secrets' own CRD schema), for every vendored release.
#[test]
fn a_fresh_tree_builds_without_local_steps_in_both_modes() {
    let mut trees = Vec::new();
    for release in RELEASES {
        for mode in [&["--secrets", "external"][..], STORE] {
            let (keep, out) = fresh(release, mode);
            let made = made(release, mode);
            let files = read_tree(&out);
            assert!(!files.keys().any(|f| f.ends_with("/secret.yaml")), "{release} {mode:?}: no secret.yaml");
            assert!(!files.contains_key("scripts/setup-secrets.sh"), "{release} {mode:?}: nothing to fill");
            let docs = made.docs(); // kubectl kustomize, nothing run before it (there is no script)
            assert!(!docs.iter().any(|d| d["kind"] == "Secret"), "{release} {mode:?}: no secret data in the tree");
            let external = docs.iter().filter(|d| d["kind"] == "ExternalSecret").count();
            if mode == STORE {
                assert_eq!(external, files.keys().filter(|f| f.ends_with("external-secret.yaml")).count());
                assert!(external >= 3, "{release}: one per Secret ({external})");
            } else {
                assert_eq!(external, 0);
            }
            trees.push((keep, out));
        }
    }
    validate_k8s_all(&trees.iter().map(|(_, out)| out.as_path()).collect::<Vec<_>>(), &["--k8s", "1.29,1.37"]);
}

/// Every workload's secret settings come from the Secret its ExternalSecret makes, and keys that
/// must agree read one remote key.
#[test]
fn external_secrets_name_what_the_pods_read_and_share_paired_keys() {
    let docs = rendered("1.14.1", STORE);
    let targets: Vec<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "ExternalSecret")
        .map(|d| d["spec"]["target"]["name"].as_str().unwrap())
        .collect();
    for d in docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))) {
        for from in d["spec"]["template"]["spec"]["containers"][0]["envFrom"].as_sequence().into_iter().flatten() {
            if let Some(name) = from["secretRef"]["name"].as_str() {
                assert!(
                    targets.contains(&name),
                    "{:?} reads {name}, which no ExternalSecret makes",
                    d["metadata"]["name"]
                );
            }
        }
    }
    let remote = |secret: &str, key: &str| -> String {
        let es = get(docs, "ExternalSecret", secret);
        let template = es["spec"]["target"]["template"]["data"][key].as_str().unwrap().to_string();
        let var = template.trim_start_matches("{{ .").trim_end_matches(" }}").to_string();
        let data = es["spec"]["data"].as_sequence().unwrap();
        let entry = data.iter().find(|d| d["secretKey"] == var.as_str()).unwrap_or_else(|| panic!("{secret} {key}"));
        entry["remoteRef"]["key"].as_str().unwrap().to_string()
    };
    // The sandbox's key is the api's (CODE_EXECUTION_API_KEY lives in the api's own Secret: the
    // plugin daemon, which shares dify-secret, does not read it).
    assert_eq!(remote("sandbox-secret", "API_KEY"), remote("api-secret", "CODE_EXECUTION_API_KEY"));
    assert_eq!(remote("postgres-secret", "POSTGRES_PASSWORD"), remote("dify-secret", "DB_PASSWORD"));
    assert!(remote("dify-secret", "DB_PASSWORD").starts_with("dify/"));
}

#[test]
fn external_secret_objects_of_1_14_1() {
    let (_keep, out) = fresh("1.14.1", STORE);
    let all: String = read_tree(&out)
        .into_iter()
        .filter(|(f, _)| f.ends_with("external-secret.yaml"))
        .map(|(f, bytes)| format!("=== {f}\n{}", String::from_utf8(bytes).unwrap()))
        .collect();
    insta::assert_snapshot!("external-secrets-1.14.1", all);
}

fn cluster() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let kubectl = fake_kubectl();
    (dir, kubectl)
}

fn apply(tree: &Path, store: &Path, kubectl: &Path) -> String {
    let o = bin()
        .args(["secrets", "--apply", "--kubectl"])
        .arg(kubectl)
        .arg(tree)
        .env("FAKE_CLUSTER", store)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `compose2dify secrets DIR --apply` makes every Secret the tree names, with paired values; run
/// again it changes nothing; after an upgrade it adds the new keys and keeps every value; no value
/// is ever on kubectl's command line.
#[test]
fn secrets_apply_makes_and_completes_the_cluster_secrets() {
    let (store, kubectl) = cluster();
    let (_keep, out) = fresh("1.8.0", &["--secrets", "external"]);
    let first = apply(&out, store.path(), &kubectl);
    assert!(first.contains("created secret dify/dify-secret"), "{first}");
    let before = in_cluster(store.path());
    assert_eq!(before["dify_sandbox-secret"]["API_KEY"], before["dify_api-secret"]["CODE_EXECUTION_API_KEY"]);
    assert_eq!(before["dify_postgres-secret"]["POSTGRES_PASSWORD"], before["dify_dify-secret"]["DB_PASSWORD"]);
    assert_eq!(before["dify_dify-secret"]["DB_PASSWORD"].len(), 48);

    let again = apply(&out, store.path(), &kubectl);
    assert!(!again.contains("created") && !again.contains("added"), "{again}");
    assert_eq!(in_cluster(store.path()), before);

    generate("1.14.1", &out, &["--secrets", "external"]);
    let upgrade = apply(&out, store.path(), &kubectl);
    assert!(upgrade.contains("added   secret dify/web-secret:"), "{upgrade}");
    let after = in_cluster(store.path());
    for (secret, data) in &before {
        for (key, value) in data {
            assert_eq!(after[secret].get(key), Some(value), "{secret} {key} changed");
        }
    }
    for (path, bytes) in read_tree(&out).into_iter().filter(|(p, _)| p.ends_with(".example")) {
        let doc: Value = yaml_serde::from_slice(&bytes).unwrap();
        let name = format!("dify_{}", doc["metadata"]["name"].as_str().unwrap());
        for (key, _) in doc["stringData"].as_mapping().into_iter().flatten() {
            assert!(after[&name].contains_key(key.as_str().unwrap()), "{path}: {key:?} missing in the cluster");
        }
    }
    let calls = std::fs::read_to_string(store.path().join("calls")).unwrap();
    for value in after.values().flat_map(|d| d.values()).filter(|v| v.len() >= 16) {
        assert!(!calls.contains(value.as_str()), "a secret value on kubectl's command line");
    }
}

#[test]
fn bad_secret_choices_are_refused_and_nothing_is_written() {
    let cases: &[(&[&str], &str)] = &[
        (&["--secrets", "external-secrets"], "needs the store"),
        (&["--secrets", "external-secrets", "--secret-store", "My_Vault"], "not a DNS label"),
        (&["--secrets", "vault"], "invalid value 'vault'"),
        (&["--secret-store", "vault"], "only read with --secrets external-secrets"),
        (
            &["--secrets", "external-secrets", "--secret-store", "v", "--secret-store-kind", "Vault"],
            "invalid value 'Vault'",
        ),
    ];
    for (args, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(*args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(expect),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!out.exists(), "{args:?}: nothing written");
    }
    let o = bin().args(["secrets", "--apply", "--kubectl", "/nonexistent/kubectl"]).arg(repo()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Switching modes rewrites only the tool's files: a user's secret.yaml stays, and `--check` and
/// byte-stability hold in every mode.
#[test]
fn switching_modes_keeps_the_users_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    made("1.14.1", &[]).write_filled(&out);
    let mine = std::fs::read(out.join("base/secret.yaml")).unwrap();
    for mode in [&["--secrets", "external"][..], STORE, &["--secrets", "files"][..]] {
        let stderr = generate("1.14.1", &out, mode);
        assert!(!stderr.lines().any(|l| l == "removed base/secret.yaml"), "{stderr}");
        assert_eq!(std::fs::read(out.join("base/secret.yaml")).unwrap(), mine, "{mode:?}");
        let check = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(mode).arg("--check").output().unwrap();
        assert_eq!(check.status.code(), Some(0), "{mode:?}: {}", String::from_utf8_lossy(&check.stdout));
    }
}

/// The tree's guide lists what the operator must provide: every remote key of every ExternalSecret,
/// and in `external` mode every Secret and key with the command that makes them.
#[test]
fn the_guide_lists_every_remote_key_and_every_secret() {
    let (_keep, out) = fresh("1.14.1", STORE);
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    let docs = render(&out);
    let mut count = 0;
    for es in docs.iter().filter(|d| d["kind"] == "ExternalSecret") {
        // A Secret of empty values only (web's) has no remote key.
        for data in es["spec"]["data"].as_sequence().into_iter().flatten() {
            let key = data["remoteRef"]["key"].as_str().unwrap();
            assert!(readme.contains(&format!("| `{key}` |")), "README lacks the remote key {key}");
            count += 1;
        }
    }
    assert!(count > 10);
    assert!(readme.contains("ClusterSecretStore `vault`"), "names the store");

    let (_keep, out) = fresh("1.14.1", &["--secrets", "external"]);
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("compose2dify secrets . --apply"));
    assert!(!readme.contains("setup-secrets.sh"), "no script in this mode");
    for (path, bytes) in read_tree(&out).into_iter().filter(|(p, _)| p.ends_with(".example")) {
        let doc: Value = yaml_serde::from_slice(&bytes).unwrap();
        let name = doc["metadata"]["name"].as_str().unwrap();
        for (key, value) in doc["stringData"].as_mapping().into_iter().flatten() {
            if value.as_str().is_some_and(|v| v.contains("CHANGE_ME_")) {
                let row = format!("| `{name}` | `{}` |", key.as_str().unwrap());
                assert!(readme.contains(&row), "{path}: README lacks {row}");
            }
        }
    }
}

/// `upgrade` makes the new release's tree with exactly the choices the old one recorded: the same
/// bytes as typing every flag again.
#[test]
fn upgrade_repeats_every_recorded_choice() {
    let flags =
        ["--secrets", "external", "--expose", "ClusterIP", "--set", "NGINX_CLIENT_MAX_BODY_SIZE=200M", "--lang", "ja"];
    let (_keep, out) = fresh("1.8.0", &flags);
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    assert!(generated.contains("```choices\n--set 'NGINX_CLIENT_MAX_BODY_SIZE=200M'\n"), "{generated}");
    let o = bin().arg("upgrade").arg(&out).arg(compose("1.14.1")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_keep2, direct) = fresh("1.14.1", &flags);
    assert_eq!(read_tree(&out), read_tree(&direct), "upgrade = the same flags typed again");
    let check = bin().arg("upgrade").arg(&out).arg(compose("1.14.1")).arg("--check").output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stdout));
}

#[test]
fn upgrade_refuses_a_choice_that_no_longer_applies() {
    let (_keep, out) = fresh("1.14.1", &["--set", "NGINX_PORT=8080"]);
    let generated = out.join("GENERATED.md");
    let text = std::fs::read_to_string(&generated).unwrap();
    let before = read_tree(&out);
    for (line, expect) in [
        ("--set 'NO_SUCH_SETTING=1'", "NO_SUCH_SETTING"),
        ("--external nosuch", "nosuch"),
        ("--no-such-flag", "not a flag"),
    ] {
        std::fs::write(&generated, text.replace("--set 'NGINX_PORT=8080'", line)).unwrap();
        let o = bin().arg("upgrade").arg(&out).arg(compose("1.14.1")).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{line}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(expect), "{line}: {}", String::from_utf8_lossy(&o.stderr));
        let mut now = read_tree(&out);
        now.remove("GENERATED.md");
        let mut was = before.clone();
        was.remove("GENERATED.md");
        assert_eq!(now, was, "{line}: nothing written");
    }
    std::fs::write(&generated, "# an old tree\n").unwrap();
    let o = bin().arg("upgrade").arg(&out).arg(compose("1.14.1")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("records no choices"));
}

/// An operator's `.env` beside 1.8.0 moves to 1.14.1: the settings they changed keep their values
/// (quotes and all), everything else is 1.14.1's `.env.example`, and the report names both.
#[test]
fn carry_env_keeps_the_operators_settings_and_upstreams_new_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = |release: &str| {
        let to = tmp.path().join(release);
        let o = std::process::Command::new("cp")
            .arg("-R")
            .arg(repo().join(format!("compose/dify-{release}")))
            .arg(&to)
            .output()
            .unwrap();
        assert!(o.status.success());
        to
    };
    let (old, new) = (copy("1.8.0"), copy("1.14.1"));
    let example = std::fs::read_to_string(old.join(".env.example")).unwrap();
    assert!(example.contains("\nNGINX_CLIENT_MAX_BODY_SIZE=100M\n"));
    let mine = example.replace("\nNGINX_CLIENT_MAX_BODY_SIZE=100M\n", "\nNGINX_CLIENT_MAX_BODY_SIZE=\"500M\"\n")
        + "MY_OWN_SETTING=kept\n";
    std::fs::write(old.join(".env"), &mine).unwrap();
    let o = bin()
        .arg("carry-env")
        .arg(old.join("docker-compose.yaml"))
        .arg(new.join("docker-compose.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(report.contains("kept your value: `NGINX_CLIENT_MAX_BODY_SIZE`"), "{report}");
    assert!(report.contains("`MY_OWN_SETTING`") && report.contains("added by this release"), "{report}");
    let carried = std::fs::read_to_string(new.join(".env")).unwrap();
    let upstream = std::fs::read_to_string(new.join(".env.example")).unwrap();
    assert!(carried.contains("\nNGINX_CLIENT_MAX_BODY_SIZE=\"500M\"\n"), "the operator's line as written");
    assert!(carried.ends_with("MY_OWN_SETTING=kept\n"));
    let differing: Vec<(&str, &str)> = carried.lines().zip(upstream.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(differing.len(), 1, "only the changed setting differs from 1.14.1's example: {differing:?}");
    // The new tree is made from it.
    let out = tmp.path().join("k8s");
    let g = bin().arg(new.join("docker-compose.yaml")).arg("-o").arg(&out).output().unwrap();
    assert!(g.status.success());
    assert!(std::fs::read_to_string(out.join("services/nginx/configmap.yaml")).unwrap().contains("500M"));
    // Never over an existing file.
    let again = bin()
        .arg("carry-env")
        .arg(old.join("docker-compose.yaml"))
        .arg(new.join("docker-compose.yaml"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(new.join(".env")).unwrap(), carried);
}
