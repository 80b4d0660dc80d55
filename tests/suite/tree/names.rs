//! SPEC.md's name invariant on the rendered objects: every host a container's settings point at is
//! a generated Service (short name, `name.dify`, or fully qualified) or outside the compose project
//! on purpose; no compose host name or Docker DNS address survives in any ConfigMap; every nginx
//! `proxy_pass` and squid `cache_peer` reaches a Service.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use yaml_serde::Value;

const NAMESPACE: &str = "dify";

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// What a ConfigMap or a Secret (after setup-secrets, so `stringData`) holds.
fn data_of(docs: &[Value], kind: &str, name: &str) -> BTreeMap<String, String> {
    let obj = get(docs, kind, name);
    let mut data = string_map(&obj["data"]);
    data.extend(string_map(&obj["stringData"]));
    data
}

/// A container's environment as the kubelet builds it: `envFrom` in order (later wins), then `env`,
/// whose `$(VAR)` references expand against what came before.
fn resolved_env(docs: &[Value], container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for from in seq(&container["envFrom"]) {
        let prefix = from["prefix"].as_str().unwrap_or("");
        let source = if let Some(name) = from["configMapRef"]["name"].as_str() {
            data_of(docs, "ConfigMap", name)
        } else {
            data_of(docs, "Secret", from["secretRef"]["name"].as_str().expect("envFrom names a source"))
        };
        env.extend(source.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)));
    }
    for e in seq(&container["env"]) {
        let name = e["name"].as_str().expect("env name").to_string();
        let value = if let Some(v) = e["value"].as_str() {
            env.iter().fold(v.to_string(), |acc, (k, x)| acc.replace(&format!("$({k})"), x))
        } else if let Some((kind, r)) = [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")]
            .into_iter()
            .map(|(kind, field)| (kind, &e["valueFrom"][field]))
            .find(|(_, r)| !r.is_null())
        {
            let (name, key) = (r["name"].as_str().expect("ref name"), r["key"].as_str().expect("ref key"));
            data_of(docs, kind, name).remove(key).unwrap_or_else(|| panic!("{kind} {name} has no {key}"))
        } else {
            continue; // fieldRef and the like name no host
        };
        env.insert(name, value);
    }
    env
}

fn strip_port(host_port: &str) -> &str {
    match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    }
}

/// `name:1234` with a name that has a letter in it (not a time or a ratio).
fn is_host_port(token: &str) -> bool {
    let host = strip_port(token);
    host != token
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Hosts a setting points at: the host of every URL in it, every `host:port`, and the whole value
/// of a `*_HOST`/`*_HOSTS` setting.
fn hosts_in(key: &str, value: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    for token in value.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|t| !t.is_empty()) {
        if let Some((_, rest)) = token.split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            hosts.push(strip_port(host_port).to_string());
        } else if is_host_port(token) || key.ends_with("_HOST") || key.ends_with("_HOSTS") {
            hosts.push(strip_port(token).to_string());
        }
    }
    hosts.retain(|h| !h.is_empty());
    hosts
}

/// What the compose project calls its services, and which ones the tree leaves out on purpose.
struct Project {
    /// service name, `container_name` or `hostname` → service
    hosts: BTreeMap<String, String>,
    /// services GENERATED.md lists as not deployed
    not_deployed: BTreeSet<String>,
}

impl Project {
    fn read(release: &str, generated_md: &str) -> Self {
        let text = std::fs::read_to_string(compose(release)).expect("compose file");
        let file: Value = yaml_serde::from_str(&text).expect("compose yaml");
        let mut hosts = BTreeMap::new();
        for (name, svc) in file["services"].as_mapping().expect("services") {
            let name = name.as_str().expect("service name").to_string();
            for alias in [&svc["container_name"], &svc["hostname"]].into_iter().filter_map(Value::as_str) {
                hosts.insert(alias.to_string(), name.clone());
            }
            hosts.insert(name.clone(), name);
        }
        let not_deployed = generated_md
            .split("## Upstream services not deployed")
            .nth(1)
            .expect("GENERATED.md lists services not deployed")
            .lines()
            .filter_map(|l| l.strip_prefix("- `")?.split('`').next().map(String::from))
            .collect();
        Project { hosts, not_deployed }
    }
}

#[derive(Debug, PartialEq)]
enum Host {
    /// A generated Service, by its short name.
    Service(String),
    /// A compose service left out (its profile is off): the setting is dormant until it is deployed.
    Dormant,
    /// Not a compose host: an external system, a placeholder or a loopback address.
    External,
}

/// Where a host leads, or why it leads nowhere.
fn classify(host: &str, services: &BTreeSet<String>, project: &Project) -> Result<Host, String> {
    let in_namespace =
        [".svc.cluster.local", ".svc", ""].iter().find_map(|tail| host.strip_suffix(&format!(".{NAMESPACE}{tail}")));
    if let Some(short) = in_namespace {
        return match services.contains(short) {
            true => Ok(Host::Service(short.to_string())),
            false => Err(format!("{host} names no generated Service")),
        };
    }
    if services.contains(host) {
        return Ok(Host::Service(host.to_string()));
    }
    if let Some(service) = project.hosts.get(host) {
        return match project.not_deployed.contains(service) {
            true => Ok(Host::Dormant),
            false => Err(format!("{host} is compose service {service}'s host, not a generated Service")),
        };
    }
    if host.contains('_') && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
        return Err(format!("{host} is no DNS name"));
    }
    Ok(Host::External)
}

struct Tree {
    docs: Vec<Value>,
    services: BTreeSet<String>,
    project: Project,
}

impl Tree {
    fn render(release: &str) -> Self {
        let (dir, docs) = generate_and_render(release, &[]);
        let generated = std::fs::read_to_string(dir.path().join("k8s/GENERATED.md")).expect("GENERATED.md");
        let services = docs
            .iter()
            .filter(|d| d["kind"].as_str() == Some("Service"))
            .filter_map(|d| d["metadata"]["name"].as_str().map(String::from))
            .collect();
        Tree { docs, services, project: Project::read(release, &generated) }
    }

    fn workloads(&self) -> impl Iterator<Item = &Value> {
        self.docs.iter().filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet" | "Job")))
    }

    fn env_of(&self, workload: &str) -> BTreeMap<String, String> {
        let w = self.workloads().find(|w| w["metadata"]["name"].as_str() == Some(workload)).expect("workload");
        resolved_env(&self.docs, &w["spec"]["template"]["spec"]["containers"][0])
    }

    /// Every ConfigMap's values, with the ConfigMap and key they come from.
    fn config_texts(&self) -> Vec<(String, &str)> {
        let maps = self.docs.iter().filter(|d| d["kind"].as_str() == Some("ConfigMap"));
        maps.flat_map(|m| {
            let name = m["metadata"]["name"].as_str().unwrap_or("?");
            m["data"]
                .as_mapping()
                .into_iter()
                .flatten()
                .filter_map(move |(k, v)| Some((format!("{name}/{}", k.as_str()?), v.as_str()?)))
        })
        .collect()
    }
}

fn every_setting_points_at_a_service(release: &str) {
    let t = Tree::render(release);
    let mut checked = 0;
    for w in t.workloads() {
        let workload = w["metadata"]["name"].as_str().unwrap();
        for c in seq(&w["spec"]["template"]["spec"]["containers"]) {
            for (key, value) in resolved_env(&t.docs, c) {
                for host in hosts_in(&key, &value) {
                    checked += 1;
                    if let Err(why) = classify(&host, &t.services, &t.project) {
                        panic!("{release}: {workload} {key}={value}: {why}");
                    }
                }
            }
        }
    }
    assert!(checked > 50, "{release}: only {checked} hosts found in settings");

    let expected: &[(&str, &[(&str, &str)])] = &[
        (
            "api",
            &[
                ("DB_HOST", "postgres"),
                ("REDIS_HOST", "redis"),
                ("CODE_EXECUTION_ENDPOINT", "sandbox"),
                ("SSRF_PROXY_HTTP_URL", "ssrf-proxy"),
                ("SSRF_PROXY_HTTPS_URL", "ssrf-proxy"),
                ("PLUGIN_DAEMON_URL", "plugin-daemon"),
                ("CELERY_BROKER_URL", "redis"),
                ("WEAVIATE_ENDPOINT", "weaviate"),
            ],
        ),
        (
            "worker",
            &[
                ("DB_HOST", "postgres"),
                ("REDIS_HOST", "redis"),
                ("CELERY_BROKER_URL", "redis"),
                ("WEAVIATE_ENDPOINT", "weaviate"),
            ],
        ),
        (
            "plugin-daemon",
            &[
                ("DB_HOST", "postgres"),
                ("REDIS_HOST", "redis"),
                ("DIFY_INNER_API_URL", "api"),
                ("PLUGIN_DIFY_INNER_API_URL", "api"),
            ],
        ),
        ("sandbox", &[("HTTP_PROXY", "ssrf-proxy"), ("HTTPS_PROXY", "ssrf-proxy")]),
        ("ssrf-proxy", &[("SANDBOX_HOST", "sandbox")]),
    ];
    for (workload, settings) in expected {
        let env = t.env_of(workload);
        for (key, service) in *settings {
            let value = env.get(*key).unwrap_or_else(|| panic!("{release}: {workload} has no {key}"));
            let hosts = hosts_in(key, value);
            assert!(!hosts.is_empty(), "{release}: {workload} {key}={value} names no host");
            for host in hosts {
                assert_eq!(
                    classify(&host, &t.services, &t.project),
                    Ok(Host::Service(service.to_string())),
                    "{release}: {workload} {key}={value}"
                );
            }
        }
    }
}

#[test]
fn every_setting_points_at_a_service_1_14_1() {
    every_setting_points_at_a_service("1.14.1");
}

#[test]
fn every_setting_points_at_a_service_1_8_0() {
    every_setting_points_at_a_service("1.8.0");
}

/// `word` in `text` with no name character on either side.
fn mentions_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(at, _)| !text[..at].ends_with(is_name) && !text[at + word.len()..].starts_with(is_name))
}

fn no_compose_host_in_config_maps(release: &str) {
    let t = Tree::render(release);
    // Compose names that are no DNS name can never be a Service: none may stand in a ConfigMap.
    let undeployable: Vec<&String> = t.project.hosts.keys().filter(|h| h.contains('_')).collect();
    assert!(!undeployable.is_empty());
    for (source, text) in t.config_texts() {
        assert!(!text.contains("127.0.0.11"), "{release}: {source} keeps Docker's DNS");
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for name in &undeployable {
                assert!(!mentions_word(line, name), "{release}: {source} names compose host {name}: {line}");
            }
        }
    }
}

#[test]
fn no_compose_host_in_config_maps_1_14_1() {
    no_compose_host_in_config_maps("1.14.1");
}

#[test]
fn no_compose_host_in_config_maps_1_8_0() {
    no_compose_host_in_config_maps("1.8.0");
}

/// The value of `set $name value;` in an nginx file.
fn nginx_variable<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("set ")?.trim_start().strip_prefix(name)?;
        Some(rest.trim().trim_end_matches(';').trim())
    })
}

/// The ConfigMaps a workload mounts.
fn mounted_config_maps<'a>(t: &'a Tree, workload: &str) -> Vec<&'a Value> {
    let w = t.workloads().find(|w| w["metadata"]["name"].as_str() == Some(workload)).expect("workload");
    seq(&w["spec"]["template"]["spec"]["volumes"])
        .iter()
        .filter_map(|v| v["configMap"]["name"].as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|name| get(&t.docs, "ConfigMap", name))
        .collect()
}

fn proxies_reach_services(release: &str) {
    let t = Tree::render(release);
    let mut upstreams = BTreeSet::new();
    for cm in mounted_config_maps(&t, "nginx") {
        for (key, text) in string_map(&cm["data"]) {
            for line in text.lines().map(str::trim).filter(|l| l.starts_with("proxy_pass ")) {
                let target = line["proxy_pass ".len()..].trim_end_matches(';').trim();
                let after_scheme = target.split_once("://").map_or(target, |(_, r)| r);
                let mut host_port = after_scheme.split('/').next().unwrap_or("");
                if let Some(var) = host_port.strip_prefix('$') {
                    host_port = nginx_variable(&text, &format!("${var}"))
                        .unwrap_or_else(|| panic!("{release}: {key}: ${var} is never set"));
                }
                let host = strip_port(host_port);
                match classify(host, &t.services, &t.project) {
                    Ok(Host::Service(s)) => {
                        upstreams.insert(s);
                    }
                    other => panic!("{release}: nginx {key}: {line} leads to {other:?}"),
                }
            }
        }
    }
    for needed in ["api", "web", "plugin-daemon"] {
        assert!(upstreams.contains(needed), "{release}: nginx never proxies to {needed}: {upstreams:?}");
    }
    let mut peers = 0;
    for cm in mounted_config_maps(&t, "ssrf-proxy") {
        for (key, text) in string_map(&cm["data"]) {
            for line in text.lines().filter(|l| l.starts_with("cache_peer ")) {
                let host = line.split_whitespace().nth(1).unwrap_or("");
                assert_eq!(
                    classify(host, &t.services, &t.project),
                    Ok(Host::Service("sandbox".into())),
                    "{release}: squid {key}: {line}"
                );
                peers += 1;
            }
        }
    }
    assert!(peers > 0, "{release}: squid reverse-proxies to no sandbox");
}

#[test]
fn proxies_reach_services_1_14_1() {
    proxies_reach_services("1.14.1");
}

#[test]
fn proxies_reach_services_1_8_0() {
    proxies_reach_services("1.8.0");
}

#[test]
fn host_extraction_and_classification() {
    assert_eq!(hosts_in("CELERY_BROKER_URL", "redis://:pw@redis:6379/1"), ["redis"]);
    assert_eq!(hosts_in("X", "http://a:1,https://b.example.com/x"), ["a", "b.example.com"]);
    assert_eq!(hosts_in("UPSTREAM", "api-websocket:5001"), ["api-websocket"]);
    assert_eq!(hosts_in("DB_HOST", "db_postgres"), ["db_postgres"]);
    assert!(hosts_in("LOG_DATEFORMAT", "%H:%M:%S 10:30").is_empty());
    let services: BTreeSet<String> = ["api".to_string(), "postgres".to_string()].into();
    let project = Project {
        hosts: [("db_postgres", "db_postgres"), ("api", "api"), ("qdrant", "qdrant")]
            .map(|(h, s)| (h.to_string(), s.to_string()))
            .into(),
        not_deployed: ["qdrant".to_string()].into(),
    };
    let is = |h: &str| classify(h, &services, &project);
    assert_eq!(is("api.dify.svc.cluster.local"), Ok(Host::Service("api".into())));
    assert_eq!(is("postgres.dify"), Ok(Host::Service("postgres".into())));
    assert!(is("db_postgres").is_err(), "a compose host that is not a Service");
    assert!(is("weaviate.dify.svc").is_err(), "no such Service");
    assert!(is("ssrf_proxy").is_err(), "not a DNS name");
    assert_eq!(is("qdrant"), Ok(Host::Dormant));
    assert_eq!(is("api.openai.com"), Ok(Host::External));
}
