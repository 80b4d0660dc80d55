//! Least privilege in production, on the rendered trees of 1.14.1 and 1.8.0: a workload receives
//! only the secret keys it reads (its own compose `environment:`, and what its image tag's sources
//! read: mappings/dify-images.yaml `reads`); the first-start password is generated, short enough for
//! the console's form; the workloads that run third-party code are fenced (egress) off the node, the
//! metadata service, private ranges and the cluster's own; the sandbox and the SSRF proxy are reached
//! only by the workloads that call them.

use std::collections::BTreeSet;

use crate::common::*;
use yaml_serde::Value;

/// The secret keys a workload's pods receive: every Secret its containers' `envFrom` names.
fn secret_keys(docs: &[Value], workload: &str) -> BTreeSet<String> {
    let w = docs
        .iter()
        .find(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")) && d["metadata"]["name"] == workload)
        .unwrap_or_else(|| panic!("no workload {workload}"));
    let mut keys = BTreeSet::new();
    for from in w["spec"]["template"]["spec"]["containers"][0]["envFrom"].as_sequence().into_iter().flatten() {
        let Some(name) = from["secretRef"]["name"].as_str() else { continue };
        let secret = find(docs, "Secret", name).unwrap_or_else(|| panic!("{workload}: no Secret {name}"));
        let data = if secret["stringData"].is_mapping() { &secret["stringData"] } else { &secret["data"] };
        for key in data.as_mapping().into_iter().flatten().map(|(k, _)| k) {
            keys.insert(key.as_str().unwrap_or_default().to_string());
        }
    }
    keys
}

/// The variables a service sets in its own compose `environment:`.
fn own_environment(release: &str, service: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(compose(release)).unwrap();
    let compose: Value = yaml_serde::from_str(&text).unwrap();
    let env = &compose["services"][service]["environment"];
    match env {
        Value::Mapping(m) => m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect(),
        Value::Sequence(s) => {
            s.iter().filter_map(|e| e.as_str()).map(|e| e.split('=').next().unwrap().to_string()).collect()
        }
        _ => BTreeSet::new(),
    }
}

/// What an image tag's sources read, from the table (checked against them by tests/suite/tree/images.rs).
fn image_reads(image: &str) -> BTreeSet<String> {
    let rules = compose2dify::rules::load(compose2dify::rules::Preset::Dify, None).unwrap();
    let (repo, tag) = image.rsplit_once(':').unwrap();
    let rule = &rules.images[repo];
    let set = rule.tags[tag].reads.as_ref().unwrap_or_else(|| panic!("{image}: no reads recorded"));
    rule.reads[set].clone()
}

fn image_of(docs: &[Value], workload: &str) -> String {
    let w = docs.iter().find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == workload).unwrap();
    w["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap().to_string()
}

#[test]
fn secrets_go_only_where_they_are_read() {
    for release in ["1.14.1", "1.8.0"] {
        let docs = rendered(release, &[]);
        // The sandbox runs untrusted code: its API key and nothing else.
        assert_eq!(secret_keys(docs, "sandbox"), BTreeSet::from(["API_KEY".to_string()]), "{release}");
        // web reads none of api's secrets.
        let web = secret_keys(docs, "web");
        for key in ["SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD", "PLUGIN_DAEMON_KEY", "CODE_EXECUTION_API_KEY"] {
            assert!(!web.contains(key), "{release}: web receives {key}");
        }
        // Plugins inherit the daemon's environment: SECRET_KEY (it signs console sessions) stays out.
        let daemon = secret_keys(docs, "plugin-daemon");
        assert!(!daemon.contains("SECRET_KEY"), "{release}: the plugin daemon receives SECRET_KEY");
        assert!(daemon.contains("DB_PASSWORD") && daemon.contains("SERVER_KEY"), "{release}: {daemon:?}");
        // Every key of the three is one their own compose `environment:` sets or their image reads.
        for (workload, service) in [("sandbox", "sandbox"), ("web", "web"), ("plugin-daemon", "plugin_daemon")] {
            let Some(_) = docs.iter().find(|d| d["metadata"]["name"] == workload) else { continue };
            let own = own_environment(release, service);
            let image = image_of(docs, workload);
            let reads = if image.contains("dify-web") { BTreeSet::new() } else { image_reads(&image) };
            for key in secret_keys(docs, workload) {
                assert!(
                    own.contains(&key) || reads.contains(&key),
                    "{release} {workload}: receives {key}, which it does not read"
                );
            }
        }
        // api still has what it needs.
        let api = secret_keys(docs, "api");
        for key in ["SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD", "CODE_EXECUTION_API_KEY", "INIT_PASSWORD"] {
            assert!(api.contains(key), "{release}: api lacks {key}");
        }
    }
}

#[test]
fn the_first_start_password_is_generated_and_fits_the_form() {
    for release in ["1.14.1", "1.8.0"] {
        let docs = rendered(release, &[]);
        // setup-secrets.sh made the values (stringData, as the Secret is written).
        let secret = docs
            .iter()
            .find(|d| d["kind"] == "Secret" && d["stringData"]["INIT_PASSWORD"].is_string())
            .unwrap_or_else(|| panic!("{release}: no Secret holds INIT_PASSWORD"));
        let value = secret["stringData"]["INIT_PASSWORD"].as_str().unwrap().to_string();
        assert!(!value.is_empty() && value.len() <= 30, "{release}: INIT_PASSWORD {value:?} (the console takes 1-30)");
        assert!(!value.contains("CHANGE_ME"), "{release}");
    }
    // `compose2dify secrets` keeps it short too.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated("1.14.1", &out, &[]);
    let o = bin().args(["secrets", "--new"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let api = std::fs::read_to_string(out.join("services/api/secret.yaml")).unwrap();
    let line = api.lines().find(|l| l.trim_start().starts_with("INIT_PASSWORD:")).expect("INIT_PASSWORD");
    let value = line.split_once(':').unwrap().1.trim().trim_matches('\'');
    assert!(!value.is_empty() && value.len() <= 30, "{value:?}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("-o jsonpath='{.data.INIT_PASSWORD}' | base64 -d"), "the guide says how to read it");
}

/// The egress policy of a workload, parsed.
fn egress<'a>(docs: &'a [Value], workload: &str) -> &'a Value {
    find(docs, "NetworkPolicy", &format!("restrict-egress-{workload}"))
        .unwrap_or_else(|| panic!("no egress policy for {workload}"))
}

fn excepted(policy: &Value) -> Vec<String> {
    let rules = policy["spec"]["egress"].as_sequence().unwrap();
    rules
        .iter()
        .flat_map(|r| r["to"].as_sequence().into_iter().flatten())
        .filter(|p| p["ipBlock"]["cidr"] == "0.0.0.0/0")
        .flat_map(|p| p["ipBlock"]["except"].as_sequence().unwrap().iter().map(|e| e.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn code_we_do_not_trust_is_fenced() {
    for release in ["1.14.1", "1.8.0"] {
        let flags =
            ["--service-cidr", "34.118.224.0/20", "--cluster-cidr", "10.8.0.0/14", "--allow-egress", "10.20.0.0/16"];
        let docs = rendered(release, &flags);
        let fenced: Vec<&str> = ["api", "worker", "worker-beat", "api-websocket", "plugin-daemon"]
            .into_iter()
            .filter(|w| docs.iter().any(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == *w))
            .collect();
        assert!(fenced.len() >= 4, "{release}: {fenced:?}");
        // The migration Job runs the api's pod under a label of its own: fenced the same way.
        let fenced: Vec<&str> = fenced.into_iter().chain(["api-migrate"]).collect();
        for w in &fenced {
            let policy = egress(docs, w);
            let except = excepted(policy);
            for block in ["169.254.0.0/16", "10.0.0.0/8", "127.0.0.0/8", "34.118.224.0/20", "10.8.0.0/14"] {
                assert!(except.contains(&block.to_string()), "{release} {w}: {block} is reachable: {except:?}");
            }
            let allowed = policy["spec"]["egress"]
                .as_sequence()
                .unwrap()
                .iter()
                .flat_map(|r| r["to"].as_sequence().into_iter().flatten())
                .any(|p| p["ipBlock"]["cidr"] == "10.20.0.0/16");
            assert!(allowed, "{release} {w}: --allow-egress 10.20.0.0/16 is not let through");
        }
        // The SSRF proxy gets the same ranges, and a deny by the cluster's names.
        let squid = find(docs, "ConfigMap", "ssrf-proxy-files")
            .or_else(|| docs.iter().find(|d| d["kind"] == "ConfigMap" && d["data"]["squid.conf"].is_string()));
        let conf = squid.expect("squid.conf")["data"]["squid.conf"].as_str().unwrap();
        assert!(conf.contains("34.118.224.0/20") && conf.contains("10.8.0.0/14"), "{release}: squid's deny ACL");
        assert!(conf.contains("dstdomain .svc .cluster.local"), "{release}: squid's name deny");
        assert!(conf.contains("acl compose2dify_allowed dst 10.20.0.0/16"), "{release}: squid's allowed ranges");
    }
    // A range that is no CIDR is refused.
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(dir.path().join("k8s"))
        .args(["--service-cidr", "34.118.224.0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not an address range in CIDR form"));
    assert!(!dir.path().join("k8s").exists());
}

/// The workloads an ingress policy admits: their `app.kubernetes.io/name`s.
fn admitted(docs: &[Value], target: &str) -> BTreeSet<String> {
    let policy = find(docs, "NetworkPolicy", &format!("allow-ingress-{target}")).expect("ingress policy");
    policy["spec"]["ingress"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|r| r["from"].as_sequence().into_iter().flatten())
        .filter_map(|p| p["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_sandbox_and_the_proxy_are_reached_only_by_their_callers() {
    for release in ["1.14.1", "1.8.0"] {
        let docs = rendered(release, &[]);
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(admitted(docs, "sandbox"), set(&["api", "ssrf-proxy", "worker"]), "{release}");
        assert_eq!(admitted(docs, "ssrf-proxy"), set(&["api", "sandbox", "worker"]), "{release}");
    }
}

#[test]
fn the_readme_says_who_gets_what() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    generated("1.14.1", &out, &[]);
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    let table =
        readme.split("| workload | secret keys it receives | reached by | reaches |").nth(1).expect("the table");
    let rows: Vec<&str> = table.lines().skip(2).take_while(|l| l.starts_with('|')).collect();
    let sandbox = rows.iter().find(|r| r.starts_with("| `sandbox` |")).expect("sandbox row");
    assert!(sandbox.contains("| `API_KEY` | `api`, `ssrf-proxy`, `worker` | `ssrf-proxy`, DNS |"), "{sandbox}");
    assert!(
        rows.iter().any(|r| r.starts_with("| `plugin-daemon` |") && r.contains("the internet but private")),
        "{rows:?}"
    );
    let services = std::fs::read_dir(out.join("services")).unwrap().count();
    assert_eq!(rows.len(), services, "one row per workload");
}
