//! Gateway API (`--gateway`, issue 30): the HTTPRoute (and with `--gateway-class` the Gateway) in
//! front of nginx, in both modes on 1.14.1 and 1.8.0, checked against the Gateway API v1 CRDs; every
//! path upstream's nginx serves reaches nginx through the route; nginx's Service is ClusterIP behind
//! a route or an Ingress unless `--expose` says otherwise; its policy admits the data plane only.

use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

const ATTACH: &[&str] =
    &["--gateway", "infra/public", "--gateway-section", "https", "--public-url", "https://dify.example.com"];
const CREATE: &[&str] = &[
    "--gateway",
    "dify-gateway",
    "--gateway-class",
    "eg",
    "--gateway-tls-secret",
    "dify-tls",
    "--gateway-namespace",
    "envoy-gateway-system",
    "--public-url",
    "https://dify.example.com",
];

/// Every document of a generated file.
fn docs_of(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split("\n---\n").map(|d| yaml_serde::from_str(d).expect("a YAML document")).collect()
}

fn stderr_of(release: &str, args: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let stderr = generated(release, &dir.path().join("k8s"), args);
    (dir, stderr)
}

#[test]
fn both_modes_on_both_releases_validate_against_the_gateway_api_crds() {
    let dir = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for release in ["1.14.1", "1.8.0"] {
        for (mode, args) in [("attach", ATTACH), ("create", CREATE)] {
            let out = dir.path().join(format!("{release}-{mode}"));
            // Its secrets filled (see common::Made), which changes no file read before validate-k8s.
            made(release, args).write_filled(&out);
            let routes = docs_of(&out.join("services/nginx/httproute.yaml"));
            let route = &routes[0];
            assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1", "{release} {mode}");
            assert_eq!(route["metadata"]["namespace"], "dify");
            assert_eq!(route["spec"]["hostnames"][0], "dify.example.com");
            let rule = &route["spec"]["rules"][0];
            assert_eq!(rule["backendRefs"][0]["name"], "nginx");
            assert_eq!(rule["backendRefs"][0]["port"], Value::from(80));
            // NGINX_PROXY_READ_TIMEOUT=3600s in both releases' .env.example.
            assert_eq!(rule["timeouts"]["request"], "1h", "{release} {mode}");
            assert_eq!(rule["timeouts"]["backendRequest"], "1h");
            let parent = &route["spec"]["parentRefs"][0];
            assert_eq!(parent["sectionName"], "https");
            let gateway = out.join("services/nginx/gateway.yaml");
            let kustomization = std::fs::read_to_string(out.join("services/nginx/kustomization.yaml")).unwrap();
            assert!(kustomization.contains("- httproute.yaml"), "{kustomization}");
            if mode == "attach" {
                assert_eq!((parent["name"].as_str(), parent["namespace"].as_str()), (Some("public"), Some("infra")));
                assert_eq!(routes.len(), 1);
                assert!(!gateway.exists() && !kustomization.contains("gateway.yaml"));
            } else {
                assert_eq!((parent["name"].as_str(), parent["namespace"].as_str()), (Some("dify-gateway"), None));
                let gw = &docs_of(&gateway)[0];
                assert_eq!(gw["spec"]["gatewayClassName"], "eg");
                let listeners = gw["spec"]["listeners"].as_sequence().unwrap();
                let names: Vec<_> = listeners.iter().map(|l| l["name"].as_str().unwrap()).collect();
                assert_eq!(names, ["http", "https"]);
                assert_eq!(listeners[1]["tls"]["certificateRefs"][0]["name"], "dify-tls");
                assert_eq!(listeners[1]["hostname"], "dify.example.com");
                assert_eq!(routes[1]["metadata"]["name"], "nginx-https-redirect");
                assert!(kustomization.contains("- gateway.yaml"), "{kustomization}");
            }
            trees.push(out);
        }
    }
    validate_k8s_all(&trees.iter().map(|t| t.as_path()).collect::<Vec<_>>(), &["--k8s", "1.29,1.37"]);
}

/// The validator really reads the Gateway API schemas: a field HTTPRoute lacks is refused.
#[test]
fn the_validator_refuses_a_route_the_crd_does_not_allow() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    made("1.14.1", CREATE).write_filled(&out);
    let path = out.join("services/nginx/httproute.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("  parentRefs:\n", "  bogusField: 1\n  parentRefs:\n", 1).replacen(
        "type: PathPrefix",
        "type: Prefix",
        1,
    );
    assert_ne!(broken, text);
    std::fs::write(&path, broken).unwrap();
    let o = bin_validate(&out);
    assert!(o.contains("HTTPRoute dify/nginx") && o.contains("bogusField"), "{o}");
    assert!(o.contains("'Prefix' is not one of"), "{o}");
    assert!(o.contains("validate-k8s: FAIL"), "{o}");
}

fn bin_validate(dir: &Path) -> String {
    let o = std::process::Command::new("bash")
        .arg(repo().join("tests/tools/validate-k8s"))
        .args(["--k8s", "1.29"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(!o.status.success());
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Gateway API's path matching (HTTPRoute spec): `PathPrefix` matches whole path elements
/// (`/api` matches `/api` and `/api/x`, not `/apix`), `Exact` the whole path; the longest match
/// wins. Returns the matching rule of the routes attached to `listener` for `host`.
fn route_for<'a>(routes: &'a [Value], listener: &str, host: &str, path: &str) -> Option<&'a Value> {
    let attached = |r: &&Value| {
        r["spec"]["parentRefs"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p["sectionName"].as_str().is_none_or(|s| s == listener))
    };
    let for_host = |r: &&Value| r["spec"]["hostnames"].as_sequence().is_none_or(|hs| hs.iter().any(|h| h == host));
    let mut best: Option<(usize, &Value)> = None;
    for route in routes.iter().filter(attached).filter(for_host) {
        for rule in route["spec"]["rules"].as_sequence().unwrap() {
            for m in rule["matches"].as_sequence().unwrap() {
                let value = m["path"]["value"].as_str().unwrap();
                let hit = match m["path"]["type"].as_str().unwrap() {
                    "Exact" => path == value,
                    "PathPrefix" => {
                        let prefix = value.trim_end_matches('/');
                        path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                    }
                    other => panic!("path match type {other} not evaluated"),
                };
                if hit && best.is_none_or(|(len, _)| value.len() > len) {
                    best = Some((value.len(), rule));
                }
            }
        }
    }
    best.map(|(_, rule)| rule)
}

#[test]
fn the_path_evaluator_can_say_no() {
    let route: Value = yaml_serde::from_str(
        "spec: {parentRefs: [{name: g, sectionName: https}], hostnames: [a.example], rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: api, port: 80}]}]}",
    )
    .unwrap();
    let routes = [route];
    assert!(route_for(&routes, "https", "a.example", "/api/x").is_some());
    assert!(route_for(&routes, "https", "a.example", "/api").is_some());
    for (listener, host, path) in [
        ("https", "a.example", "/apix"),
        ("https", "a.example", "/"),
        ("http", "a.example", "/api"),
        ("https", "b.example", "/api"),
    ] {
        assert!(route_for(&routes, listener, host, path).is_none(), "{listener} {host} {path}");
    }
}

/// The paths of upstream's nginx: its `location` blocks in the release's own template.
fn nginx_locations(release: &str) -> Vec<String> {
    let conf = compose(release).parent().unwrap().join("nginx/conf.d/default.conf.template");
    let text = std::fs::read_to_string(conf).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("location "))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_upstreams_nginx_serves_reaches_nginx_through_the_route() {
    let required = ["/console/api", "/api", "/v1", "/files", "/e/", "/explore", "/"];
    for release in ["1.14.1", "1.8.0"] {
        let locations = nginx_locations(release);
        for r in required {
            assert!(locations.iter().any(|l| l == r), "{release}: nginx serves {r}: {locations:?}");
        }
        let websocket = locations.iter().any(|l| l == "/socket.io/");
        assert_eq!(websocket, release == "1.14.1", "{release}: the api_websocket releases route /socket.io/");
        for (mode, args) in [("attach", ATTACH), ("create", CREATE)] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("k8s");
            generated(release, &out, args);
            let routes = docs_of(&out.join("services/nginx/httproute.yaml"));
            for location in &locations {
                for path in [location.clone(), format!("{}/sub/path", location.trim_end_matches('/'))] {
                    let rule = route_for(&routes, "https", "dify.example.com", &path)
                        .unwrap_or_else(|| panic!("{release} {mode}: {path} matches no rule"));
                    assert_eq!(rule["backendRefs"][0]["name"], "nginx", "{release} {mode}: {path}");
                    if mode == "create" {
                        let plain = route_for(&routes, "http", "dify.example.com", &path).expect("http listener");
                        assert_eq!(plain["filters"][0]["requestRedirect"]["scheme"], "https", "{path}");
                    }
                }
            }
        }
    }
}

#[test]
fn nginx_is_cluster_ip_behind_a_route_or_an_ingress_unless_expose_says_otherwise() {
    let cases: [(&[&str], &str, bool); 7] = [
        (&[], "LoadBalancer", false),
        (&["--ingress-host", "dify.example.com"], "ClusterIP", true),
        (&["--gateway", "public"], "ClusterIP", true),
        (&["--gateway", "public", "--ingress-host", "dify.example.com"], "ClusterIP", true),
        (&["--gateway", "public", "--expose", "LoadBalancer"], "LoadBalancer", false),
        (&["--ingress-host", "dify.example.com", "--expose", "NodePort"], "NodePort", false),
        (&["--expose", "ClusterIP"], "ClusterIP", false),
    ];
    for (args, service_type, said) in cases {
        let (dir, stderr) = stderr_of("1.14.1", args);
        let service = &docs_of(&dir.path().join("k8s/services/nginx/service.yaml"))[0];
        assert_eq!(service["spec"]["type"], service_type, "{args:?}");
        assert_eq!(stderr.matches("Service is ClusterIP").count(), usize::from(said), "{args:?}: {stderr}");
        let route = dir.path().join("k8s/services/nginx/httproute.yaml");
        assert_eq!(route.exists(), args.contains(&"--gateway"), "{args:?}");
    }
}

/// nginx's ingress policy: only the data plane's namespace behind a route alone; anyone when a
/// load balancer or an Ingress (whose controller may run anywhere) leads to it too.
#[test]
fn nginx_admits_the_gateways_data_plane_not_the_cluster() {
    let cases: [(&[&str], Option<&str>); 5] = [
        (&["--gateway", "infra/public"], Some("infra")),
        (&["--gateway", "public"], Some("dify")),
        (&["--gateway", "infra/public", "--gateway-namespace", "envoy-gateway-system"], Some("envoy-gateway-system")),
        (&["--gateway", "infra/public", "--expose", "LoadBalancer"], None),
        (&["--gateway", "infra/public", "--ingress-host", "dify.example.com"], None),
    ];
    for (args, namespace) in cases {
        let (dir, _) = stderr_of("1.14.1", args);
        let policies = docs_of(&dir.path().join("k8s/base/networkpolicy.yaml"));
        let nginx = policies.iter().find(|p| p["metadata"]["name"] == "allow-ingress-nginx").expect("nginx's policy");
        let rules = nginx["spec"]["ingress"].as_sequence().unwrap();
        let anyone = rules.iter().any(|r| r.get("from").is_none());
        assert_eq!(anyone, namespace.is_none(), "{args:?}: {rules:?}");
        if let Some(ns) = namespace {
            assert_eq!(rules.len(), 1, "{args:?}");
            let peer = &rules[0]["from"][0];
            assert_eq!(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], ns, "{args:?}");
            assert!(peer.get("podSelector").is_none());
        }
    }
}

#[test]
fn bad_gateway_choices_are_refused_and_nothing_is_written() {
    let cases: [(&[&str], &str); 6] = [
        (&["--gateway", "Public_GW"], "--gateway `Public_GW` is not a DNS subdomain"),
        (&["--gateway", "in_fra/public"], "--gateway (namespace) `in_fra`"),
        (&["--gateway", "a/b/c"], "--gateway `b/c`"),
        (&["--gateway", "other/gw", "--gateway-class", "eg"], "into the app's namespace `dify`, not `other`"),
        (&["--gateway", "gw", "--gateway-class", "eg", "--gateway-section", "https"], "names no listener"),
        (&["--gateway-tls-secret", "tls"], "--gateway-class"),
    ];
    for (args, message) in cases {
        refused(args, message);
    }
}

/// A run of 1.14.1 with `args` exits 2 with `message` on stderr and writes nothing.
fn refused(args: &[&str], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert!(!out.exists(), "{args:?} wrote");
}

#[test]
fn ingress_nginx_is_said_to_be_retired() {
    let (_dir, stderr) = stderr_of("1.14.1", &["--ingress-host", "dify.example.com", "--ingress-class", "nginx"]);
    assert!(stderr.contains("ingress-nginx is retired"), "{stderr}");
    let (_dir, stderr) = stderr_of("1.14.1", &["--ingress-host", "dify.example.com", "--ingress-class", "alb"]);
    assert!(!stderr.contains("retired"), "{stderr}");
}

/// The flags are choices: recorded in GENERATED.md and replayed by `upgrade` on the next release.
#[test]
fn upgrade_replays_the_gateway_choices() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    crate::common::generated("1.8.0", &out, CREATE);
    let generated = std::fs::read_to_string(out.join("GENERATED.md")).unwrap();
    for choice in [
        "--gateway dify-gateway",
        "--gateway-class eg",
        "--gateway-tls-secret dify-tls",
        "--gateway-namespace envoy-gateway-system",
    ] {
        assert!(generated.contains(choice), "{choice}: {generated}");
    }
    let before = std::fs::read_to_string(out.join("services/nginx/httproute.yaml")).unwrap();
    let o = bin().arg("upgrade").arg(&out).arg(compose("1.14.1")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = std::fs::read_to_string(out.join("services/nginx/httproute.yaml")).unwrap();
    assert!(out.join("services/nginx/gateway.yaml").exists());
    // Only the version label moves with the release.
    let unversioned =
        |t: &str| t.lines().filter(|l| !l.contains("app.kubernetes.io/version")).collect::<Vec<_>>().join("\n");
    assert_eq!(unversioned(&before), unversioned(&after));
}

/// The guide says how the tree is reached, in both languages, and names the data plane's namespace.
#[test]
fn the_guide_describes_the_route() {
    for lang in ["en", "ja"] {
        let (dir, _) = stderr_of("1.14.1", &[ATTACH, &["--lang", lang]].concat());
        let readme = std::fs::read_to_string(dir.path().join("k8s/README.md")).unwrap();
        for needle in [
            "kubectl get gateway -n infra public",
            "kubectl describe httproute -n dify nginx",
            "`infra`",
            "ClientSettingsPolicy",
            "gateway.k8s.aws/alb",
            "GCPBackendPolicy",
            "envoy-gateway-system",
            "nginx.org/client-max-body-size=100m",
            "Chainguard",
        ] {
            assert!(readme.contains(needle), "{lang}: {needle}");
        }
    }
}

/// `diff` says when a setting the route or the Ingress follows changes (1.4.0 → 1.8.0 raised
/// nginx's body limit), and says nothing when none does (1.8.0 → 1.14.1).
#[test]
fn diff_shows_what_the_way_in_follows() {
    let report = |old: &str, new: &str| {
        let o = bin().arg("diff").arg(compose(old)).arg(compose(new)).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let r = report("1.4.0", "1.8.0");
    let row = "| `nginx` | `NGINX_CLIENT_MAX_BODY_SIZE` | `15M` → `100M` | the guide's body-size policies (--gateway); Ingress `nginx.ingress.kubernetes.io/proxy-body-size` (--ingress-class nginx) |";
    assert!(r.contains("## The way in") && r.contains(row), "{r}");
    assert!(!report("1.8.0", "1.14.1").contains("## The way in"));
}

/// A data plane outside the cluster (an ALB, Google's proxies) is admitted by its address blocks,
/// and then no namespace is, unless one is named.
#[test]
fn a_load_balancer_outside_the_cluster_is_admitted_by_its_addresses() {
    let peers = |args: &[&str]| {
        let (dir, _) = stderr_of("1.14.1", args);
        let policies = docs_of(&dir.path().join("k8s/base/networkpolicy.yaml"));
        let nginx = policies.iter().find(|p| p["metadata"]["name"] == "allow-ingress-nginx").expect("nginx's policy");
        let rules = nginx["spec"]["ingress"].as_sequence().unwrap().clone();
        assert_eq!(rules.len(), 1, "{args:?}");
        rules[0]["from"].as_sequence().expect("from").clone()
    };
    let gke = ["--gateway", "gw", "--gateway-source", "35.191.0.0/16", "--gateway-source", "130.211.0.0/22"];
    let from = peers(&gke);
    let blocks: Vec<_> = from.iter().map(|p| p["ipBlock"]["cidr"].as_str().expect("an ipBlock")).collect();
    assert_eq!(blocks, ["35.191.0.0/16", "130.211.0.0/22"]);
    let from = peers(&[&gke[..], &["--gateway-namespace", "gke-system"]].concat());
    assert_eq!(from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "gke-system");
    assert_eq!(from.len(), 3);
    for bad in ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "example.com/8", "10.0.0/8"] {
        refused(&["--gateway", "gw", "--gateway-source", bad], "is not an address block");
    }
}

/// The route's host name comes from `--ingress-host` too when there is no public URL (it was lost
/// when the Ingress took the flag first), and the run says who the entry point admits and warns
/// about a route without a host or an https URL on an HTTP-only Gateway.
#[test]
fn the_route_keeps_the_ingress_host_and_the_run_says_what_it_admits() {
    let (dir, stderr) = stderr_of("1.14.1", &["--gateway", "public", "--ingress-host", "dify.example.com"]);
    let route = &docs_of(&dir.path().join("k8s/services/nginx/httproute.yaml"))[0];
    assert_eq!(route["spec"]["hostnames"][0], "dify.example.com", "{route:?}");
    assert!(stderr.contains("the HTTPRoute and the Ingress are the ways in"), "{stderr}");
    assert!(stderr.contains("admits the Gateway's data plane as the pods of the namespace"), "{stderr}");
    let (_dir, stderr) = stderr_of("1.14.1", &["--gateway", "public"]);
    assert!(stderr.contains("the HTTPRoute has no host name"), "{stderr}");
    let (_dir, stderr) = stderr_of(
        "1.14.1",
        &["--gateway", "dify-gw", "--gateway-class", "envoy", "--public-url", "https://dify.example.com"],
    );
    assert!(stderr.contains("only an HTTP listener: add --gateway-tls-secret"), "{stderr}");
    let (_dir, stderr) = stderr_of("1.14.1", &["--gateway", "public", "--gateway-source", "10.0.0.1/8"]);
    assert!(stderr.contains("--gateway-source 10.0.0.1/8 has bits set past its prefix"), "{stderr}");
    let (_dir, stderr) = stderr_of("1.14.1", &["--gateway", "public", "--gateway-source", "10.1.0.0/16"]);
    assert!(!stderr.contains("has bits set past its prefix"), "{stderr}");
}
