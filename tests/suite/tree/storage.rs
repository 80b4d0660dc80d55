//! Storage that works on a real cluster (issue 12): Deployments with a ReadWriteOnce claim roll out
//! with `Recreate`, claims take the classes the operator chose (the cluster's default otherwise, and
//! a warning for ReadWriteMany), the namespace and every claim are kept from GitOps pruning, and the
//! tree's README states claims, their users, backup and removal as the plan has them.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use yaml_serde::Value;

/// Releases whose trees these tests judge: every vendored one.
fn releases() -> &'static [&'static str] {
    RELEASES
}

fn workloads(docs: &[Value]) -> impl Iterator<Item = &Value> {
    docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
}

fn named(obj: &Value) -> String {
    format!("{}/{}", obj["kind"].as_str().unwrap_or("?"), obj["metadata"]["name"].as_str().unwrap_or("?"))
}

/// The claims a pod template mounts by name (PVC volumes).
fn mounted_claims(obj: &Value) -> Vec<String> {
    obj["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str().map(str::to_string))
        .collect()
}

/// Every claim of the tree: standalone PVCs and StatefulSet claim templates, with their owner.
fn claims(docs: &[Value]) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("PersistentVolumeClaim"))
        .map(|d| (d["metadata"]["name"].as_str().unwrap_or("?").to_string(), d))
        .collect();
    for sts in docs.iter().filter(|d| d["kind"].as_str() == Some("StatefulSet")) {
        for t in sts["spec"]["volumeClaimTemplates"].as_sequence().into_iter().flatten() {
            out.push((format!("{} of {}", t["metadata"]["name"].as_str().unwrap_or("?"), named(sts)), t));
        }
    }
    out
}

fn access_modes(claim: &Value) -> Vec<&str> {
    claim["spec"]["accessModes"].as_sequence().into_iter().flatten().filter_map(Value::as_str).collect()
}

#[test]
fn deployments_with_a_read_write_once_claim_are_recreated() {
    for release in releases() {
        let docs = rendered(release, &[]);
        let mut recreated = BTreeSet::new();
        for d in docs.iter().filter(|d| d["kind"].as_str() == Some("Deployment")) {
            let rwo = mounted_claims(d).iter().any(|c| {
                access_modes(get(docs, "PersistentVolumeClaim", c)).iter().any(|m| m.starts_with("ReadWriteOnce"))
            });
            let strategy = d["spec"]["strategy"]["type"].as_str();
            if rwo {
                assert_eq!(
                    strategy,
                    Some("Recreate"),
                    "{release} {}: a new pod could never attach the volume",
                    named(d)
                );
                recreated.insert(d["metadata"]["name"].as_str().unwrap_or("?").to_string());
            } else if d["metadata"]["name"] != "worker-beat" {
                // worker-beat is replaced with Recreate in every mode: two schedulers would queue
                // every periodic task twice (tree::operations).
                assert_ne!(
                    strategy,
                    Some("Recreate"),
                    "{release} {}: no ReadWriteOnce claim, rolling update",
                    named(d)
                );
            }
        }
        assert!(recreated.contains("sandbox"), "{release}: the sandbox mounts ReadWriteOnce claims: {recreated:?}");
        if release != &"0.15.3" {
            assert!(recreated.contains("plugin-daemon"), "{release}: {recreated:?}");
        }
    }
}

#[test]
fn generic_preset_recreates_a_deployment_with_a_named_volume() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  app:\n    image: nginx:1.27\n    volumes: [data:/data]\n  web:\n    image: nginx:1.27\nvolumes:\n  data: {}\n",
    )
    .unwrap();
    let out = dir.path().join("k8s");
    let o =
        bin().arg(dir.path().join("compose.yaml")).arg("-o").arg(&out).args(["--preset", "generic"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let app: Value =
        yaml_serde::from_str(&std::fs::read_to_string(out.join("services/app/deployment.yaml")).unwrap()).unwrap();
    assert_eq!(app["spec"]["strategy"]["type"].as_str(), Some("Recreate"));
    let web: Value =
        yaml_serde::from_str(&std::fs::read_to_string(out.join("services/web/deployment.yaml")).unwrap()).unwrap();
    assert!(web["spec"]["strategy"].is_null());
}

#[test]
fn claims_use_the_chosen_storage_classes() {
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        // No flags: the cluster's default class everywhere, and a warning for the ReadWriteMany claim.
        let made_default = made(release, &[]);
        for (n, c) in claims(made_default.docs()) {
            assert!(c["spec"]["storageClassName"].is_null(), "{release} {n}: the cluster's default class");
        }
        let stderr = &made_default.stderr;
        assert!(
            stderr.contains("warning: the ReadWriteMany claim(s) dify-storage")
                && stderr.contains("--rwx-storage-class"),
            "{release}: {stderr}"
        );

        // Both flags: every ReadWriteOnce claim and template one class, the ReadWriteMany claim the other.
        let flags = ["--storage-class", "gp3", "--rwx-storage-class", "efs-sc"];
        let chosen = made(release, &flags);
        assert!(!chosen.stderr.contains("ReadWriteMany claim"), "{release}: chosen, no warning: {}", chosen.stderr);
        let mut seen = BTreeMap::new();
        for (n, c) in claims(chosen.docs()) {
            let want = if access_modes(c).contains(&"ReadWriteMany") { "efs-sc" } else { "gp3" };
            assert_eq!(c["spec"]["storageClassName"].as_str(), Some(want), "{release} {n}");
            *seen.entry(want).or_insert(0) += 1;
        }
        assert_eq!(seen.get("efs-sc"), Some(&1), "{release}: dify-storage");
        assert!(seen.get("gp3").is_some_and(|n| *n >= 3), "{release}: {seen:?}");

        // Empty names: the cluster's default, chosen on purpose (no warning).
        let empty = made(release, &["--storage-class", "", "--rwx-storage-class", ""]);
        assert!(!empty.stderr.contains("ReadWriteMany claim"), "{release}: {}", empty.stderr);
        let pvc = empty.text("base/pvc.yaml");
        assert!(!pvc.contains("storageClassName"), "{release}: {pvc}");

        // Object storage: no ReadWriteMany claim, nothing to choose.
        let s3 = made(release, &["--set", "STORAGE_TYPE=s3"]);
        assert!(!s3.stderr.contains("ReadWriteMany claim"), "{release}: {}", s3.stderr);
        assert!(!s3.files.contains_key("base/pvc.yaml"), "{release}");
    }
}

#[test]
fn bad_storage_class_names_are_refused() {
    for (flag, value) in [
        ("--storage-class", "Standard"),
        ("--storage-class", "gp3 "),
        ("--rwx-storage-class", "efs_sc"),
        ("--rwx-storage-class", "-nfs"),
        ("--storage-class", "a..b"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        // `--flag=value`, so that a value starting with `-` reaches the check.
        let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).arg(format!("{flag}={value}")).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value:?}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains("not a StorageClass name"), "{stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "one message: {stderr}");
        assert!(!out.exists(), "nothing written");
    }
}

#[test]
fn namespace_and_every_claim_are_kept_from_gitops_pruning() {
    let want = [
        ("argocd.argoproj.io/sync-options", "Prune=false,Delete=false"),
        ("kustomize.toolkit.fluxcd.io/prune", "disabled"),
    ];
    for release in releases() {
        let docs = rendered(release, &[]);
        let ns = docs.iter().find(|d| d["kind"].as_str() == Some("Namespace")).expect("a Namespace");
        let mut kept: Vec<(String, &Value)> = vec![("Namespace".into(), ns)];
        kept.extend(claims(docs));
        assert!(kept.len() >= 5, "{release}: namespace and claims");
        for (n, obj) in kept {
            for (k, v) in want {
                assert_eq!(obj["metadata"]["annotations"][k].as_str(), Some(v), "{release} {n}: {k}");
            }
        }
    }
}

/// The rows of the README's table under `## Storage`: claim → (class, users).
fn storage_table(readme: &str) -> BTreeMap<String, (String, String)> {
    let section = readme.split("\n## Storage\n").nth(1).expect("a Storage section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), (cells[3].to_string(), cells[4].to_string()))
        })
        .collect()
}

#[test]
fn readme_states_claims_users_backup_and_removal_from_the_plan() {
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let gp3 = made(release, &["--storage-class", "gp3"]);
        let (docs, readme) = (gp3.docs(), gp3.text("README.md"));
        let table = storage_table(readme);

        // Every standalone claim is listed with exactly the workloads that mount it, and its class.
        for pvc in docs.iter().filter(|d| d["kind"].as_str() == Some("PersistentVolumeClaim")) {
            let name = pvc["metadata"]["name"].as_str().unwrap();
            let (class, users) = table.get(name).unwrap_or_else(|| panic!("{release}: {name} not in {table:?}"));
            let mounters: BTreeSet<String> = workloads(docs)
                .filter(|w| mounted_claims(w).iter().any(|c| c == name))
                .map(|w| w["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
            assert!(!mounters.is_empty(), "{release}: {name} is mounted");
            let listed: BTreeSet<String> =
                users.split(", ").map(|u| u.split(" (").next().unwrap_or(u).to_string()).collect();
            assert_eq!(listed, mounters, "{release}: who mounts {name}");
            let want = pvc["spec"]["storageClassName"].as_str().map(|c| format!("`{c}`"));
            assert_eq!(Some(class.clone()), want.or(Some("cluster default".into())), "{release}: {name} class");
        }
        // dify-storage holds users' uploads: api and worker mount it, and the backup archives it.
        assert!(table["dify-storage"].1.contains("api (`/app/api/storage`)"), "{release}: {:?}", table["dify-storage"]);
        let backup = readme.split("\n## Backup\n").nth(1).unwrap().split("\n## ").next().unwrap();
        assert!(backup.contains("tar czf - -C /app/api/storage . > dify-storage.tar.gz"), "{release}: {backup}");
        assert!(backup.contains("tar xzf - -C /app/api/storage < dify-storage.tar.gz"), "{release}: restore");
        // Every claim that holds data is covered: by tar through a pod that mounts it, or by the
        // database's, Redis's or the vector store's own section.
        for w in workloads(docs) {
            let n = w["metadata"]["name"].as_str().unwrap();
            let role = w["metadata"]["labels"]["app.kubernetes.io/component"].as_str().unwrap_or("");
            for claim in mounted_claims(w) {
                assert!(backup.contains(&format!("> {claim}.tar.gz")), "{release}: {n}'s {claim} has no backup");
            }
            if w["kind"].as_str() == Some("StatefulSet") {
                let covered = match role {
                    "postgres" => backup.contains("pg_dumpall"),
                    "redis" => backup.contains("BGSAVE"),
                    "vector-store" => backup.contains(&format!("`{n}`")),
                    _ => backup.contains(&format!("{n}-0 -- tar czf")),
                };
                assert!(covered, "{release}: {n}'s claims have no backup");
            }
        }

        // Every flag the README names exists.
        let help = bin().arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout).to_string();
        for flag in ["--storage-class", "--rwx-storage-class"] {
            assert!(readme.contains(&format!("`{flag} ")), "{release}: README points to {flag}");
            assert!(help.contains(&format!("{flag} <NAME>")), "{flag} exists");
        }
        assert!(readme.contains("--set STORAGE_TYPE=s3"), "{release}: object storage needs no RWX class");

        // A plain warning comes before the first command that deletes the tree, and the guide
        // shows how to remove the application but keep the data.
        let first_delete = readme.find("kubectl delete -k").expect("the guide says how to delete");
        let warning = readme.find("⚠️ `kubectl delete -k .` deletes").expect("a warning");
        assert!(warning <= first_delete, "{release}: the warning comes first");
        let removing = readme.split("\n## Removing Dify\n").nth(1).expect("a Removing Dify section");
        let keep = removing.lines().find(|l| l.starts_with("kubectl delete -n dify ")).expect("keep-data command");
        for kind in ["deployments", "statefulsets", "jobs"] {
            assert!(keep.contains(kind), "{keep}");
        }
        for never in ["namespace", "pvc", "persistentvolumeclaim", "secret", "configmap"] {
            assert!(!keep.contains(never), "{release}: keep-data deletes no {never}: {keep}");
        }
        assert!(removing.rfind("kubectl delete -k .").unwrap() > removing.find(keep).unwrap(), "keep-data first");
    }
}

#[test]
fn readme_asks_for_a_read_write_many_class_in_the_first_steps() {
    let readme = made("1.14.1", &[]).text("README.md");
    let prereq = readme.split("### 1. Prerequisites").nth(1).unwrap().split("### 2.").next().unwrap();
    assert!(prereq.contains("chosen by you") && prereq.contains("--rwx-storage-class NAME"), "{prereq}");
    assert!(prereq.contains("--storage-class NAME") && prereq.contains("`(default)`"), "{prereq}");
    assert!(prereq.contains("--set STORAGE_TYPE=s3"), "{prereq}");

    let readme = made("1.14.1", &["--rwx-storage-class", "efs-sc", "--lang", "ja"]).text("README.md");
    assert!(readme.contains("StorageClass `efs-sc`"), "the chosen class is named");
    assert!(!readme.contains("選んでください"), "nothing left to choose");
}
