//! Capacity defaults (issue 28) on 1.14.1 and 1.8.0, judged on the rendered objects: gunicorn
//! workers from the api's CPU request, Redis's memory ceiling and policy, a memory-backed
//! `/dev/shm` for postgres, GOMEMLIMIT for weaviate from its limit, and INTERNAL_FILES_URL at the
//! api Service (a `--set` wins).

use crate::common::*;
use yaml_serde::Value;

const BOTH: &[&str] = &["1.14.1", "1.8.0"];

fn pod<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    &get(docs, kind, name)["spec"]["template"]["spec"]
}

/// A setting as the container sees it: its `env`, else the ConfigMaps of its `envFrom`.
fn setting(docs: &[Value], c: &Value, key: &str) -> Option<String> {
    let own = c["env"].as_sequence().into_iter().flatten().find(|e| e["name"] == key);
    if let Some(e) = own {
        return e["value"].as_str().map(str::to_string);
    }
    c["envFrom"].as_sequence().into_iter().flatten().rev().find_map(|from| {
        let name = from["configMapRef"]["name"].as_str()?;
        get(docs, "ConfigMap", name)["data"][key].as_str().map(str::to_string)
    })
}

/// Bytes of a Kubernetes memory quantity (`2Gi`, `512Mi`) or a Go/Redis size (`1638MiB`, `384mb`).
fn bytes(q: &str) -> f64 {
    let split = q.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(q.len());
    let n: f64 = q[..split].parse().unwrap();
    n * match q[split..].to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        // Redis's `mb` is 1024*1024 (redis.conf: "1mb => 1024*1024 bytes").
        "mb" => 1024.0 * 1024.0,
        unit => panic!("unit {unit} in {q}"),
    }
}

fn cores(q: &str) -> f64 {
    q.strip_suffix('m').map_or_else(|| q.parse().unwrap(), |m| m.parse::<f64>().unwrap() / 1000.0)
}

#[test]
fn capacity_defaults_follow_upstream_guidance() {
    for release in BOTH {
        let docs = rendered(release, &[]);

        // One gevent worker per whole requested core, at least one (upstream: 1 for gevent).
        let api = &pod(docs, "Deployment", "api")["containers"][0];
        let request = cores(api["resources"]["requests"]["cpu"].as_str().unwrap());
        assert_eq!(setting(docs, api, "SERVER_WORKER_CLASS").as_deref(), Some("gevent"), "{release}");
        let workers: f64 = setting(docs, api, "SERVER_WORKER_AMOUNT").unwrap().parse().unwrap();
        assert_eq!(workers, request.floor().max(1.0), "{release}: {workers} workers for {request} cores");

        // Redis refuses writes before the kernel kills it, and never evicts (locks carry a TTL).
        let redis = &pod(docs, "StatefulSet", "redis")["containers"][0];
        let args: Vec<&str> = redis["args"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
        let at = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
        let ceiling = bytes(at("--maxmemory").unwrap_or_else(|| panic!("{release}: no --maxmemory: {args:?}")));
        let limit = bytes(redis["resources"]["limits"]["memory"].as_str().unwrap());
        assert!(ceiling <= 0.8 * limit && ceiling >= 0.5 * limit, "{release}: {ceiling} of {limit}");
        assert_eq!(at("--maxmemory-policy"), Some("noeviction"), "{release}");
        assert_eq!(
            args[..3],
            ["redis-server", "--requirepass", "$(REDISCLI_AUTH)"],
            "{release}: compose's command first"
        );

        // postgres's /dev/shm is memory, bounded, and inside its memory limit.
        let pg = pod(docs, "StatefulSet", "postgres");
        let c = &pg["containers"][0];
        let mount = c["volumeMounts"].as_sequence().unwrap().iter().find(|m| m["mountPath"] == "/dev/shm");
        let volume_name = mount.unwrap_or_else(|| panic!("{release}: no /dev/shm"))["name"].as_str().unwrap();
        let volume = pg["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == volume_name).unwrap();
        assert_eq!(volume["emptyDir"]["medium"], "Memory", "{release}");
        let shm = bytes(volume["emptyDir"]["sizeLimit"].as_str().unwrap());
        assert!(shm > 64.0 * 1024.0 * 1024.0, "{release}: no more than Docker's 64 MB");
        assert!(shm < bytes(c["resources"]["limits"]["memory"].as_str().unwrap()), "{release}");

        // weaviate's Go heap target is 80-90% of its limit (Weaviate's resource planning).
        let weaviate = &pod(docs, "StatefulSet", "weaviate")["containers"][0];
        let target =
            bytes(&setting(docs, weaviate, "GOMEMLIMIT").unwrap_or_else(|| panic!("{release}: no GOMEMLIMIT")));
        let limit = bytes(weaviate["resources"]["limits"]["memory"].as_str().unwrap());
        assert!((0.79..=0.9).contains(&(target / limit)), "{release}: GOMEMLIMIT {target} of {limit}");

        // Plugins and tools fetch files from the api Service, inside the cluster.
        for name in ["api", "worker", "plugin-daemon"] {
            let c = &pod(docs, "Deployment", name)["containers"][0];
            if name == "plugin-daemon" && setting(docs, c, "INTERNAL_FILES_URL").is_none() {
                continue;
            }
            assert_eq!(setting(docs, c, "INTERNAL_FILES_URL").as_deref(), Some("http://api:5001"), "{release} {name}");
        }
        assert!(service_ports(get(docs, "Service", "api")).contains(&5001), "{release}");
    }
}

#[test]
fn a_set_internal_files_url_wins_and_releases_without_it_get_none() {
    let docs = rendered("1.14.1", &["--set", "INTERNAL_FILES_URL=http://files.internal:8080"]);
    let api = &pod(docs, "Deployment", "api")["containers"][0];
    assert_eq!(setting(docs, api, "INTERNAL_FILES_URL").as_deref(), Some("http://files.internal:8080"));
    // 1.4.0 has no such setting: nothing is added.
    let docs = rendered("1.4.0", &[]);
    let api = &pod(docs, "Deployment", "api")["containers"][0];
    assert_eq!(setting(docs, api, "INTERNAL_FILES_URL"), None);
}
