//! Network isolation as a cluster enforces it. A small evaluator of Kubernetes NetworkPolicy
//! semantics runs over the rendered objects and answers, for one connection, whether the source's
//! egress and the destination's ingress both allow it. The flows Dify needs must be allowed, the ones
//! SPEC.md forbids (sandbox to the internet, the outside to anything but nginx, other namespaces to
//! the data stores) must be denied.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::common::*;
use yaml_serde::Value;

type Labels = BTreeMap<String, String>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn labels_of(v: &Value) -> Labels {
    v.as_mapping()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

/// A container port as a pod declares it.
#[derive(Clone, Debug)]
struct ContainerPort {
    name: Option<String>,
    number: i64,
    protocol: String,
}

/// A pod in some namespace.
#[derive(Clone, Debug)]
struct Pod {
    namespace: String,
    namespace_labels: Labels,
    labels: Labels,
    ports: Vec<ContainerPort>,
}

/// One end of a connection: a pod, or an address outside the cluster. Pod IPs are left out on
/// purpose: whether an ipBlock matches pod IPs is up to the network plugin, so no test relies on it.
#[derive(Clone, Debug)]
struct Endpoint {
    name: String,
    pod: Option<Pod>,
    ip: Option<Ipv4Addr>,
}

impl Endpoint {
    fn outside(name: &str, ip: [u8; 4]) -> Self {
        Endpoint { name: name.into(), pod: None, ip: Some(Ipv4Addr::from(ip)) }
    }

    fn pod(name: &str, namespace: &str, pod_labels: Labels, ports: Vec<ContainerPort>) -> Self {
        let namespace_labels = labels(&[("kubernetes.io/metadata.name", namespace)]);
        let pod = Pod { namespace: namespace.into(), namespace_labels, labels: pod_labels, ports };
        Endpoint { name: name.into(), pod: Some(pod), ip: None }
    }
}

/// `matchLabels` and `matchExpressions`; an empty selector matches everything.
fn selector_matches(selector: &Value, l: &Labels) -> bool {
    let by_labels = labels_of(&selector["matchLabels"]).iter().all(|(k, v)| l.get(k) == Some(v));
    let by_expressions = seq(&selector["matchExpressions"]).iter().all(|e| {
        let key = e["key"].as_str().expect("expression key");
        let values: Vec<&str> = seq(&e["values"]).iter().filter_map(Value::as_str).collect();
        let have = l.get(key).map(String::as_str);
        match e["operator"].as_str() {
            Some("In") => have.is_some_and(|h| values.contains(&h)),
            Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
            Some("Exists") => have.is_some(),
            Some("DoesNotExist") => have.is_none(),
            other => panic!("unknown selector operator {other:?}"),
        }
    });
    by_labels && by_expressions
}

fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    let (net, bits) = cidr.split_once('/').expect("CIDR with a prefix length");
    if net.contains(':') {
        return false; // an IPv6 block holds no IPv4 address
    }
    let net: Ipv4Addr = net.parse().expect("IPv4 CIDR");
    let bits: u32 = bits.parse().expect("prefix length");
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(net) & mask == u32::from(ip) & mask
}

/// Does a `from`/`to` peer of a policy in `policy_ns` match this endpoint?
fn peer_matches(peer: &Value, policy_ns: &str, e: &Endpoint) -> bool {
    if !peer["ipBlock"].is_null() {
        let Some(ip) = e.ip else { return false };
        let block = &peer["ipBlock"];
        let cidr = block["cidr"].as_str().expect("ipBlock cidr");
        return cidr_contains(cidr, ip)
            && !seq(&block["except"]).iter().any(|x| cidr_contains(x.as_str().expect("except CIDR"), ip));
    }
    let Some(pod) = &e.pod else { return false };
    let namespace_ok = if peer["namespaceSelector"].is_null() {
        pod.namespace == policy_ns
    } else {
        selector_matches(&peer["namespaceSelector"], &pod.namespace_labels)
    };
    let pod_ok = peer["podSelector"].is_null() || selector_matches(&peer["podSelector"], &pod.labels);
    namespace_ok && pod_ok
}

/// Does a policy port entry admit `port`/`protocol` on the destination? A named port is looked up
/// among the destination pod's container ports.
fn port_matches(entry: &Value, dst: &Endpoint, port: i64, protocol: &str) -> bool {
    if entry["protocol"].as_str().unwrap_or("TCP") != protocol {
        return false;
    }
    match &entry["port"] {
        Value::Null => true,
        Value::Number(n) => {
            let first = n.as_i64().expect("port number");
            let last = entry["endPort"].as_i64().unwrap_or(first);
            (first..=last).contains(&port)
        }
        Value::String(name) => dst.pod.as_ref().is_some_and(|p| {
            p.ports.iter().any(|c| c.name.as_deref() == Some(name) && c.number == port && c.protocol == protocol)
        }),
        other => panic!("unexpected port {other:?}"),
    }
}

fn policy_types(spec: &Value) -> Vec<String> {
    match spec["policyTypes"].as_sequence() {
        Some(types) => types.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        None if spec["egress"].is_null() => vec!["Ingress".into()],
        None => vec!["Ingress".into(), "Egress".into()],
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Ingress,
    Egress,
}

/// Is the `subject` pod's side of a connection allowed? `peer` is the other end; `dst` is whichever
/// of the two receives it (its ports name the port). A non-pod subject is never isolated.
fn side_allows(
    policies: &[Value],
    dir: Direction,
    subject: &Endpoint,
    peer: &Endpoint,
    dst: &Endpoint,
    port: i64,
    protocol: &str,
) -> bool {
    let Some(pod) = &subject.pod else { return true };
    let (kind, rules_key, peers_key) = match dir {
        Direction::Ingress => ("Ingress", "ingress", "from"),
        Direction::Egress => ("Egress", "egress", "to"),
    };
    let selecting: Vec<&Value> = policies
        .iter()
        .filter(|p| {
            p["metadata"]["namespace"].as_str() == Some(pod.namespace.as_str())
                && selector_matches(&p["spec"]["podSelector"], &pod.labels)
                && policy_types(&p["spec"]).iter().any(|t| t == kind)
        })
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        let ns = p["metadata"]["namespace"].as_str().expect("policy namespace");
        seq(&p["spec"][rules_key]).iter().any(|rule| {
            let peers = seq(&rule[peers_key]);
            let ports = seq(&rule["ports"]);
            (peers.is_empty() || peers.iter().any(|x| peer_matches(x, ns, peer)))
                && (ports.is_empty() || ports.iter().any(|x| port_matches(x, dst, port, protocol)))
        })
    })
}

/// A connection needs the source's egress and the destination's ingress.
fn allowed(policies: &[Value], src: &Endpoint, dst: &Endpoint, port: i64, protocol: &str) -> bool {
    side_allows(policies, Direction::Egress, src, dst, dst, port, protocol)
        && side_allows(policies, Direction::Ingress, dst, src, dst, port, protocol)
}

fn policies_from(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text).map(|d| Value::deserialize(d).expect("policy yaml")).collect()
}

fn web_port() -> Vec<ContainerPort> {
    vec![ContainerPort { name: Some("http".into()), number: 8080, protocol: "TCP".into() }]
}

#[test]
fn evaluator_denies_and_allows_by_kubernetes_rules() {
    let server = Endpoint::pod("server", "shop", labels(&[("app", "server")]), web_port());
    let client = Endpoint::pod("client", "shop", labels(&[("app", "client")]), vec![]);
    let stranger = Endpoint::pod("stranger", "shop", labels(&[("app", "stranger")]), vec![]);
    let lookalike = Endpoint::pod("lookalike", "elsewhere", labels(&[("app", "client")]), vec![]);
    let outside = Endpoint::outside("outside", [203, 0, 113, 7]);

    assert!(allowed(&[], &stranger, &server, 8080, "TCP"), "no policy: everything flows");

    let deny_all = policies_from("metadata: {namespace: shop}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n");
    assert!(!allowed(&deny_all, &client, &server, 8080, "TCP"));
    assert!(allowed(&deny_all, &server, &outside, 443, "TCP"), "ingress isolation leaves egress open");

    let mut with_allow = deny_all.clone();
    with_allow.extend(policies_from(
        "metadata: {namespace: shop}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
",
    ));
    assert!(allowed(&with_allow, &client, &server, 8080, "TCP"), "named port resolves on the destination");
    assert!(!allowed(&with_allow, &client, &server, 8080, "UDP"), "protocol defaults to TCP");
    assert!(!allowed(&with_allow, &client, &server, 9090, "TCP"));
    assert!(!allowed(&with_allow, &stranger, &server, 8080, "TCP"));
    assert!(!allowed(&with_allow, &lookalike, &server, 8080, "TCP"), "podSelector alone stays in its namespace");
    assert!(!allowed(&with_allow, &outside, &server, 8080, "TCP"));

    let cross_namespace = policies_from(
        "metadata: {namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [server]}]}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}, podSelector: {}}]
  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]
    ports: [{port: 8000, endPort: 8080}]
",
    );
    assert!(allowed(&cross_namespace, &lookalike, &server, 8080, "TCP"));
    assert!(!allowed(&cross_namespace, &client, &server, 8080, "TCP"), "own namespace not selected");
    assert!(allowed(&cross_namespace, &outside, &server, 8080, "TCP"), "inside the block and the port range");
    assert!(!allowed(&cross_namespace, &outside, &server, 8081, "TCP"), "past endPort");
    let excepted = Endpoint::outside("excepted", [203, 0, 113, 200]);
    assert!(!allowed(&cross_namespace, &excepted, &server, 8080, "TCP"), "except carves out");

    // Egress rules without policyTypes: the policy isolates both directions.
    let egress_only = policies_from(
        "metadata: {namespace: shop}
spec:
  podSelector: {matchLabels: {app: client}}
  egress:
  - to: [{podSelector: {matchLabels: {app: server}}}]
",
    );
    assert!(allowed(&egress_only, &client, &server, 8080, "TCP"));
    assert!(!allowed(&egress_only, &client, &outside, 443, "TCP"));
    assert!(!allowed(&egress_only, &stranger, &client, 80, "TCP"), "ingress isolated by default type");
}

/// Every workload's pod template as an endpoint, by workload name (`Job/<name>` for Jobs).
fn workload_pods(docs: &[Value]) -> BTreeMap<String, Endpoint> {
    let namespace_labels: BTreeMap<String, Labels> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Namespace"))
        .map(|d| {
            let name = d["metadata"]["name"].as_str().expect("namespace name").to_string();
            let mut l = labels_of(&d["metadata"]["labels"]);
            l.insert("kubernetes.io/metadata.name".into(), name.clone());
            (name, l)
        })
        .collect();
    docs.iter()
        .filter_map(|d| {
            let kind = d["kind"].as_str()?;
            let name = d["metadata"]["name"].as_str().expect("workload name").to_string();
            let (name, template) = match kind {
                "Deployment" | "StatefulSet" => (name, &d["spec"]["template"]),
                "Job" => (format!("Job/{name}"), &d["spec"]["template"]),
                "CronJob" => (format!("CronJob/{name}"), &d["spec"]["jobTemplate"]["spec"]["template"]),
                _ => return None,
            };
            let namespace = d["metadata"]["namespace"].as_str().expect("workload namespace").to_string();
            let ports = seq(&template["spec"]["containers"])
                .iter()
                .flat_map(|c| seq(&c["ports"]))
                .map(|p| ContainerPort {
                    name: p["name"].as_str().map(String::from),
                    number: p["containerPort"].as_i64().expect("containerPort"),
                    protocol: p["protocol"].as_str().unwrap_or("TCP").to_string(),
                })
                .collect();
            let pod = Pod {
                namespace_labels: namespace_labels
                    .get(&namespace)
                    .cloned()
                    .unwrap_or_else(|| labels(&[("kubernetes.io/metadata.name", namespace.as_str())])),
                namespace,
                labels: labels_of(&template["metadata"]["labels"]),
                ports,
            };
            Some((name.clone(), Endpoint { name, pod: Some(pod), ip: None }))
        })
        .collect()
}

/// A Service port → the container port and protocol it forwards to on the workload's pod.
fn through_service(docs: &[Value], dst: &Endpoint, service: &str, port: i64) -> (i64, String) {
    let svc = get(docs, "Service", service);
    let entry = seq(&svc["spec"]["ports"])
        .iter()
        .find(|p| p["port"].as_i64() == Some(port))
        .unwrap_or_else(|| panic!("Service {service} has no port {port}"));
    let protocol = entry["protocol"].as_str().unwrap_or("TCP").to_string();
    let target = match &entry["targetPort"] {
        Value::Null => port,
        Value::Number(n) => n.as_i64().expect("targetPort"),
        Value::String(name) => {
            dst.pod
                .as_ref()
                .and_then(|p| p.ports.iter().find(|c| c.name.as_deref() == Some(name)))
                .unwrap_or_else(|| panic!("Service {service} targets port {name}, which {} lacks", dst.name))
                .number
        }
        other => panic!("unexpected targetPort {other:?}"),
    };
    (target, protocol)
}

struct Cluster {
    policies: Vec<Value>,
    docs: Vec<Value>,
    pods: BTreeMap<String, Endpoint>,
}

impl Cluster {
    fn render(release: &str) -> Self {
        let docs = rendered(release, &[]);
        let policies = docs.iter().filter(|d| d["kind"].as_str() == Some("NetworkPolicy")).cloned().collect();
        let pods = workload_pods(docs);
        Cluster { policies, docs: docs.to_vec(), pods }
    }

    /// A compose file translated with `--preset generic`.
    fn generic(compose: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
        let out = dir.path().join("k8s");
        let o = bin()
            .arg(dir.path().join("compose.yaml"))
            .arg("-o")
            .arg(&out)
            .args(["--preset", "generic"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        setup_secrets(&out);
        let docs = render(&out);
        let policies = docs.iter().filter(|d| d["kind"].as_str() == Some("NetworkPolicy")).cloned().collect();
        let pods = workload_pods(&docs);
        Cluster { policies, docs, pods }
    }

    fn pod(&self, name: &str) -> &Endpoint {
        self.pods.get(name).unwrap_or_else(|| panic!("no workload {name}"))
    }

    /// May `src` open a connection to Service `service` on its port `port`?
    fn to_service(&self, src: &Endpoint, service: &str, port: i64) -> bool {
        let dst = self.pod(service);
        let (target, protocol) = through_service(&self.docs, dst, service, port);
        allowed(&self.policies, src, dst, target, &protocol)
    }
}

fn cluster_dns() -> Endpoint {
    Endpoint::pod(
        "cluster DNS",
        "kube-system",
        labels(&[("k8s-app", "kube-dns")]),
        vec![
            ContainerPort { name: Some("dns".into()), number: 53, protocol: "UDP".into() },
            ContainerPort { name: Some("dns-tcp".into()), number: 53, protocol: "TCP".into() },
        ],
    )
}

fn isolation_holds(release: &str) {
    let c = Cluster::render(release);
    let outside = Endpoint::outside("outside client", [203, 0, 113, 7]);
    let internet = Endpoint::outside("internet", [1, 1, 1, 1]);
    let dns = cluster_dns();
    let stranger = Endpoint::pod("pod of another namespace", "other", labels(&[("app", "client")]), vec![]);
    // A pod elsewhere that copies api's labels gets nothing api gets.
    let impostor = Endpoint::pod(
        "api look-alike in another namespace",
        "other",
        c.pod("api").pod.as_ref().unwrap().labels.clone(),
        vec![],
    );

    let must_allow: &[(&str, &str, i64)] = &[
        ("nginx", "api", 5001),
        ("nginx", "web", 3000),
        ("nginx", "plugin-daemon", 5002),
        ("api", "postgres", 5432),
        ("api", "redis", 6379),
        ("api", "sandbox", 8194),
        ("api", "plugin-daemon", 5002),
        ("api", "ssrf-proxy", 3128),
        ("api", "weaviate", 8080),
        ("worker", "postgres", 5432),
        ("worker", "redis", 6379),
        ("worker", "weaviate", 8080),
        ("plugin-daemon", "postgres", 5432),
        ("plugin-daemon", "redis", 6379),
        ("plugin-daemon", "api", 5001),
        ("sandbox", "ssrf-proxy", 3128),
        ("ssrf-proxy", "sandbox", 8194),
    ];
    for (src, service, port) in must_allow {
        assert!(c.to_service(c.pod(src), service, *port), "{release}: {src} → {service}:{port} is denied");
    }
    // A migration Job (upstream's MODE=migration) takes the database lock in redis, then migrates.
    for (name, job) in c.pods.iter().filter(|(name, _)| name.starts_with("Job/")) {
        for (service, port) in [("postgres", 5432), ("redis", 6379)] {
            assert!(c.to_service(job, service, port), "{release}: {name} → {service}:{port} is denied");
        }
    }
    assert!(c.to_service(&outside, "nginx", 80), "{release}: the outside cannot reach nginx:80");
    for src in ["ssrf-proxy", "api", "worker", "plugin-daemon"] {
        for port in [80, 443] {
            assert!(allowed(&c.policies, c.pod(src), &internet, port, "TCP"), "{release}: {src} → internet:{port}");
        }
    }
    for (name, pod) in &c.pods {
        assert!(allowed(&c.policies, pod, &dns, 53, "UDP"), "{release}: {name} cannot resolve names");
    }

    for port in [80, 443] {
        assert!(
            !allowed(&c.policies, c.pod("sandbox"), &internet, port, "TCP"),
            "{release}: sandbox → internet:{port}"
        );
    }
    // The SSRF proxy reaches the internet but no private, loopback or link-local address (the
    // cloud's metadata service, the API server, nodes), whatever its squid.conf lets through.
    for ip in [[169, 254, 169, 254], [10, 0, 0, 1], [172, 16, 0, 1], [192, 168, 1, 1], [100, 64, 0, 1], [127, 0, 0, 1]]
    {
        let private = Endpoint::outside("private address", ip);
        for port in [80, 443, 6443] {
            assert!(
                !allowed(&c.policies, c.pod("ssrf-proxy"), &private, port, "TCP"),
                "{release}: ssrf-proxy → {ip:?}:{port} is allowed"
            );
        }
    }
    // Flows come from what a workload uses, not from the whole settings file it inherits.
    let mut must_deny: Vec<(&Endpoint, &str, i64)> = vec![
        (c.pod("sandbox"), "api", 5001),
        (c.pod("sandbox"), "plugin-daemon", 5002),
        (c.pod("sandbox"), "weaviate", 8080),
        (c.pod("web"), "postgres", 5432),
        (c.pod("web"), "redis", 6379),
        (c.pod("web"), "weaviate", 8080),
        (c.pod("web"), "sandbox", 8194),
        (c.pod("ssrf-proxy"), "postgres", 5432),
        (c.pod("ssrf-proxy"), "api", 5001),
    ];
    if c.pods.contains_key("api-websocket") {
        must_deny.push((c.pod("sandbox"), "api-websocket", 5001));
        must_deny.push((c.pod("web"), "api-websocket", 5001));
    }
    must_deny.extend_from_slice(&[
        (c.pod("sandbox"), "postgres", 5432),
        (c.pod("sandbox"), "redis", 6379),
        (&outside, "api", 5001),
        (&outside, "postgres", 5432),
        (&outside, "redis", 6379),
        (&outside, "sandbox", 8194),
        (&stranger, "postgres", 5432),
        (&stranger, "redis", 6379),
        (&stranger, "sandbox", 8194),
        (&impostor, "postgres", 5432),
        (&impostor, "redis", 6379),
        (&impostor, "sandbox", 8194),
    ]);
    for (src, service, port) in &must_deny {
        assert!(!c.to_service(src, service, *port), "{release}: {} → {service}:{port} is allowed", src.name);
    }
}

#[test]
fn isolation_holds_for_1_14_1() {
    isolation_holds("1.14.1");
}

#[test]
fn isolation_holds_for_1_8_0() {
    isolation_holds("1.8.0");
}

/// Labels every generated pod carries because the tool sets them (not the image's or the user's).
const OWN_LABELS: &[&str] = &["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of"];

fn pod_selectors(policy: &Value) -> Vec<&Value> {
    let spec = &policy["spec"];
    let peers = seq(&spec["ingress"])
        .iter()
        .flat_map(|r| seq(&r["from"]))
        .chain(seq(&spec["egress"]).iter().flat_map(|r| seq(&r["to"])));
    std::iter::once(&spec["podSelector"]).chain(peers.map(|p| &p["podSelector"]).filter(|s| !s.is_null())).collect()
}

#[test]
fn every_policy_says_why_and_selects_by_own_labels() {
    for release in ["1.14.1", "1.8.0"] {
        let c = Cluster::render(release);
        assert!(c.policies.len() > 3, "{release}: only {} policies", c.policies.len());
        for p in &c.policies {
            let name = p["metadata"]["name"].as_str().unwrap_or("?");
            let why = p["metadata"]["annotations"]["compose2dify/reason"].as_str().unwrap_or("");
            assert!(why.len() > 10, "{release}: policy {name} does not say why");
            for s in pod_selectors(p) {
                assert!(s["matchExpressions"].is_null(), "{release}: {name} selects by expressions");
                for key in labels_of(&s["matchLabels"]).keys() {
                    assert!(OWN_LABELS.contains(&key.as_str()), "{release}: {name} selects by {key}");
                }
            }
            let targets = c.pods.values().filter(|e| {
                let pod = e.pod.as_ref().unwrap();
                selector_matches(&p["spec"]["podSelector"], &pod.labels)
            });
            assert!(targets.count() > 0, "{release}: policy {name} selects no pod");
        }
    }
}

/// Issue 14 item 7: a port the compose file publishes is the stack's entry point: the outside
/// reaches it (and only it) under the default-deny policies; `--expose` gives it a Service type,
/// and that Service listens on the published port too.
#[test]
fn published_ports_are_reachable_from_outside_and_nothing_else_is() {
    let compose = r#"
services:
  web:
    image: nginx:1.27
    ports: ["8080:80", "127.0.0.1:9000:9000", "53:53/udp"]
    expose: ["9100"]
    depends_on: [db]
    environment:
      DB_HOST: db
  db:
    image: postgres:16
    expose: ["5432"]
"#;
    let c = Cluster::generic(compose, &[]);
    let outside = Endpoint::outside("outside client", [203, 0, 113, 7]);
    assert!(c.to_service(&outside, "web", 80), "the published port is open");
    assert!(c.to_service(&outside, "web", 53), "a published UDP port too");
    assert!(!c.to_service(&outside, "web", 9000), "a port published on the host's loopback is not");
    assert!(!c.to_service(&outside, "web", 9100), "an exposed port is for the stack only");
    assert!(!c.to_service(&outside, "db", 5432), "nothing unpublished is reachable");
    assert!(c.to_service(c.pod("web"), "db", 5432), "the flows of the stack still hold");
    assert_eq!(get(&c.docs, "Service", "web")["spec"]["type"], "ClusterIP", "no type unless --expose asks");

    let c = Cluster::generic(compose, &["--expose", "LoadBalancer"]);
    let web = get(&c.docs, "Service", "web");
    assert_eq!(web["spec"]["type"], "LoadBalancer");
    assert_eq!(get(&c.docs, "Service", "db")["spec"]["type"], "ClusterIP", "only services that publish");
    assert_eq!(through_service(&c.docs, c.pod("web"), "web", 8080).0, 80, "the published port forwards to 80");
    assert!(c.to_service(&outside, "web", 8080));
    assert!(!c.to_service(&outside, "web", 9100), "only the published ports, whatever the Service's type");
    assert!(!c.to_service(&outside, "db", 5432));
    assert!(c.to_service(c.pod("web"), "db", 5432));
}
