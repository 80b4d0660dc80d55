//! squid runs the config we generate for the SSRF proxy: for every vendored release, `squid -k parse`
//! on the `ssrf-proxy-files` ConfigMap laid out where the pod mounts it, then squid serving it,
//! inside a network namespace of the test's own (see `common/netns.rs`), where stand-ins listen at
//! private, loopback and link-local addresses and at a public-looking one (203.0.113.10, TEST-NET-3):
//!
//! - requests through the proxy to 169.254.169.254, 10/8, 172.16/12, 192.168/16, 100.64/10,
//!   127/8 and ::1 (by address, and by a name that resolves to the metadata address) are denied
//!   with 403 and the stand-in there never sees a connection;
//! - a request to the public-looking stand-in goes through;
//! - the reverse-proxy port reaches the sandbox (a stand-in in a second network namespace, behind a
//!   veth pair: squid listens on every address of its own namespace at that port), even when the
//!   request names the metadata address as its host;
//! - a cluster name (`api.dify.svc.cluster.local`, resolving to a public-looking stand-in of its
//!   own) is denied by name;
//! - GKE's default Service range (34.118.224.0/20) is public address space: a stand-in at
//!   34.118.224.10 is reached by default, and denied (never connected to) when the tree is made
//!   with `--service-cidr 34.118.224.0/20` (1.14.1 and 1.8.0).
//!
//! The client is at 127.0.0.1 (upstream's config allows `localhost`; in the cluster the sandbox is in
//! the image's `localnet`). A stand-in DNS server at the namespace's resolver knows only
//! `sandbox.dify.svc.cluster.local`, and the resolver's search domain is `dify.svc.cluster.local`,
//! as in a pod: squid must find the one-label `sandbox` of its `cache_peer` through it. What the test adjusts, and why: `/etc/squid` holds the generated
//! squid.conf with Debian's `conf.d/debian.conf` and `errorpage.css` (the Ubuntu image ships the same
//! package files); `/var/log/squid` and `/run` are empty folders; squid runs as uid 1000 (a rootless
//! namespace cannot switch to squid's user `proxy`). Nothing we generate is changed.

mod common;
#[path = "common/netns.rs"]
mod netns;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Denied destinations: a stand-in listens at each; none may see a connection.
const PRIVATE: &[&str] = &[
    "169.254.169.254:80",
    "10.0.0.7:80",
    "172.16.0.7:80",
    "192.168.0.7:80",
    "100.64.0.7:80",
    "127.0.3.1:80",
    "[::1]:8081",
];
const PUBLIC: &str = "203.0.113.10:80";
/// Where the hosts file puts a cluster name: a public-looking address, so only the name can deny it.
const CLUSTER_NAMED: &str = "203.0.113.20:80";
/// An address in GKE's default Service range: public address space.
const GKE_SERVICE: &str = "34.118.224.10:80";
/// The sandbox stand-in, in its own network namespace (`sandbox` in the hosts file).
const SANDBOX: &str = "10.99.0.2:8194";

fn main() {
    if std::env::var("COMPOSE2DIFY_TEST_SANDBOX").is_ok() {
        sandbox();
        return;
    }
    if let Ok(work) = std::env::var(netns::INSIDE) {
        inside(Path::new(&work));
        return;
    }
    netns::require("squid", "squid");
    common::require_checked_version("ssrf-proxy", "squid");
    for release in common::RELEASES {
        run_case(release, &[]);
        println!("squid: {release} ok");
    }
    for release in ["1.14.1", "1.8.0"] {
        run_case(release, &["--service-cidr", "34.118.224.0/20"]);
        println!("squid: {release} with --service-cidr ok");
    }
}

fn run_case(release: &str, flags: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("k8s");
    common::generate(release, &tree, flags);
    // What the namespace's run checks differently: whether GKE's Service range is the cluster's.
    std::fs::write(dir.path().join("fenced"), if flags.is_empty() { "no" } else { "yes" }).expect("variant");
    let root = dir.path().join("root");
    netns::lay_out(&tree, "ssrf-proxy", &root);
    let etc = root.join("etc/squid");
    assert!(etc.join("squid.conf").is_file(), "{release}: no squid.conf where the pod mounts it");
    std::fs::create_dir_all(etc.join("conf.d")).expect("mkdir");
    std::fs::copy("/etc/squid/conf.d/debian.conf", etc.join("conf.d/debian.conf")).expect("Debian's conf.d");
    std::fs::copy("/etc/squid/errorpage.css", etc.join("errorpage.css")).expect("Debian's errorpage.css");
    for d in ["log", "run"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    // `sandbox` is found as a pod finds it: through the search domain, at the DNS stand-in.
    let hosts =
        "127.0.0.1 localhost\n::1 localhost\n169.254.169.254 metadata.test\n203.0.113.20 api.dify.svc.cluster.local\n";
    std::fs::write(root.join("hosts"), hosts).expect("hosts");
    std::fs::write(root.join("resolv.conf"), "search dify.svc.cluster.local\nnameserver 127.0.0.1\n")
        .expect("resolv.conf");
    let mut setup = vec![
        netns::bind(&etc, "/etc/squid"),
        netns::bind(&root.join("hosts"), "/etc/hosts"),
        netns::bind(&root.join("resolv.conf"), "/etc/resolv.conf"),
        netns::bind(&root.join("log"), "/var/log/squid"),
        netns::bind(&root.join("run"), "/run"),
    ];
    for addr in PRIVATE.iter().chain([&PUBLIC, &GKE_SERVICE, &CLUSTER_NAMED]) {
        let host = addr.rsplit_once(':').expect("port").0;
        if !host.starts_with('[') && !host.starts_with("127.") {
            setup.push(format!("ip addr add {host}/32 dev lo"));
        }
    }
    let out = netns::run_inside(dir.path(), &setup);
    assert!(out.contains("proxy checked"), "{release}: {out}");
}

/// Inside the namespace: squid -k parse, the sandbox's namespace, squid, the requests.
fn inside(work: &Path) {
    let _orphans = netns::Orphans::adopt();
    let squid = netns::require("squid", "squid");
    netns::require("nsenter", "util-linux");
    let parse =
        netns::unprivileged(&squid).args(["-k", "parse", "-f", "/etc/squid/squid.conf"]).output().expect("parse");
    let text = String::from_utf8_lossy(&parse.stderr).to_string();
    assert!(parse.status.success(), "squid -k parse failed:\n{text}");
    assert!(!text.contains("FATAL") && !text.contains("Bungled"), "squid -k parse:\n{text}");

    // The resolver of resolv.conf: no name but the hosts file's exists (a `dstdomain` ACL looks the
    // address of an IP destination up, which must fail fast rather than time out).
    netns::dns_stand_in("127.0.0.1:53", [("sandbox.dify.svc.cluster.local".to_string(), [10, 99, 0, 2])].into());
    let hits: Vec<_> = PRIVATE.iter().map(|a| (*a, netns::stand_in("private", a))).collect();
    let public = netns::stand_in("public", PUBLIC);
    let gke = netns::stand_in("gke", GKE_SERVICE);
    let named = netns::stand_in("cluster-named", CLUSTER_NAMED);
    let fenced = std::fs::read_to_string(work.join("fenced")).expect("variant") == "yes";

    // The sandbox: this binary again, in a second network namespace joined by a veth pair.
    let me = std::env::current_exe().expect("own path");
    let child =
        Command::new("unshare").arg("-n").arg(&me).env("COMPOSE2DIFY_TEST_SANDBOX", "1").spawn().expect("sandbox");
    let _sandbox = netns::Running(child);
    let pid = _sandbox.0.id().to_string();
    // `unshare` makes the namespace, then runs the stand-in: wait until the child is in it, or the
    // veth's end would land in this namespace.
    let ours = std::fs::read_link("/proc/self/ns/net").expect("own network namespace");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|theirs| theirs == ours) {
        assert!(Instant::now() < deadline, "the sandbox's network namespace never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sh = |script: &str| {
        let o = Command::new("sh").args(["-c", script]).output().expect("sh");
        assert!(o.status.success(), "{script}: {}", String::from_utf8_lossy(&o.stderr));
    };
    sh(&format!(
        "ip link add c2d-proxy type veth peer name c2d-sandbox netns {pid} && ip addr add 10.99.0.1/30 dev c2d-proxy && ip link set c2d-proxy up"
    ));
    sh(&format!(
        "nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add 10.99.0.2/30 dev c2d-sandbox && ip link set c2d-sandbox up'"
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(SANDBOX).is_err() {
        assert!(Instant::now() < deadline, "the sandbox stand-in never answered");
        std::thread::sleep(Duration::from_millis(50));
    }

    // As the image's CMD runs it: squid -f /etc/squid/squid.conf -NYC.
    let mut cmd = netns::unprivileged(&squid);
    cmd.args(["-f", "/etc/squid/squid.conf", "-NYC"]);
    let squid = netns::start(cmd, "127.0.0.1:3128", &work.join("squid.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect("127.0.0.1:8194").is_err() {
        assert!(Instant::now() < deadline, "squid's reverse-proxy port never answered");
        std::thread::sleep(Duration::from_millis(50));
    }

    for (addr, _) in &hits {
        let (status, body) = netns::request("127.0.0.1:3128", &format!("http://{addr}/latest/meta-data/"), addr);
        assert_eq!(status, 403, "through the proxy to {addr}: {body}");
    }
    let (status, _) = netns::request("127.0.0.1:3128", "http://metadata.test/latest/", "metadata.test");
    assert_eq!(status, 403, "through the proxy to a name of 169.254.169.254");
    for (addr, count) in &hits {
        assert_eq!(count.load(Ordering::SeqCst), 0, "squid connected to {addr}");
    }

    let (status, body) = netns::request("127.0.0.1:3128", &format!("http://{PUBLIC}/ok"), PUBLIC);
    assert_eq!((status, body.as_str()), (200, "public /ok"), "through the proxy to a public address");
    assert!(public.load(Ordering::SeqCst) > 0);

    // A cluster name, though it resolves to a public address: denied by name, never connected.
    let name = "api.dify.svc.cluster.local";
    let (status, body) = netns::request("127.0.0.1:3128", &format!("http://{name}/console/api/setup"), name);
    assert_eq!(status, 403, "through the proxy to {name}: {body}");
    assert_eq!(named.load(Ordering::SeqCst), 0, "squid connected for {name}");

    // GKE's Service range: public address space, the cluster's own only when the tree says so.
    let (status, body) = netns::request("127.0.0.1:3128", &format!("http://{GKE_SERVICE}/ok"), GKE_SERVICE);
    if fenced {
        assert_eq!(status, 403, "through the proxy to {GKE_SERVICE} with --service-cidr: {body}");
        assert_eq!(gke.load(Ordering::SeqCst), 0, "squid connected to {GKE_SERVICE}");
    } else {
        assert_eq!((status, body.as_str()), (200, "gke /ok"), "without --service-cidr it is the internet");
    }

    let (status, body) = netns::request("127.0.0.1:8194", "/health", "ssrf-proxy:8194");
    assert_eq!((status, body.as_str()), (200, "sandbox /health"), "the reverse-proxy port");
    let (status, body) = netns::request("127.0.0.1:8194", "/latest/meta-data/", "169.254.169.254");
    assert_eq!((status, body.as_str()), (200, "sandbox /latest/meta-data/"), "the reverse-proxy port, metadata host");
    assert_eq!(hits[0].1.load(Ordering::SeqCst), 0, "the reverse-proxy port connected to 169.254.169.254");
    // Checked: squid's orderly stop would wait out its shutdown_lifetime (30 s) for clients.
    squid.kill();
    println!("proxy checked");
}

/// The sandbox stand-in, in its own network namespace: waits for its address, then serves.
fn sandbox() {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpListener::bind(SANDBOX).is_err() {
        assert!(Instant::now() < deadline, "no address {SANDBOX} in the sandbox's namespace");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The probe above held the port only for a moment; now the stand-in takes it.
    netns::stand_in("sandbox", SANDBOX);
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
