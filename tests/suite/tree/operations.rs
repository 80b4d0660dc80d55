//! Production operations (issue 28) on 1.14.1 and 1.8.0, judged on the rendered objects: the
//! `images:` list and `--registry`, one ServiceAccount per workload, `--ha` (replicas, budgets that
//! allow an eviction, spread), `--autoscale`, and worker-beat's `Recreate`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

const BOTH: &[&str] = &["1.14.1", "1.8.0"];

fn pod_spec(obj: &Value) -> &Value {
    match obj["kind"].as_str() {
        Some("CronJob") => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &obj["spec"]["template"]["spec"],
    }
}

fn pod_owners(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob")))
        .collect()
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("?")
}

/// Every image of every container and init container of the rendered tree, with where it is.
fn images(docs: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for owner in pod_owners(docs) {
        for list in ["containers", "initContainers"] {
            for c in pod_spec(owner)[list].as_sequence().into_iter().flatten() {
                let image = c["image"].as_str().unwrap_or_else(|| panic!("{} {list}: no image", name(owner)));
                out.push((
                    format!("{} {}/{}", name(owner), list, c["name"].as_str().unwrap_or("?")),
                    image.to_string(),
                ));
            }
        }
    }
    assert!(out.len() > 10, "the walk found the tree's containers: {out:?}");
    out
}

/// The name of an image reference, without tag and digest (what kustomize's `images:` matches).
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap();
    match image.rsplit_once(':') {
        Some((n, tag)) if !tag.contains('/') => n,
        _ => image,
    }
}

fn top_kustomization(out: &Path) -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(out.join("kustomization.yaml")).unwrap()).unwrap()
}

/// The release's tree with `extra`, secrets filled, in a fresh folder (from the run's cache); what
/// generating it said.
fn tree(release: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let made = made(release, extra);
    made.write_filled(&out);
    let stderr = made.stderr_at(&out);
    (dir, out, stderr)
}

#[test]
fn the_images_list_covers_every_image_of_the_tree() {
    for release in BOTH {
        for extra in [&[][..], &["--ha", "--registry", "registry.example.com:5000/mirror"][..]] {
            let (_dir, out, _) = tree(release, extra);
            let docs = rendered(release, extra);
            let listed: BTreeMap<String, Value> = top_kustomization(&out)["images"]
                .as_sequence()
                .expect("an images: list")
                .iter()
                .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
                .collect();
            let seen = images(docs);
            for (place, image) in &seen {
                assert!(
                    listed.contains_key(image_name(image)),
                    "{release} {extra:?}: {place} runs {image}, not in images: {listed:?}"
                );
                // The entry as generated changes nothing: it names the tag the container runs.
                let tag = image.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/')).unwrap_or("latest");
                assert_eq!(listed[image_name(image)]["newTag"].as_str(), Some(tag), "{release}: {place}");
            }
            let names: BTreeSet<&str> = seen.iter().map(|(_, i)| image_name(i)).collect();
            assert_eq!(names, listed.keys().map(String::as_str).collect(), "{release}: the list names no other image");

            // One place pins them all: a digest on every entry reaches every container, init
            // container and Job of the rendered tree.
            let digest = format!("sha256:{}", "0".repeat(64));
            let mut k = top_kustomization(&out);
            for e in k["images"].as_sequence_mut().unwrap() {
                e["digest"] = Value::from(digest.clone());
            }
            std::fs::write(out.join("kustomization.yaml"), yaml_serde::to_string(&k).unwrap()).unwrap();
            for (place, image) in images(&render(&out)) {
                assert!(
                    image.ends_with(&format!("@{digest}")),
                    "{release}: {place} is not pinned by the list: {image}"
                );
            }
        }
    }
}

#[test]
fn registry_moves_every_image_and_is_recorded() {
    for release in BOTH {
        let (_dir, out, stderr) = tree(release, &["--registry", "registry.example.com/mirror"]);
        let all = images(rendered(release, &["--registry", "registry.example.com/mirror"]));
        for (place, image) in &all {
            assert!(image.starts_with("registry.example.com/mirror/"), "{release}: {place} runs {image}");
        }
        assert!(all.iter().any(|(_, i)| i == "registry.example.com/mirror/library/nginx:latest"), "{all:?}");
        assert!(all.iter().any(|(_, i)| i.starts_with("registry.example.com/mirror/langgenius/dify-api:")), "{all:?}");
        let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
        assert!(generated.contains("--registry registry.example.com/mirror\n"), "{generated}");
        assert!(stderr.contains("registry.example.com/mirror/library/nginx:latest is not pinned"), "{stderr}");
    }
    for bad in ["https://registry.example.com", "Registry.example.com", "registry.example.com/Mirror", "reg:0"] {
        let stderr = refused(&["--registry", bad]);
        assert!(stderr.contains("--registry"), "{bad}: {stderr}");
    }
}

#[test]
fn unpinned_images_are_warned_on_stderr_and_in_generated_md() {
    for release in BOTH {
        let made = made(release, &[]);
        let (stderr, generated) = (&made.stderr, made.text("GENERATED.md"));
        for image in ["nginx:latest", "ubuntu/squid:latest"] {
            assert!(stderr.contains(&format!("image {image} is not pinned")), "{release}: {stderr}");
            assert!(generated.contains(&format!("- ⚠ `{image}`")), "{release}: {generated}");
        }
        // Pinned images are not named.
        assert!(!stderr.contains("postgres:15-alpine is not pinned"), "{stderr}");
        assert!(!generated.contains("`postgres:15-alpine`"), "{generated}");
    }
}

#[test]
fn every_pod_runs_as_its_own_service_account_without_a_token() {
    for release in BOTH {
        let made = made(
            release,
            &[
                "--service-account-annotation",
                "api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify-s3",
                "--service-account-annotation",
                "worker:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify-s3",
            ],
        );
        let docs = made.docs();
        let accounts: Vec<&Value> = docs.iter().filter(|d| d["kind"].as_str() == Some("ServiceAccount")).collect();
        for owner in pod_owners(docs) {
            let spec = pod_spec(owner);
            let sa = spec["serviceAccountName"]
                .as_str()
                .unwrap_or_else(|| panic!("{release}: {} names no ServiceAccount", name(owner)));
            let account = get(docs, "ServiceAccount", sa);
            assert_eq!(account["automountServiceAccountToken"].as_bool(), Some(false), "{sa}");
            assert_eq!(spec["automountServiceAccountToken"].as_bool(), Some(false), "{}", name(owner));
            if owner["kind"].as_str() != Some("Job") {
                assert_eq!(sa, name(owner), "{release}: one account per workload");
            }
        }
        let workloads = pod_owners(docs).iter().filter(|o| o["kind"].as_str() != Some("Job")).count();
        assert_eq!(accounts.len(), workloads, "{release}: one ServiceAccount per workload");
        for w in ["api", "worker"] {
            assert_eq!(
                get(docs, "ServiceAccount", w)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str(),
                Some("arn:aws:iam::123456789012:role/dify-s3"),
                "{release} {w}"
            );
        }
        assert!(get(docs, "ServiceAccount", "web")["metadata"]["annotations"].is_null(), "only the named workloads");
        let generated = made.text("GENERATED.md");
        assert!(generated.contains("--service-account-annotation 'api:eks.amazonaws.com/role-arn="), "{generated}");
    }
    let stderr =
        refused(&["--service-account-annotation", "apj:iam.gke.io/gcp-service-account=x@p.iam.gserviceaccount.com"]);
    assert!(stderr.contains("`apj` names no workload") && stderr.contains("api"), "{stderr}");
    let stderr = refused(&["--service-account-annotation", "api=role"]);
    assert!(stderr.contains("is not WORKLOAD:KEY=VALUE"), "{stderr}");
    let stderr = refused(&["--service-account-annotation", "api:bad key=1"]);
    assert!(stderr.contains("is not an annotation key"), "{stderr}");
}

/// Replicas of each Deployment and StatefulSet (an autoscaled one: its autoscaler's minimum).
fn replicas(docs: &[Value]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for d in docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))) {
        let n = match d["spec"]["replicas"].as_i64() {
            Some(n) => n,
            None => {
                let hpa = get(docs, "HorizontalPodAutoscaler", name(d));
                hpa["spec"]["minReplicas"].as_i64().expect("an autoscaled workload's minimum")
            }
        };
        out.insert(name(d).to_string(), n);
    }
    out
}

/// Every PodDisruptionBudget lets at least one pod of its workload be evicted: its workload runs
/// more pods than it keeps.
fn budgets_allow_an_eviction(docs: &[Value], what: &str) -> usize {
    let counts = replicas(docs);
    let mut n = 0;
    for pdb in docs.iter().filter(|d| d["kind"].as_str() == Some("PodDisruptionBudget")) {
        let selector = &pdb["spec"]["selector"]["matchLabels"];
        let owner = docs
            .iter()
            .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
            .find(|d| {
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                selector.as_mapping().unwrap().iter().all(|(k, v)| &labels[k.as_str().unwrap()] == v)
            })
            .unwrap_or_else(|| panic!("{what}: budget {} selects no workload", name(pdb)));
        let pods = counts[name(owner)];
        let allowed = match (pdb["spec"]["minAvailable"].as_i64(), pdb["spec"]["maxUnavailable"].as_i64()) {
            (Some(min), None) => pods - min,
            (None, Some(max)) => max.min(pods),
            other => panic!("{what}: budget {} with {other:?}", name(pdb)),
        };
        assert!(allowed >= 1, "{what}: budget {} allows {allowed} evictions of {pods} pods", name(pdb));
        n += 1;
    }
    n
}

const SINGLE: &[&str] = &["postgres", "redis", "weaviate", "plugin-daemon", "worker-beat", "api-websocket"];

#[test]
fn ha_leaves_only_the_scheduler_and_stateful_workloads_single() {
    for release in BOTH {
        let made = made(release, &["--ha"]);
        let docs = made.docs();
        let counts = replicas(docs);
        for (w, n) in &counts {
            if SINGLE.contains(&w.as_str()) {
                assert_eq!(*n, 1, "{release}: {w} stays single");
            } else {
                assert!(*n >= 2, "{release}: {w} runs {n} replica(s) with --ha");
                // Each has a budget and spreads over nodes.
                let d = get(docs, "Deployment", w);
                let spread = &d["spec"]["template"]["spec"]["topologySpreadConstraints"][0];
                assert_eq!(spread["topologyKey"].as_str(), Some("kubernetes.io/hostname"), "{release}: {w}");
                assert!(find(docs, "PodDisruptionBudget", w).is_some(), "{release}: {w} has a budget");
            }
        }
        for w in ["api", "web", "worker", "nginx", "ssrf-proxy", "sandbox"] {
            assert!(counts.get(w).is_some_and(|n| *n >= 2), "{release}: {w} is in the tree and scaled: {counts:?}");
        }
        // The sandbox runs on emptyDir volumes, seeded from its ConfigMap: no claim holds it to a node.
        let sandbox = get(docs, "Deployment", "sandbox");
        let spec = pod_spec(sandbox);
        for v in spec["volumes"].as_sequence().unwrap() {
            assert!(v["persistentVolumeClaim"].is_null(), "{release}: sandbox mounts a claim: {v:?}");
        }
        for folder in ["sandbox-conf", "sandbox-dependencies"] {
            let volumes = spec["volumes"].as_sequence().unwrap();
            assert!(volumes.iter().any(|v| v["name"].as_str() == Some(folder) && !v["emptyDir"].is_null()), "{folder}");
        }
        // Its config.yaml (the release's volumes/sandbox/conf) is copied in at every start, as into the claim.
        let seeded = spec["initContainers"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|c| c["name"].as_str() == Some("seed-sandbox-conf"));
        assert!(seeded, "{release}: sandbox-conf is seeded from the ConfigMap");
        assert!(sandbox["spec"]["strategy"].is_null(), "{release}: the sandbox rolls (no claim to wait for)");
        assert!(
            !docs.iter().any(|d| d["kind"].as_str() == Some("PersistentVolumeClaim") && name(d).starts_with("sandbox")),
            "{release}: no sandbox claim"
        );
        assert!(budgets_allow_an_eviction(docs, &format!("{release} --ha")) >= 6);
        let generated = made.text("GENERATED.md");
        assert!(generated.contains("```choices\n--ha\n"), "{generated}");
    }
}

#[test]
fn every_budget_allows_an_eviction_in_every_mode() {
    for release in BOTH {
        for extra in [&[][..], &["--ha"][..], &["--autoscale"][..]] {
            let docs = rendered(release, extra);
            assert!(
                budgets_allow_an_eviction(docs, &format!("{release} {extra:?}")) >= 2,
                "{release} {extra:?}: nginx and web have budgets"
            );
        }
    }
}

#[test]
fn worker_beat_is_one_pod_replaced_with_recreate_in_every_mode() {
    for release in BOTH {
        for extra in [&[][..], &["--ha"][..], &["--autoscale"][..]] {
            let docs = rendered(release, extra);
            let beat = get(docs, "Deployment", "worker-beat");
            assert_eq!(beat["spec"]["replicas"].as_i64(), Some(1), "{release} {extra:?}");
            assert_eq!(beat["spec"]["strategy"]["type"].as_str(), Some("Recreate"), "{release} {extra:?}");
            assert!(find(docs, "PodDisruptionBudget", "worker-beat").is_none());
            assert!(find(docs, "HorizontalPodAutoscaler", "worker-beat").is_none());
        }
    }
}

#[test]
fn autoscale_scales_api_web_worker_and_sandbox_on_their_cpu_requests() {
    for release in BOTH {
        let docs = rendered(release, &["--autoscale"]);
        let hpas: Vec<&Value> = docs.iter().filter(|d| d["kind"].as_str() == Some("HorizontalPodAutoscaler")).collect();
        let names: BTreeSet<&str> = hpas.iter().map(|h| name(h)).collect();
        assert_eq!(names, BTreeSet::from(["api", "sandbox", "web", "worker"]), "{release}");
        for h in hpas {
            assert_eq!(h["apiVersion"].as_str(), Some("autoscaling/v2"));
            let target = &h["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"].as_str(), Some("Deployment"));
            let d = get(docs, "Deployment", target["name"].as_str().unwrap());
            assert!(d["spec"]["replicas"].is_null(), "{release}: {} leaves the count to its autoscaler", name(d));
            assert!(h["spec"]["minReplicas"].as_i64().unwrap() >= 2);
            assert!(h["spec"]["maxReplicas"].as_i64().unwrap() > h["spec"]["minReplicas"].as_i64().unwrap());
            let metric = &h["spec"]["metrics"][0]["resource"];
            assert_eq!(metric["name"].as_str(), Some("cpu"));
            assert_eq!(metric["target"]["type"].as_str(), Some("Utilization"));
            // A utilization target is a share of the request: every container has one.
            for c in pod_spec(d)["containers"].as_sequence().unwrap() {
                assert!(
                    c["resources"]["requests"]["cpu"].as_str().is_some(),
                    "{release}: {} has no CPU request",
                    name(d)
                );
            }
        }
        // --autoscale implies --ha: the others are scaled too.
        let counts = replicas(docs);
        assert!(counts["nginx"] >= 2 && counts["ssrf-proxy"] >= 2, "{counts:?}");
    }
    // The strict validator (schemas, kube-score, checkov) passes the production tree.
    let (_dir, out, _) = tree("1.14.1", &["--ha", "--autoscale"]);
    validate_k8s(&out, &[]);
}
