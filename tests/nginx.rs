//! nginx runs the config we generate: for every vendored release (and with `--namespace` and
//! `--cluster-domain`), `nginx -t` on the `nginx-files` ConfigMap laid out where the pod mounts it,
//! then nginx serving it in front of stand-in upstreams (tiny HTTP servers that answer with their
//! own name), inside a network namespace of the test's own (see `common/netns.rs`):
//!
//! - the probe path of the Deployment answers 200 from nginx itself while every upstream is down
//!   (and `/`, proxied to web, answers 502 then);
//! - every `location` of the release reaches the stand-in of the right workload, by the fully
//!   qualified names nginx was given (`/etc/hosts` of the namespace), and the one that resolves at
//!   request time (`/socket.io/`, a variable) through the resolver nginx was given: a stand-in DNS
//!   server in the namespace at the address the hosts file gives that name;
//! - behind an Ingress (`--ingress-host`, 1.14.1 and 1.8.0), the scheme the controller says the
//!   browser used (`X-Forwarded-Proto: https`) reaches the api; without one, a client's own
//!   `X-Forwarded-Proto` is not trusted (the api sees nginx's `http`).
//!
//! What the test adjusts, and why: the files are bind-mounted where the pod has them (`/etc/nginx`,
//! with Debian's `mime.types`, which the image ships too); `/var/log/nginx`, `/run` and
//! `/var/lib/nginx` (Debian's temp paths; the image's are in `/var/cache/nginx`) are empty folders,
//! as the pod's emptyDirs; nginx runs as uid 1000 (so the `user` directive is ignored: a rootless
//! namespace cannot switch users), allowed to bind port 80 by the namespace's
//! `ip_unprivileged_port_start`. Nothing we generate is changed.

mod common;
#[path = "common/netns.rs"]
mod netns;

use std::collections::BTreeMap;
use std::path::Path;

use yaml_serde::Value;

/// Stand-in address of each workload nginx proxies to.
const UPSTREAMS: &[(&str, [u8; 4], u16)] = &[
    ("api", [127, 0, 1, 1], 5001),
    ("web", [127, 0, 1, 2], 3000),
    ("plugin-daemon", [127, 0, 1, 3], 5002),
    ("api-websocket", [127, 0, 1, 4], 5001),
];
/// The stand-in cluster DNS (the name of `resolver` maps here in the hosts file).
const DNS: [u8; 4] = [127, 0, 1, 53];

/// Every route Dify's nginx has: location, a request under it, the workload it must reach, and
/// when the release must have it: always (`true`), or where the workload exists (`false`; `/mcp`,
/// `/triggers` and `/explore` came with newer releases and are checked where present).
const ROUTES: &[(&str, &str, &str, bool)] = &[
    ("/console/api", "/console/api/setup", "api", true),
    ("/api", "/api/meta", "api", true),
    ("/v1", "/v1/chat-messages", "api", true),
    ("/files", "/files/abc/file-preview", "api", true),
    ("/", "/apps", "web", true),
    ("/e/", "/e/hook-id", "plugin-daemon", false),
    ("/socket.io/", "/socket.io/?EIO=4&transport=polling", "api-websocket", false),
    ("/explore", "/explore/apps", "web", false),
    ("/mcp", "/mcp/server/abc", "api", false),
    ("/triggers", "/triggers/webhook/abc", "api", false),
];
/// Routes a release must have wherever their workload is deployed.
const WITH_WORKLOAD: &[&str] = &["/e/", "/socket.io/"];

fn ip(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

fn main() {
    if let Ok(work) = std::env::var(netns::INSIDE) {
        inside(Path::new(&work));
        return;
    }
    netns::require("nginx", "nginx-light");
    common::require_checked_version("nginx", "nginx");
    let mut cases: Vec<(&str, Vec<&str>)> = common::RELEASES.iter().map(|r| (*r, vec![])).collect();
    for release in ["1.14.1", "1.8.0"] {
        cases.push((release, vec!["--namespace", "team-a", "--cluster-domain", "corp.example"]));
        cases.push((release, vec!["--ingress-host", "dify.example.com", "--ingress-tls-secret", "dify-tls"]));
    }
    for (release, flags) in &cases {
        run_case(release, flags);
        println!("nginx: {release} {} ok", flags.join(" "));
    }
}

/// Outside the namespace: generate, lay the files out, and run the checks inside.
fn run_case(release: &str, flags: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("k8s");
    common::generate(release, &tree, flags);
    let ns = flags.iter().position(|f| *f == "--namespace").map_or("dify", |i| flags[i + 1]);
    let domain = flags.iter().position(|f| *f == "--cluster-domain").map_or("cluster.local", |i| flags[i + 1]);

    let root = dir.path().join("root");
    netns::lay_out(&tree, "nginx", &root);
    let etc = root.join("etc/nginx");
    std::fs::copy("/etc/nginx/mime.types", etc.join("mime.types")).expect("Debian's /etc/nginx/mime.types");
    for d in ["log", "run", "lib"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let mut hosts = String::from("127.0.0.1 localhost\n");
    for (name, addr, _) in UPSTREAMS {
        hosts.push_str(&format!("{} {name}.{ns}.svc.{domain}\n", ip(*addr)));
    }
    hosts.push_str(&format!("{} kube-dns.kube-system.svc.{domain}\n", ip(DNS)));
    std::fs::write(root.join("hosts"), hosts).expect("hosts");

    // What the Deployment runs and probes.
    let deployment: Value =
        yaml_serde::from_str(&std::fs::read_to_string(tree.join("services/nginx/deployment.yaml")).expect("read"))
            .expect("yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_sequence()
        .expect("nginx args")
        .iter()
        .map(|a| a.as_str().expect("arg").to_string())
        .collect();
    assert_eq!(args.first().map(String::as_str), Some("nginx"), "{release}: nginx's command");
    for probe in ["livenessProbe", "readinessProbe"] {
        let http = &container[probe]["httpGet"];
        assert_eq!(http["path"].as_str(), Some("/healthz"), "{release}: {probe} must ask nginx itself");
        assert_eq!(http["port"].as_i64(), Some(80), "{release}: {probe} port");
    }
    let workloads: Vec<String> = std::fs::read_dir(tree.join("services"))
        .expect("services")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    let behind = flags.contains(&"--ingress-host");
    let case = format!("{ns}\n{domain}\n{}\n{}\n{behind}\n", args[1..].join("\u{1f}"), workloads.join(" "));
    std::fs::write(dir.path().join("case"), case).expect("case");

    let setup = [
        netns::bind(&etc, "/etc/nginx"),
        netns::bind(&root.join("hosts"), "/etc/hosts"),
        netns::bind(&root.join("log"), "/var/log/nginx"),
        netns::bind(&root.join("run"), "/run"),
        netns::bind(&root.join("lib"), "/var/lib/nginx"),
    ];
    let out = netns::run_inside(dir.path(), &setup);
    assert!(out.contains("routes checked"), "{release}: {out}");
}

/// Inside the namespace: nginx -t, then nginx with everything down, then with the stand-ins.
fn inside(work: &Path) {
    let _orphans = netns::Orphans::adopt();
    let case = std::fs::read_to_string(work.join("case")).expect("case");
    let mut lines = case.lines();
    let (ns, domain) = (lines.next().expect("ns"), lines.next().expect("domain"));
    let args: Vec<&str> = lines.next().expect("args").split('\u{1f}').collect();
    let workloads: Vec<&str> = lines.next().expect("workloads").split(' ').collect();
    let behind_ingress = lines.next() == Some("true");
    let nginx = netns::require("nginx", "nginx-light");

    let t = netns::unprivileged(&nginx).arg("-t").output().expect("nginx -t");
    let t_out = String::from_utf8_lossy(&t.stderr).to_string();
    assert!(t.status.success(), "nginx -t failed:\n{t_out}");

    let mut cmd = netns::unprivileged(&nginx);
    cmd.args(&args);
    let running = netns::start(cmd, "127.0.0.1:80", &work.join("nginx.log"));
    let (status, _) = netns::request("127.0.0.1:80", "/healthz", "localhost");
    assert_eq!(status, 200, "/healthz with every upstream down");
    let (status, _) = netns::request("127.0.0.1:80", "/", "localhost");
    assert_eq!(status, 502, "/ with web down (it is proxied to web)");

    let mut names = BTreeMap::new();
    for (name, addr, port) in UPSTREAMS {
        netns::stand_in(name, &format!("{}:{port}", ip(*addr)));
        names.insert(format!("{name}.{ns}.svc.{domain}"), *addr);
    }
    netns::dns_stand_in(&format!("{}:53", ip(DNS)), names);

    let conf = std::fs::read_to_string("/etc/nginx/conf.d/default.conf").expect("default.conf");
    let locations: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("location "))
        .map(|l| l.trim_end_matches('{').trim())
        .filter(|l| *l != "= /healthz" && !l.starts_with("/.well-known"))
        .collect();
    for loc in &locations {
        assert!(ROUTES.iter().any(|(r, ..)| r == loc), "location {loc} has no expected route in this test");
    }
    for (location, target, workload, always) in ROUTES {
        let present = locations.contains(location);
        if *always || (WITH_WORKLOAD.contains(location) && workloads.contains(workload)) {
            assert!(present, "location {location} is missing (workload {workload} is deployed)");
        }
        if !present {
            continue;
        }
        // Releases without api-websocket send Socket.IO to api (NGINX_SOCKET_IO_UPSTREAM's default).
        let workload = if workloads.contains(workload) { workload } else { "api" };
        let (status, body) = netns::request("127.0.0.1:80", target, "dify.example.com");
        assert_eq!((status, body.as_str()), (200, format!("{workload} {target}").as_str()), "GET {target}");
    }
    // The scheme the api is told: the Ingress controller's word behind one, never a client's.
    let (status, head, _) =
        netns::request_with("127.0.0.1:80", "/console/api/setup", "dify.example.com", "X-Forwarded-Proto: https\r\n");
    let seen = head.lines().find_map(|l| l.strip_prefix("X-Seen-Forwarded-Proto: ")).unwrap_or("?").to_string();
    assert_eq!(status, 200);
    assert_eq!(seen, if behind_ingress { "https" } else { "http" }, "X-Forwarded-Proto at the api");
    let (_, head, _) = netns::request_with("127.0.0.1:80", "/console/api/setup", "dify.example.com", "");
    assert!(
        head.contains("X-Seen-Forwarded-Proto: http\r") || head.ends_with("X-Seen-Forwarded-Proto: http"),
        "{head}"
    );
    let (status, _) = netns::request("127.0.0.1:80", "/healthz", "localhost");
    assert_eq!(status, 200, "/healthz with every upstream up");
    drop(running);
    println!("routes checked: {}", locations.join(" "));
}
