//! The main job as a user runs it: generate, set up secrets, render with kubectl, and check every
//! row of SPEC.md's workload table in the rendered objects.

use crate::common::*;
use yaml_serde::Value;

struct Row {
    folder: &'static str,
    kind: &'static str,
    replicas: i64,
    ports: &'static [i64],
    /// Liveness probe kind.
    probe: &'static str,
    /// Readiness probe kind (postgres and redis: their own client, issue 12).
    ready: &'static str,
    /// (claim name, size, access mode)
    claims: &'static [(&'static str, &'static str, &'static str)],
}

const TABLE: &[Row] = &[
    Row {
        folder: "postgres",
        kind: "StatefulSet",
        replicas: 1,
        ports: &[5432],
        probe: "TCP",
        ready: "Exec",
        claims: &[("data", "10Gi", "ReadWriteOnce")],
    },
    Row {
        folder: "redis",
        kind: "StatefulSet",
        replicas: 1,
        ports: &[6379],
        probe: "TCP",
        ready: "Exec",
        claims: &[("data", "5Gi", "ReadWriteOnce")],
    },
    Row { folder: "api", kind: "Deployment", replicas: 1, ports: &[5001], probe: "HTTP", ready: "HTTP", claims: &[] },
    Row { folder: "worker", kind: "Deployment", replicas: 1, ports: &[], probe: "Exec", ready: "Exec", claims: &[] },
    Row { folder: "web", kind: "Deployment", replicas: 2, ports: &[3000], probe: "HTTP", ready: "HTTP", claims: &[] },
    Row {
        folder: "sandbox",
        kind: "Deployment",
        replicas: 1,
        ports: &[8194],
        probe: "HTTP",
        ready: "HTTP",
        claims: &[("sandbox-dependencies", "5Gi", "ReadWriteOnce"), ("sandbox-conf", "1Gi", "ReadWriteOnce")],
    },
    Row {
        folder: "plugin-daemon",
        kind: "Deployment",
        replicas: 1,
        ports: &[5002, 5003],
        probe: "Exec",
        ready: "Exec",
        claims: &[("plugin-storage", "10Gi", "ReadWriteOnce")],
    },
    Row {
        folder: "ssrf-proxy",
        kind: "Deployment",
        replicas: 1,
        ports: &[3128, 8194],
        probe: "TCP",
        ready: "TCP",
        claims: &[],
    },
    Row {
        folder: "nginx",
        kind: "Deployment",
        replicas: 2,
        ports: &[80, 443],
        probe: "HTTP",
        ready: "HTTP",
        claims: &[],
    },
];

fn claim_of(docs: &[Value], workload: &Value, name: &str) -> Value {
    // A StatefulSet's claim template, or a PVC named by the pod's volume.
    if let Some(t) = workload["spec"]["volumeClaimTemplates"]
        .as_sequence()
        .and_then(|ts| ts.iter().find(|t| t["metadata"]["name"].as_str() == Some(name)))
    {
        return t.clone();
    }
    let volumes = workload["spec"]["template"]["spec"]["volumes"].as_sequence().cloned().unwrap_or_default();
    let claim_name = volumes
        .iter()
        .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str().filter(|c| *c == name))
        .unwrap_or_else(|| panic!("no volume uses claim {name}"));
    get(docs, "PersistentVolumeClaim", claim_name).clone()
}

fn check_release(release: &str) {
    let (dir, docs) = generate_and_render(release, &[]);
    let out = dir.path().join("k8s");

    for d in &docs {
        if d["kind"].as_str() != Some("Namespace") {
            assert_eq!(
                d["metadata"]["namespace"].as_str(),
                Some("dify"),
                "{release}: {:?} not in namespace dify",
                d["metadata"]["name"]
            );
        }
    }
    let config = get(&docs, "ConfigMap", "dify-config");
    assert!(config["data"].as_mapping().is_some_and(|m| !m.is_empty()), "{release}: dify-config is empty");

    // 0.15.3 has no plugin daemon, and its sandbox mounts no conf folder.
    for row in TABLE {
        if release == "0.15.3" && row.folder == "plugin-daemon" {
            continue;
        }
        assert!(
            out.join("services").join(row.folder).join("kustomization.yaml").is_file(),
            "{release}: no services/{}",
            row.folder
        );
        let w = get(&docs, row.kind, row.folder);
        assert_eq!(w["spec"]["replicas"].as_i64(), Some(row.replicas), "{release} {} replicas", row.folder);
        assert_eq!(container_ports(w), row.ports, "{release} {} container ports", row.folder);
        if !row.ports.is_empty() {
            assert_eq!(
                service_ports(get(&docs, "Service", row.folder)),
                row.ports,
                "{release} {} service ports",
                row.folder
            );
        }
        let c = &w["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(probe_kind(&c["livenessProbe"]), row.probe, "{release} {} liveness", row.folder);
        assert_eq!(probe_kind(&c["readinessProbe"]), row.ready, "{release} {} readiness", row.folder);
        for (name, size, mode) in row.claims {
            if release == "0.15.3" && *name == "sandbox-conf" {
                assert!(w["spec"]["template"]["spec"]["volumes"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .all(|v| v["name"] != "sandbox-conf"));
                continue;
            }
            let claim = claim_of(&docs, w, name);
            assert_eq!(
                claim["spec"]["resources"]["requests"]["storage"].as_str(),
                Some(*size),
                "{release} {name} size"
            );
            assert_eq!(claim["spec"]["accessModes"][0].as_str(), Some(*mode), "{release} {name} access mode");
            // The seed's `standard` is absent on EKS and AKS and ReadWriteOnce-only on GKE:
            // by default the cluster's default class (no storageClassName); --storage-class overrides.
            assert!(claim["spec"]["storageClassName"].is_null(), "{release} {name} class: the cluster's default");
        }
    }
    let nginx = get(&docs, "Service", "nginx");
    assert_eq!(nginx["spec"]["type"].as_str(), Some("LoadBalancer"));
    // SPEC.md's amendment: the sandbox process starts as root (it chroots and switches user code to
    // an unprivileged uid), with no privilege escalation and only the capabilities it needs.
    let sandbox = get(&docs, "Deployment", "sandbox");
    let sc = &sandbox["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"));
    assert!(sc["capabilities"]["add"].as_sequence().unwrap().iter().any(|c| c == "SYS_CHROOT"));

    let storage = get(&docs, "PersistentVolumeClaim", "dify-storage");
    assert_eq!(storage["spec"]["resources"]["requests"]["storage"].as_str(), Some("20Gi"));
    assert_eq!(storage["spec"]["accessModes"][0].as_str(), Some("ReadWriteMany"));
    for name in ["api", "worker"] {
        let w = get(&docs, "Deployment", name);
        let vols = w["spec"]["template"]["spec"]["volumes"].as_sequence().unwrap();
        assert!(
            vols.iter().any(|v| v["persistentVolumeClaim"]["claimName"].as_str() == Some("dify-storage")),
            "{release} {name}"
        );
        let mounts = w["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].as_sequence().unwrap();
        assert!(mounts.iter().any(|m| m["mountPath"].as_str() == Some("/app/api/storage")), "{release} {name} mount");
    }
    // Every workload: liveness and readiness probes.
    for d in docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))) {
        for c in d["spec"]["template"]["spec"]["containers"].as_sequence().unwrap() {
            assert_ne!(probe_kind(&c["livenessProbe"]), "none", "{release}: {:?}", d["metadata"]["name"]);
            assert_ne!(probe_kind(&c["readinessProbe"]), "none", "{release}: {:?}", d["metadata"]["name"]);
        }
    }
    // Each service folder deploys alone.
    let postgres = render(&out.join("services/postgres"));
    assert!(find(&postgres, "StatefulSet", "postgres").is_some());
}

#[test]
fn spec_table_holds_for_1_14_1() {
    check_release("1.14.1");
}

#[test]
fn spec_table_holds_for_1_8_0() {
    check_release("1.8.0");
}

#[test]
fn spec_table_holds_for_0_15_3() {
    check_release("0.15.3");
}

#[test]
fn seed_omissions_are_deployed_and_certbot_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated("1.14.1", &out, &[]);
    for folder in ["worker-beat", "api-websocket", "weaviate"] {
        assert!(out.join("services").join(folder).is_dir(), "{folder}");
    }
    for folder in ["certbot", "init-permissions", "init_permissions", "qdrant", "mysql"] {
        assert!(!out.join("services").join(folder).exists(), "{folder}");
    }
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    assert!(generated.contains("`certbot`: TLS on Kubernetes comes from the cluster"));
    assert!(generated.contains("`init_permissions`:"));
    assert!(generated.contains("- Release: 1.14.1"));
}

#[test]
fn readme_commands_name_existing_objects_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    let ja = dir.path().join("ja");
    generated("1.14.1", &en, &[]);
    generated("1.14.1", &ja, &["--lang", "ja"]);
    let en_text = std::fs::read_to_string(en.join("README.md")).unwrap();
    let ja_text = std::fs::read_to_string(ja.join("README.md")).unwrap();
    assert!(en_text.contains("kubectl apply -k ."));
    assert!(ja_text.contains("デプロイ"));
    for text in [&en_text, &ja_text] {
        for cap in text.split("deployment/").skip(1) {
            let name: String = cap.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if !name.is_empty() && name != "NAME" {
                assert!(
                    en.join("services").join(&name).join("deployment.yaml").is_file(),
                    "README names deployment/{name}"
                );
            }
        }
    }
}
