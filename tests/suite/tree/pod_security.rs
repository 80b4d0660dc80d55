//! The Pod Security Standards, checked on the generated objects: every pod meets the level its
//! Namespace enforces ("baseline" for Dify), and every container the tree's README does not list
//! as unable meets "restricted". The checks are written from the list of controls in the
//! Kubernetes documentation (Pod Security Standards, v1.29+), not from the tool's own code.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::*;
use serde::Deserialize;
use yaml_serde::Value;

/// "Baseline", Capabilities: what a container may add.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// "Restricted", Volume Types.
const RESTRICTED_VOLUMES: &[&str] =
    &["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

/// "Baseline", Sysctls: the safe set.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn objects(out: &Path) -> Vec<Value> {
    let mut docs = Vec::new();
    for (path, bytes) in read_tree(out) {
        if !path.ends_with(".yaml") || path.ends_with("kustomization.yaml") {
            continue;
        }
        let text = String::from_utf8(bytes).expect("utf-8");
        for d in yaml_serde::Deserializer::from_str(&text) {
            docs.push(Value::deserialize(d).expect("yaml"));
        }
    }
    docs
}

/// (workload name, kind, pod spec) of every object that makes pods.
fn pods(docs: &[Value]) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for d in docs {
        let spec = match d["kind"].as_str() {
            Some("Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet") => &d["spec"]["template"]["spec"],
            Some("CronJob") => &d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            Some("Pod") => &d["spec"],
            _ => continue,
        };
        let name = d["metadata"]["name"].as_str().unwrap_or_default().to_string();
        out.push((name, d["kind"].as_str().unwrap_or_default().to_string(), spec));
    }
    out
}

/// Every container of a pod, with its name and whether it is an init container.
fn containers(spec: &Value) -> Vec<(String, bool, &Value)> {
    let mut out = Vec::new();
    for (key, init) in [("initContainers", true), ("containers", false), ("ephemeralContainers", false)] {
        for c in spec[key].as_sequence().into_iter().flatten() {
            out.push((c["name"].as_str().unwrap_or_default().to_string(), init, c));
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

/// The "baseline" controls a pod breaks (empty: it meets the level).
fn baseline_violations(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[key].as_bool() == Some(true) {
            out.push(format!("{key}: true"));
        }
    }
    if spec["securityContext"]["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
        out.push("hostProcess".into());
    }
    for v in spec["volumes"].as_sequence().into_iter().flatten() {
        if !v["hostPath"].is_null() {
            out.push(format!("hostPath volume {:?}", v["name"]));
        }
    }
    for s in spec["securityContext"]["sysctls"].as_sequence().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or_default();
        if !SAFE_SYSCTLS.contains(&name) {
            out.push(format!("sysctl {name}"));
        }
    }
    let pod_sc = &spec["securityContext"];
    for sc in std::iter::once(pod_sc).chain(containers(spec).into_iter().map(|(_, _, c)| &c["securityContext"])) {
        if sc["seccompProfile"]["type"].as_str() == Some("Unconfined") {
            out.push("seccomp Unconfined".into());
        }
        if let Some(t) = sc["appArmorProfile"]["type"].as_str() {
            if !matches!(t, "RuntimeDefault" | "Localhost") {
                out.push(format!("AppArmor {t}"));
            }
        }
        let se = &sc["seLinuxOptions"];
        if let Some(t) = se["type"].as_str() {
            if !matches!(t, "" | "container_t" | "container_init_t" | "container_kvm_t" | "container_engine_t") {
                out.push(format!("SELinux type {t}"));
            }
        }
        if !se["user"].is_null() || !se["role"].is_null() {
            out.push("SELinux user or role".into());
        }
    }
    for (name, _, c) in containers(spec) {
        let sc = &c["securityContext"];
        if sc["privileged"].as_bool() == Some(true) {
            out.push(format!("{name}: privileged"));
        }
        if sc["procMount"].as_str().is_some_and(|p| p != "Default") {
            out.push(format!("{name}: procMount"));
        }
        for cap in strings(&sc["capabilities"]["add"]) {
            if !BASELINE_CAPS.contains(&cap.as_str()) {
                out.push(format!("{name}: adds {cap}"));
            }
        }
        for p in c["ports"].as_sequence().into_iter().flatten() {
            if p["hostPort"].as_i64().is_some_and(|h| h != 0) {
                out.push(format!("{name}: hostPort"));
            }
        }
    }
    out
}

/// The "restricted" controls (beyond "baseline") each container breaks, by container name.
fn restricted_violations(spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in spec["volumes"].as_sequence().into_iter().flatten() {
        let kinds: Vec<&str> =
            v.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str()).filter(|k| *k != "name").collect();
        if !kinds.iter().all(|k| RESTRICTED_VOLUMES.contains(k)) {
            out.push(("(pod)".to_string(), format!("volume {kinds:?}")));
        }
    }
    let pod = &spec["securityContext"];
    for (name, _, c) in containers(spec) {
        let sc = &c["securityContext"];
        let mut bad = |what: &str| out.push((name.clone(), what.to_string()));
        if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
            bad("allowPrivilegeEscalation is not false");
        }
        let non_root = sc["runAsNonRoot"].as_bool().or(pod["runAsNonRoot"].as_bool());
        if non_root != Some(true) {
            bad("runAsNonRoot is not true");
        }
        if sc["runAsUser"].as_i64().or(pod["runAsUser"].as_i64()) == Some(0) {
            bad("runAsUser 0");
        }
        let seccomp = sc["seccompProfile"]["type"].as_str().or(pod["seccompProfile"]["type"].as_str());
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            bad("no RuntimeDefault or Localhost seccomp profile");
        }
        if !strings(&sc["capabilities"]["drop"]).iter().any(|c| c == "ALL") {
            bad("does not drop ALL capabilities");
        }
        for cap in strings(&sc["capabilities"]["add"]) {
            if cap != "NET_BIND_SERVICE" {
                bad(&format!("adds {cap}"));
            }
        }
    }
    out
}

/// The README's table of containers that cannot meet "restricted": (workload, container name or
/// `main`).
fn listed_below_restricted(readme: &str) -> BTreeSet<(String, String)> {
    let Some(start) = readme.find("| workload | container | what \"restricted\" forbids") else {
        return BTreeSet::new();
    };
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let container = cells[1].split('`').nth(1).unwrap_or("main").to_string();
            (cells[0].trim_matches('`').to_string(), container)
        })
        .collect()
}

/// Every pod meets the level the Namespace enforces; the README lists exactly the containers
/// below "restricted". Returns the enforced level.
fn check_tree(label: &str, out: &Path) -> String {
    let docs = objects(out);
    let ns = docs.iter().find(|d| d["kind"] == "Namespace").unwrap_or_else(|| panic!("{label}: no Namespace"));
    let labels = &ns["metadata"]["labels"];
    let level = labels["pod-security.kubernetes.io/enforce"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: no enforce label"))
        .to_string();
    assert_eq!(labels["pod-security.kubernetes.io/warn"].as_str(), Some("restricted"), "{label}");
    assert_eq!(labels["pod-security.kubernetes.io/audit"].as_str(), Some("restricted"), "{label}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Every pod meets the \"{level}\" level")),
        "{label}: the README claims another level"
    );
    let listed = listed_below_restricted(&readme);
    let mut below = BTreeSet::new();
    let mut any_below_baseline = false;
    for (workload, kind, spec) in pods(&docs) {
        let baseline = baseline_violations(spec);
        any_below_baseline |= !baseline.is_empty();
        if level != "privileged" {
            assert!(baseline.is_empty(), "{label} {workload}: breaks baseline: {baseline:?}");
        }
        let restricted = restricted_violations(spec);
        let all = containers(spec);
        let main_context = all.iter().find(|(_, init, _)| !init).map(|(_, _, c)| &c["securityContext"]);
        for (container, why) in &restricted {
            // An init container with its main container's context is the README's `main` row.
            let same_as_main =
                all.iter().any(|(n, init, c)| n == container && (!init || Some(&c["securityContext"]) == main_context));
            let key = (workload.clone(), if same_as_main { "main".to_string() } else { container.clone() });
            if level == "restricted" {
                panic!("{label} {workload} {container}: the namespace enforces restricted, but: {why}");
            }
            // A Job runs the pod of a workload the README lists; its name starts with it.
            let listed_as = listed.iter().find(|item| **item == key).or_else(|| {
                listed.iter().find(|(w, c)| kind == "Job" && workload.starts_with(&format!("{w}-")) && c == &key.1)
            });
            assert!(listed_as.is_some(), "{label} {workload}/{container} is below restricted ({why}) but the README does not list it: {listed:?}");
            below.insert(listed_as.cloned().unwrap_or(key));
        }
    }
    // The enforced level is the strictest every pod meets.
    let expected = if any_below_baseline {
        "privileged"
    } else if below.is_empty() {
        "restricted"
    } else {
        "baseline"
    };
    assert_eq!(level, expected, "{label}: enforce label");
    for item in &listed {
        assert!(below.contains(item), "{label}: the README lists {item:?} below restricted, but it meets it");
    }
    level
}

#[test]
fn dify_trees_meet_baseline_and_restricted_where_the_readme_says() {
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        generated(release, &out, &[]);
        assert_eq!(check_tree(release, &out), "baseline", "{release}: a default Dify tree enforces baseline");
    }
    // The next releases' sandboxes (0.2.14, and 0.2.12 on the beta branch) too.
    for tag in ["1.13.3", "2.0.0-beta.2"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let file = repo().join(format!("tests/fixtures/tags/dify-{tag}/docker-compose.yaml"));
        let o = bin().arg(&file).arg("-o").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(check_tree(tag, &out), "baseline", "{tag}");
    }
}

#[test]
fn generic_trees_meet_the_level_their_readme_claims() {
    let mut levels = BTreeSet::new();
    for case in ["01-web-db", "25-wordpress-mysql", "27-queue-workers", "33-kafka-zookeeper", "05-build-only"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k8s");
        let o = bin().arg(corpus_compose(case)).arg("-o").arg(&out).args(["--preset", "generic"]).output().unwrap();
        assert!(o.status.success(), "{case}: {}", String::from_utf8_lossy(&o.stderr));
        levels.insert(check_tree(case, &out));
    }
    assert!(!levels.is_empty());
}

#[test]
fn the_checks_catch_what_they_check() {
    let pod: Value = yaml_serde::from_str(
        "containers:\n- name: a\n  securityContext:\n    capabilities: {add: [NET_RAW, DAC_READ_SEARCH], drop: [ALL]}\n    allowPrivilegeEscalation: false\n    runAsNonRoot: true\n    seccompProfile: {type: RuntimeDefault}\nvolumes:\n- name: h\n  hostPath: {path: /}\n",
    )
    .unwrap();
    let v = baseline_violations(&pod);
    assert!(v.iter().any(|s| s.contains("NET_RAW")) && v.iter().any(|s| s.contains("DAC_READ_SEARCH")), "{v:?}");
    assert!(v.iter().any(|s| s.contains("hostPath")), "{v:?}");
    let r = restricted_violations(&pod);
    assert!(r.iter().any(|(_, w)| w.contains("volume")) && r.iter().any(|(_, w)| w == "adds NET_RAW"), "{r:?}");
    let root: Value = yaml_serde::from_str("containers:\n- name: a\n  securityContext: {runAsUser: 0}\n").unwrap();
    let r: Vec<String> = restricted_violations(&root).into_iter().map(|(_, w)| w).collect();
    for want in [
        "allowPrivilegeEscalation is not false",
        "runAsNonRoot is not true",
        "runAsUser 0",
        "does not drop ALL capabilities",
    ] {
        assert!(r.iter().any(|w| w == want), "{want}: {r:?}");
    }
}
