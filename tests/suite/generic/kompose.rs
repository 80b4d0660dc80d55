//! kompose's own fixture suite (issue 14): every case kompose's `script/test/cmd/tests.sh` runs with an
//! expected Kubernetes output (`tests/fixtures/kompose/`, vendored with its license and provenance)
//! goes through the binary with `--preset generic`, is rendered with `kubectl kustomize`, and is
//! compared with kompose's expected output by meaning: per workload its kind, replicas, image,
//! command and args, environment (values read through ConfigMaps; a value in a Secret counts as
//! `<secret>`), container ports with protocol, mounts and what backs them, resources, probes and
//! the security fields compose sets; per Service its ports and type.
//!
//! Every remaining difference must be explained in `tests/fixtures/kompose/verdicts.yaml` (ours, not
//! vendored) as `better`, `deliberate` or `n/a` (a kompose-only label or flag); an unexplained
//! difference, or one marked `worse`, fails the test, and so does an explanation that no longer
//! matches a difference. The table in docs/generic-preset.md is checked against the counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::*;
use serde::Deserialize;
use yaml_serde::Value;

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/kompose")
}

/// One case of kompose's tests.sh: compose files (relative to `cases/`), expected output, kompose
/// flags.
struct Case {
    files: Vec<String>,
    expected: String,
    flags: String,
}

impl Case {
    fn id(&self) -> String {
        self.expected.trim_end_matches(".yaml").to_string()
    }
}

fn cases() -> Vec<Case> {
    std::fs::read_to_string(fixtures().join("cases.tsv"))
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Case {
                files: cols[0].split(' ').map(str::to_string).collect(),
                expected: cols[1].to_string(),
                flags: cols.get(2).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

fn docs_of(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| !v.is_null())
        .flat_map(|v| if v["kind"] == "List" { v["items"].as_sequence().cloned().unwrap_or_default() } else { vec![v] })
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Sequence(items) => items.iter().map(s).collect::<Vec<_>>().join(" "),
        other => yaml_serde::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// A quantity as a number: CPU in millicores, memory in bytes.
fn quantity(text: &str) -> String {
    let t = text.trim();
    let units: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("m", 1e-3),
    ];
    for (u, f) in units {
        if let Some(n) = t.strip_suffix(u).and_then(|n| n.parse::<f64>().ok()) {
            return format!("{}", (n * f * 1000.0).round() / 1000.0);
        }
    }
    t.parse::<f64>().map_or_else(|_| t.to_string(), |n| format!("{n}"))
}

fn probe(p: &Value) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let handler = if !p["exec"].is_null() {
        format!("exec {}", s(&p["exec"]["command"]))
    } else if !p["httpGet"].is_null() {
        format!("http {} {}", s(&p["httpGet"]["path"]), s(&p["httpGet"]["port"]))
    } else if !p["tcpSocket"].is_null() {
        format!("tcp {}", s(&p["tcpSocket"]["port"]))
    } else {
        "other".to_string()
    };
    let n = |k: &str| p[k].as_i64().map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    Some(format!(
        "{handler} every {} timeout {} failures {} delay {}",
        n("periodSeconds"),
        n("timeoutSeconds"),
        n("failureThreshold"),
        n("initialDelaySeconds")
    ))
}

const WORKLOADS: &[&str] =
    &["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicationController"];

/// The meaning of a set of objects: `workload/aspect` → value.
fn meaning(docs: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let data = |kind: &str, name: &str| -> BTreeMap<String, String> {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"].as_str() == Some(name))
            .and_then(|d| d["data"].as_mapping().cloned())
            .map(|m| m.iter().map(|(k, v)| (s(k), s(v))).collect())
            .unwrap_or_default()
    };
    for d in docs.iter().filter(|d| WORKLOADS.iter().any(|k| d["kind"] == *k)) {
        let kind = s(&d["kind"]);
        let (pod_meta, pod) = match kind.as_str() {
            "Pod" => (&d["metadata"], &d["spec"]),
            "CronJob" => (
                &d["spec"]["jobTemplate"]["spec"]["template"]["metadata"],
                &d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            ),
            _ => (&d["spec"]["template"]["metadata"], &d["spec"]["template"]["spec"]),
        };
        let name = pod_meta["labels"]["app.kubernetes.io/name"]
            .as_str()
            .or(d["metadata"]["name"].as_str())
            .unwrap_or_default()
            .to_string();
        let mut put = |aspect: &str, value: String| {
            out.insert(format!("{name}/{aspect}"), value);
        };
        put("kind", kind.clone());
        if let Some(r) = d["spec"]["replicas"].as_i64() {
            put("replicas", r.to_string());
        }
        let volumes: BTreeMap<String, String> = pod["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|v| {
                let backing = if !v["persistentVolumeClaim"].is_null() {
                    "claim".to_string()
                } else if !v["configMap"].is_null() {
                    "configMap".to_string()
                } else if !v["secret"].is_null() {
                    "secret".to_string()
                } else if !v["emptyDir"].is_null() {
                    if v["emptyDir"]["medium"] == "Memory" { "tmpfs" } else { "emptyDir" }.to_string()
                } else if !v["hostPath"].is_null() {
                    format!("hostPath {}", s(&v["hostPath"]["path"]))
                } else {
                    "other".to_string()
                };
                (s(&v["name"]), backing)
            })
            .collect();
        let sec = &pod["securityContext"];
        for key in ["fsGroup", "runAsUser", "runAsGroup", "supplementalGroups"] {
            if !sec[key].is_null() {
                put(&format!("pod.{key}"), s(&sec[key]));
            }
        }
        if !pod["hostname"].is_null() {
            put("hostname", s(&pod["hostname"]));
        }
        // The first container speaks for the workload; a further one (a service sharing its
        // network) is `name+1`, …
        for (ci, c) in pod["containers"].as_sequence().into_iter().flatten().enumerate() {
            let prefix = if ci == 0 { String::new() } else { format!("+{ci}") };
            let mut put = |aspect: &str, value: String| {
                let key = format!("{name}{prefix}/{aspect}");
                out.insert(key, value);
            };
            put("image", s(&c["image"]));
            if !c["command"].is_null() {
                put("command", s(&c["command"]));
            }
            if !c["args"].is_null() {
                put("args", s(&c["args"]));
            }
            if !c["workingDir"].is_null() {
                put("workingDir", s(&c["workingDir"]));
            }
            for from in c["envFrom"].as_sequence().into_iter().flatten() {
                if let Some(cm) = from["configMapRef"]["name"].as_str() {
                    for (k, v) in data("ConfigMap", cm) {
                        put(&format!("env {k}"), v);
                    }
                }
                if let Some(sec) = from["secretRef"]["name"].as_str() {
                    for k in data("Secret", sec).keys().chain(docs_secret_keys(docs, sec).iter()) {
                        put(&format!("env {k}"), "<secret>".into());
                    }
                }
            }
            for e in c["env"].as_sequence().into_iter().flatten() {
                let value = if let Some(r) = e["valueFrom"]["configMapKeyRef"].as_mapping() {
                    let cm = r.get("name").map(s).unwrap_or_default();
                    let key = r.get("key").map(s).unwrap_or_default();
                    data("ConfigMap", &cm).get(&key).cloned().unwrap_or_default()
                } else if !e["valueFrom"]["secretKeyRef"].is_null() {
                    "<secret>".to_string()
                } else if !e["valueFrom"].is_null() {
                    format!("from {}", yaml_serde::to_string(&e["valueFrom"]).unwrap_or_default().trim())
                } else {
                    s(&e["value"])
                };
                put(&format!("env {}", s(&e["name"])), value);
            }
            for p in c["ports"].as_sequence().into_iter().flatten() {
                let proto = p["protocol"].as_str().unwrap_or("TCP");
                put(&format!("port {}/{proto}", s(&p["containerPort"])), "yes".into());
            }
            for m in c["volumeMounts"].as_sequence().into_iter().flatten() {
                let vol = s(&m["name"]);
                let backing = volumes.get(&vol).cloned().unwrap_or_default();
                let path = s(&m["mountPath"]);
                // A ConfigMap mounted whole is its files, one per key (or item): the same meaning
                // as mounting each file with a subPath; its volumes are read-only whatever the
                // mount says.
                if backing == "configMap" {
                    if m["subPath"].is_null() {
                        for file in config_map_files(docs, pod, &vol) {
                            put(&format!("mount {}/{file}", path.trim_end_matches('/')), backing.clone());
                        }
                    } else {
                        put(&format!("mount {path}"), backing);
                    }
                    continue;
                }
                let ro = if m["readOnly"].as_bool() == Some(true) && backing != "secret" { " ro" } else { "" };
                let sub = m["subPath"].as_str().map(|p| format!(" subPath {p}")).unwrap_or_default();
                put(&format!("mount {path}"), format!("{backing}{ro}{sub}"));
            }
            for side in ["limits", "requests"] {
                for res in ["cpu", "memory"] {
                    if let Some(q) = c["resources"][side][res]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| c["resources"][side][res].as_f64().map(|n| n.to_string()))
                    {
                        put(&format!("{side}.{res}"), quantity(&q));
                    }
                }
            }
            for kind in ["livenessProbe", "readinessProbe"] {
                if let Some(p) = probe(&c[kind]) {
                    put(kind, p);
                }
            }
            let csec = &c["securityContext"];
            for key in ["runAsUser", "runAsGroup", "privileged", "readOnlyRootFilesystem"] {
                if !csec[key].is_null() {
                    put(&format!("container.{key}"), s(&csec[key]));
                }
            }
            if let Some(add) = csec["capabilities"]["add"].as_sequence() {
                put(
                    "capabilities.add",
                    add.iter().map(s).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(" "),
                );
            }
            for key in ["stdin", "tty"] {
                if c[key].as_bool() == Some(true) {
                    put(key, "true".into());
                }
            }
        }
    }
    // A Service by what it delivers to (target port and protocol) and the ports it listens on there.
    for d in docs.iter().filter(|d| d["kind"] == "Service") {
        let name = s(&d["metadata"]["name"]);
        if name.ends_with("-headless") {
            continue;
        }
        let kind = d["spec"]["type"].as_str().unwrap_or("ClusterIP");
        let mut listens: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in d["spec"]["ports"].as_sequence().into_iter().flatten() {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            let target = if p["targetPort"].is_null() { s(&p["port"]) } else { s(&p["targetPort"]) };
            listens.entry(format!("service {name}/to {target}/{proto}")).or_default().insert(s(&p["port"]));
        }
        for (key, ports) in listens {
            out.insert(key, format!("{kind} on {}", ports.into_iter().collect::<Vec<_>>().join(" ")));
        }
    }
    out
}

/// The files a ConfigMap volume of this pod shows: its items' paths, else every key.
fn config_map_files(docs: &[Value], pod: &Value, volume: &str) -> Vec<String> {
    let Some(v) = pod["volumes"].as_sequence().into_iter().flatten().find(|v| v["name"].as_str() == Some(volume))
    else {
        return Vec::new();
    };
    if let Some(items) = v["configMap"]["items"].as_sequence() {
        return items.iter().map(|i| s(&i["path"])).collect();
    }
    let name = s(&v["configMap"]["name"]);
    docs.iter()
        .filter(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"].as_str() == Some(name.as_str()))
        .flat_map(|d| {
            ["data", "binaryData"]
                .iter()
                .flat_map(|k| d[*k].as_mapping().into_iter().flatten().map(|(k, _)| s(k)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Keys of a Secret the tree ships only as an example (no values are compared).
fn docs_secret_keys(docs: &[Value], name: &str) -> Vec<String> {
    docs.iter()
        .filter(|d| d["kind"] == "Secret" && d["metadata"]["name"].as_str() == Some(name))
        .flat_map(|d| d["stringData"].as_mapping().into_iter().flatten().map(|(k, _)| s(k)).collect::<Vec<_>>())
        .collect()
}

/// What ours makes of a case: its meaning, or the refusal's message.
fn ours(case: &Case) -> Result<BTreeMap<String, String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("k8s");
    let o = bin()
        .current_dir(fixtures().join("cases"))
        .args(&case.files)
        .args(["--no-override", "--preset", "generic", "-o"])
        .arg(&tree)
        .output()
        .unwrap();
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).to_string());
    }
    setup_secrets(&tree);
    Ok(meaning(&render(&tree)))
}

fn theirs(case: &Case) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixtures().join("cases").join(&case.expected)).unwrap();
    meaning(&docs_of(&text))
}

/// `- kompose: X` / `ours: Y` per aspect: what differs between the two.
fn differences(
    theirs: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
) -> BTreeMap<String, (String, String)> {
    let keys: BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (theirs.get(k).cloned().unwrap_or_default(), ours.get(k).cloned().unwrap_or_default());
            (a != b).then(|| (k.clone(), (a, b)))
        })
        .collect()
}

#[derive(Deserialize)]
struct Verdicts {
    /// Differences every case may show, explained once: an aspect (the part of the key after the
    /// workload, or `service` for a Service) with `only_ours` when it explains only values kompose's
    /// output does not have at all.
    everywhere: Vec<Everywhere>,
    cases: BTreeMap<String, CaseVerdict>,
}

#[derive(Deserialize)]
struct Everywhere {
    aspect: String,
    #[serde(default)]
    only_ours: bool,
    /// Explains only differences where ours has exactly this value.
    #[serde(default)]
    ours: Option<String>,
    verdict: String,
    why: String,
}

/// `web/env A` → `env A`; `service web/to 80/TCP` → `service to 80/TCP`.
fn aspect_of(key: &str) -> String {
    match key.strip_prefix("service ") {
        Some(rest) => format!("service {}", rest.split_once('/').map_or(rest, |(_, a)| a)),
        None => key.split_once('/').map_or(key, |(_, a)| a).to_string(),
    }
}

#[derive(Deserialize)]
struct CaseVerdict {
    /// Set for a case whose expected output follows a kompose-only flag or label throughout.
    #[serde(default)]
    not_applicable: Option<String>,
    #[serde(default)]
    differences: Vec<Explained>,
}

#[derive(Deserialize)]
struct Explained {
    /// A prefix of the difference's `workload/aspect` key.
    aspect: String,
    verdict: String,
    why: String,
}

#[test]
fn kompose_fixture_suite_has_no_case_where_we_are_worse() {
    let verdicts: Verdicts =
        yaml_serde::from_str(&std::fs::read_to_string(fixtures().join("verdicts.yaml")).unwrap()).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut everywhere_used = BTreeSet::new();
    let all = cases();
    for case in &all {
        let id = case.id();
        let verdict = verdicts.cases.get(&id);
        let class = match ours(case) {
            Err(stderr) => {
                failures.push(format!("{id}: refused: {stderr}"));
                "refused"
            }
            Ok(ours) => {
                let diffs = differences(&theirs(case), &ours);
                match verdict.and_then(|v| v.not_applicable.as_ref()) {
                    Some(why) => {
                        assert!(!why.is_empty(), "{id}: say why the case is not applicable");
                        "not applicable"
                    }
                    None => {
                        let explained = verdict.map(|v| v.differences.as_slice()).unwrap_or_default();
                        let mut verdicts_used = BTreeSet::new();
                        let mut better_somewhere = false;
                        for (key, (a, b)) in &diffs {
                            let general = verdicts.everywhere.iter().position(|e| {
                                aspect_of(key).starts_with(&e.aspect)
                                    && (!e.only_ours || a.is_empty())
                                    && e.ours.as_ref().is_none_or(|o| o == b)
                            });
                            if let Some(i) = general {
                                everywhere_used.insert(i);
                                if verdicts.everywhere[i].verdict == "better" {
                                    better_somewhere = true;
                                }
                                continue;
                            }
                            match explained.iter().position(|e| key.starts_with(&e.aspect)) {
                                Some(i) if explained[i].verdict != "worse" => {
                                    verdicts_used.insert(i);
                                }
                                Some(i) => failures.push(format!("{id}: {key}: worse: {}", explained[i].why)),
                                None => failures.push(format!(
                                    "{id}: {key}: kompose `{a}`, ours `{b}` (unexplained; kompose ran with `{}`)",
                                    case.flags
                                )),
                            }
                        }
                        for (i, e) in explained.iter().enumerate() {
                            assert!(!e.why.is_empty(), "{id}: {}: say why", e.aspect);
                            assert!(
                                ["better", "deliberate", "n/a", "worse"].contains(&e.verdict.as_str()),
                                "{id}: {}: verdict `{}`",
                                e.aspect,
                                e.verdict
                            );
                            if !verdicts_used.contains(&i) {
                                failures
                                    .push(format!("{id}: `{}` explains no difference any more: remove it", e.aspect));
                            }
                        }
                        if diffs.is_empty() {
                            "equivalent"
                        } else if better_somewhere || explained.iter().any(|e| e.verdict == "better") {
                            "better"
                        } else {
                            "equivalent"
                        }
                    }
                }
            }
        };
        *counts.entry(class).or_default() += 1;
    }
    for (i, e) in verdicts.everywhere.iter().enumerate() {
        assert!(!e.why.is_empty() && e.verdict != "worse", "{}: say why, and it is not worse", e.aspect);
        if !everywhere_used.contains(&i) {
            failures.push(format!("everywhere: `{}` explains no difference any more: remove it", e.aspect));
        }
    }
    for id in verdicts.cases.keys() {
        assert!(all.iter().any(|c| &c.id() == id), "verdicts.yaml names `{id}`, which is not a case");
    }
    assert!(failures.is_empty(), "{} difference(s) to fix or explain:\n{}", failures.len(), failures.join("\n"));
    let row = format!(
        "| {} | {} | {} | 0 | {} | {} |",
        all.len(),
        counts.get("equivalent").unwrap_or(&0),
        counts.get("better").unwrap_or(&0),
        counts.get("refused").unwrap_or(&0),
        counts.get("not applicable").unwrap_or(&0)
    );
    let doc = std::fs::read_to_string(repo().join("docs/generic-preset.md")).unwrap();
    assert!(doc.contains(&row), "the kompose table of docs/generic-preset.md must read:\n{row}");
}

/// The comparison itself can fail: a changed image, a lost port or a missing variable in our side
/// are differences.
#[test]
fn the_comparison_sees_a_lost_port_a_changed_image_and_a_missing_variable() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1\n        env: [{name: A, value: '1'}]\n        ports: [{containerPort: 80}]\n";
    let a = meaning(&docs_of(text));
    assert_eq!(a.get("web/image").map(String::as_str), Some("nginx:1"));
    for (from, to) in [
        ("nginx:1", "nginx:2"),
        ("containerPort: 80", "containerPort: 81"),
        ("{name: A, value: '1'}", "{name: B, value: '1'}"),
    ] {
        let b = meaning(&docs_of(&text.replace(from, to)));
        assert!(!differences(&a, &b).is_empty(), "{from} → {to}");
    }
    assert!(differences(&a, &a).is_empty());
}

#[test]
fn the_cases_are_kompose_tests_sh_cases_with_their_files_vendored() {
    let all = cases();
    assert_eq!(all.len(), 44, "cases.tsv lists the 44 k8s cases of kompose's tests.sh");
    for c in &all {
        for f in c.files.iter().chain([&c.expected]) {
            assert!(Path::new(&fixtures().join("cases").join(f)).is_file(), "{}: {f} is vendored", c.id());
        }
    }
}
