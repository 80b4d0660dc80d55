//! Config files compose bind-mounts (nginx, squid, sandbox) as ConfigMaps: a setting a template
//! reads rolls exactly the pods that read it, the files reach their containers, no ConfigMap holds
//! a secret, and the sandbox's config carries no public default key.

use std::collections::BTreeMap;

use crate::common::*;
use serde::Deserialize;
use yaml_serde::Value;

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

fn workload<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    find(docs, "Deployment", name).or_else(|| find(docs, "StatefulSet", name)).expect("workload")
}

/// What decides whether a workload's pods roll: its checksum annotation and the ConfigMaps it names.
fn rollout_identity(docs: &[Value], name: &str) -> String {
    let template = &workload(docs, name)["spec"]["template"];
    let mut names: Vec<&str> = seq(&template["spec"]["volumes"])
        .iter()
        .filter_map(|v| v["configMap"]["name"].as_str())
        .chain(
            seq(&template["spec"]["containers"])
                .iter()
                .flat_map(|c| seq(&c["envFrom"]).iter().filter_map(|f| f["configMapRef"]["name"].as_str())),
        )
        .collect();
    names.sort();
    let checksum = template["metadata"]["annotations"]["checksum/config"].as_str().unwrap_or("");
    format!("{checksum} {names:?}")
}

/// ConfigMap key → content of every file a workload's pods see from a ConfigMap volume.
fn mounted_files(docs: &[Value], name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in seq(&workload(docs, name)["spec"]["template"]["spec"]["volumes"]) {
        let Some(cm) = v["configMap"]["name"].as_str() else { continue };
        let items: Vec<&str> = seq(&v["configMap"]["items"]).iter().filter_map(|i| i["key"].as_str()).collect();
        for (k, text) in get(docs, "ConfigMap", cm)["data"].as_mapping().into_iter().flatten() {
            let key = k.as_str().unwrap_or("");
            if items.is_empty() || items.contains(&key) {
                out.insert(key.to_string(), text.as_str().unwrap_or("").to_string());
            }
        }
    }
    out
}

#[test]
fn a_template_setting_rolls_only_the_pods_that_read_it() {
    let default = rendered("1.14.1", &[]);
    let nginx_set = rendered("1.14.1", &["--set", "NGINX_CLIENT_MAX_BODY_SIZE=15M"]);
    let squid_set = rendered("1.14.1", &["--set", "SSRF_COREDUMP_DIR=/var/spool/squid-alt"]);

    assert!(mounted_files(nginx_set, "nginx").values().any(|f| f.contains("client_max_body_size 15M;")));
    assert!(mounted_files(squid_set, "ssrf-proxy").values().any(|f| f.contains("coredump_dir /var/spool/squid-alt")));

    let same = |docs: &[Value], name: &str| rollout_identity(default, name) == rollout_identity(docs, name);
    assert!(!same(nginx_set, "nginx"), "nginx does not roll when its template's setting changes");
    assert!(!same(squid_set, "ssrf-proxy"), "ssrf-proxy does not roll when squid's setting changes");
    assert!(same(nginx_set, "ssrf-proxy") && same(squid_set, "nginx"), "a proxy rolls for the other's setting");
    for unrelated in ["redis", "postgres"] {
        assert!(same(nginx_set, unrelated) && same(squid_set, unrelated), "{unrelated} rolls for a proxy setting");
    }
}

#[test]
fn nginx_and_squid_get_their_config_files() {
    for release in ["1.14.1", "1.8.0"] {
        let docs = rendered(release, &[]);
        let nginx = mounted_files(docs, "nginx");
        assert!(nginx.values().any(|f| f.contains("location /console/api")), "{release}: nginx has no routes");
        let squid = mounted_files(docs, "ssrf-proxy");
        assert!(squid.values().any(|f| f.contains("http_port")), "{release}: squid has no http_port");
    }
}

/// `*` matches any run of characters, as in the rules' secret patterns.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            name.starts_with(head)
                && (head.len()..=name.len()).any(|i| name.is_char_boundary(i) && glob(rest, &name[i..]))
        }
    }
}

/// The rules' notion of a secret-looking name, read from the rule files themselves.
struct SecretNames {
    patterns: Vec<String>,
    not_secret: Vec<String>,
    keys: Vec<String>,
}

impl SecretNames {
    fn from_rules() -> Self {
        let read = |file: &str| -> Value {
            let text = std::fs::read_to_string(repo().join("mappings").join(file)).expect("rules file");
            yaml_serde::from_str(&text).expect("rules yaml")
        };
        let (generic, dify) = (read("generic.yaml"), read("dify.yaml"));
        let list = |field: &str| -> Vec<String> {
            [&generic, &dify]
                .iter()
                .flat_map(|r| seq(&r["secrets"][field]))
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        };
        SecretNames { patterns: list("patterns"), not_secret: list("not_secret"), keys: list("keys") }
    }

    fn is_secret(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k == name)
            || (self.patterns.iter().any(|p| glob(p, name)) && !self.not_secret.iter().any(|p| glob(p, name)))
    }
}

fn config_maps_in(tree: &Files) -> Vec<Value> {
    tree.iter()
        .filter(|(path, _)| path.ends_with(".yaml"))
        .flat_map(|(_, (bytes, _))| {
            let text = std::str::from_utf8(bytes).expect("utf-8");
            yaml_serde::Deserializer::from_str(text)
                .map(|d| Value::deserialize(d).expect("yaml doc"))
                .collect::<Vec<_>>()
        })
        .filter(|d| d["kind"].as_str() == Some("ConfigMap"))
        .collect()
}

#[test]
fn no_config_map_holds_a_secret_looking_setting() {
    let names = SecretNames::from_rules();
    assert!(names.is_secret("DB_PASSWORD") && names.is_secret("SECRET_KEY") && names.is_secret("API_KEY"));
    assert!(!names.is_secret("REDIS_KEY_PREFIX") && !names.is_secret("TIDB_PUBLIC_KEY"), "exceptions hold");
    for release in RELEASES {
        let maps = config_maps_in(&made(release, &[]).files);
        assert!(maps.len() > 5, "{release}: only {} ConfigMaps", maps.len());
        for cm in maps {
            let cm_name = cm["metadata"]["name"].as_str().unwrap_or("?").to_string();
            for (k, v) in cm["data"].as_mapping().into_iter().flatten() {
                let key = k.as_str().unwrap_or("");
                let value = v.as_str().unwrap_or("");
                assert!(!names.is_secret(key) || value.is_empty(), "{release}: ConfigMap {cm_name} has {key}={value}");
            }
        }
    }
}

/// The sandbox's own key setting (`app.key` in its config.yaml).
fn config_key(config_yaml: &str) -> Option<String> {
    let config: Value = yaml_serde::from_str(config_yaml).expect("sandbox config.yaml");
    config["app"]["key"].as_str().map(String::from)
}

#[test]
fn sandbox_key_comes_from_the_secret_not_its_config_file() {
    for release in ["1.14.1", "1.8.0"] {
        let docs = rendered(release, &[]);
        let files = mounted_files(docs, "sandbox");
        let config = files.get("config.yaml").unwrap_or_else(|| panic!("{release}: sandbox has no config.yaml"));
        let key = config_key(config).unwrap_or_else(|| panic!("{release}: config.yaml has no app.key"));
        assert_ne!(key, "dify-sandbox", "{release}: config.yaml keeps upstream's public sandbox key");
        assert!(!key.is_empty(), "{release}: config.yaml's key is empty");

        // The image reads API_KEY over the file's key; it must come from a Secret, equal api's.
        let sandbox = &workload(docs, "sandbox")["spec"]["template"]["spec"]["containers"][0];
        let from_secret = secret_value(docs, sandbox, "API_KEY")
            .unwrap_or_else(|| panic!("{release}: the sandbox's API_KEY comes from no Secret"));
        let api = &workload(docs, "api")["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(Some(from_secret.clone()), secret_value(docs, api, "CODE_EXECUTION_API_KEY"), "{release}");
        assert!(from_secret.len() >= 16 && from_secret != key, "{release}: API_KEY={from_secret}");
    }
}

/// A container's setting when it comes from a Secret (envFrom secretRef or env secretKeyRef).
fn secret_value(docs: &[Value], container: &Value, name: &str) -> Option<String> {
    let string_data = |secret: &str| get(docs, "Secret", secret)["stringData"].clone();
    let by_env = seq(&container["env"]).iter().find(|e| e["name"].as_str() == Some(name)).and_then(|e| {
        let r = &e["valueFrom"]["secretKeyRef"];
        string_data(r["name"].as_str()?)[r["key"].as_str()?].as_str().map(String::from)
    });
    by_env.or_else(|| {
        seq(&container["envFrom"]).iter().rev().find_map(|f| {
            let secret = f["secretRef"]["name"].as_str()?;
            string_data(secret)[name].as_str().map(String::from)
        })
    })
}

/// squid's deny ACL and the ssrf-proxy's egress policy keep out the same blocks, so a cluster that
/// ignores NetworkPolicies gets the same protection from squid alone.
#[test]
fn ssrf_proxy_acl_and_egress_policy_deny_the_same_blocks() {
    for release in RELEASES {
        let docs = rendered(release, &[]);
        let conf = mounted_files(docs, "ssrf-proxy")["squid.conf"].clone();
        let acl: Vec<String> = conf
            .lines()
            .find_map(|l| l.strip_prefix("acl compose2dify_private dst "))
            .unwrap_or_else(|| panic!("{release}: squid.conf has no deny ACL for private destinations"))
            .split_whitespace()
            .map(|b| if b.contains('/') { b.to_string() } else { format!("{b}/128") })
            .collect();
        // The two denies (the cluster's names, then the private ranges) come before every other
        // http_access line.
        let first_access = conf.lines().position(|l| l.starts_with("http_access")).unwrap();
        let names =
            conf.lines().position(|l| l == "http_access deny !compose2dify_reverse_proxy compose2dify_cluster_names");
        let deny = conf.lines().position(|l| {
            l == "http_access deny !compose2dify_reverse_proxy !compose2dify_allowed compose2dify_private"
        });
        assert_eq!(names, Some(first_access), "{release}: the name deny must come before every other http_access");
        assert_eq!(deny, Some(first_access + 1), "{release}: the range deny must come next");
        let policy = get(docs, "NetworkPolicy", "restrict-egress-ssrf-proxy");
        let mut except: Vec<String> = seq(&policy["spec"]["egress"])
            .iter()
            .flat_map(|r| seq(&r["to"]))
            .flat_map(|p| seq(&p["ipBlock"]["except"]))
            .map(|b| b.as_str().unwrap().to_string())
            .collect();
        except.sort();
        let mut acl = acl;
        acl.sort();
        assert_eq!(acl, except, "{release}: squid and the NetworkPolicy keep out different blocks");
        for must in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "127.0.0.0/8",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
            "::/128",
            "64:ff9b::/96",
        ] {
            assert!(acl.iter().any(|b| b == must), "{release}: {must} is not kept out");
        }
    }
}
