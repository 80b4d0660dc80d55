//! Running what we generate with the real programs (nginx, squid), inside a network namespace the
//! test creates, so that names (`api.dify.svc.cluster.local`) and addresses outside 127.0.0.0/8
//! (169.254.169.254, 10.x) exist only there and no packet can leave the machine.
//!
//! The test binary has no libtest harness (`harness = false`): `main` runs the checks, and runs
//! itself again inside `unshare -rnm` (a user, network and mount namespace of its own, where it is
//! root) with `INSIDE` set, to start stand-ins and the program and to send the requests. The
//! programs themselves run one user namespace further in, as uid 1000, the way a rootless test must
//! (a program that believes it is root tries to switch users, which a rootless namespace forbids).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use yaml_serde::Value;

/// Set (to the work folder) in the copy of the test binary that runs inside the namespace.
pub const INSIDE: &str = "COMPOSE2DIFY_TEST_INSIDE";

/// A program the test runs; fails with what to install when it is missing.
pub fn require(program: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(program);
        if path.is_file() {
            return path;
        }
    }
    panic!("`{program}` is not installed: install the Debian package `{package}` (apt-get install {package}); .ci/run does");
}

/// Run this test binary again inside a new user, network and mount namespace. `setup` is shell run
/// there first, as the namespace's root (bind mounts, addresses on `lo`). Returns its output;
/// panics, showing it, when it fails.
pub fn run_inside(work: &Path, setup: &[String]) -> String {
    require("unshare", "util-linux");
    require("ip", "iproute2");
    let me = std::env::current_exe().expect("own path");
    let mut script =
        String::from("set -e\nip link set lo up\necho 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start\n");
    for line in setup {
        script.push_str(line);
        script.push('\n');
    }
    script.push_str("exec \"$0\"\n");
    let out = Command::new("unshare")
        .args(["-rnm", "sh", "-c", &script])
        .arg(&me)
        .env(INSIDE, work)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inside the namespace:\n{text}");
    text
}

/// `mount --bind FROM TO` as a setup line.
pub fn bind(from: &Path, to: &str) -> String {
    format!("mount --bind '{}' '{to}'", from.display())
}

/// A program run as uid 1000 in a user namespace nested in the test's (see the module doc).
pub fn unprivileged(program: &Path) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--user", "--map-user=1000", "--map-group=1000"]).arg(program);
    c
}

/// While it lives, this process adopts its descendants' orphans (squid's log daemon, nginx's
/// workers); dropped (last, so declare it first), it stops and collects every child left, so that
/// nothing the test started outlives it, even after a failed assertion.
pub struct Orphans;

impl Orphans {
    pub fn adopt() -> Self {
        // SAFETY: prctl(2) with integer arguments; no memory is passed.
        let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(done, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
        Orphans
    }
}

impl Drop for Orphans {
    fn drop(&mut self) {
        reap_orphans();
    }
}

/// Stop (SIGKILL) and collect every child this process still has.
fn reap_orphans() {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid …: the fields after the last `)`.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1));
        if ppid == Some(me.as_str()) {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                // SAFETY: kill(2) on a child of this process.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    // SAFETY: waitpid(2) for any child, without blocking; the status is written to a local.
    let mut status = 0;
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // SAFETY: as above.
        match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
            -1 => return, // no children left
            0 => std::thread::sleep(Duration::from_millis(50)),
            _ => {}
        }
    }
}

/// A started program, stopped when dropped: SIGTERM first, so that a master process (nginx) stops
/// its workers rather than leaving them behind, then SIGKILL after five seconds.
pub struct Running(pub Child);

impl Running {
    /// Stop it at once (SIGKILL): for a program whose orderly stop waits for its clients to finish
    /// (squid waits `shutdown_lifetime`, longer than the five seconds above), once the test is done.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return; // already stopped and reaped: its pid may be another process's by now
        }
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill(2) on the pid of our own child, which we have not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a program and wait until `addr` accepts connections.
pub fn start(mut cmd: Command, addr: &str, log: &Path) -> Running {
    let file = std::fs::File::create(log).expect("log file");
    let child = cmd.stdout(file.try_clone().expect("log")).stderr(file).spawn().expect("start program");
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = running.0.try_wait() {
            panic!("{cmd:?} exited ({status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(
            Instant::now() < deadline,
            "{addr} never answered:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    running
}

/// A stand-in upstream: answers every HTTP request with `200 <name> <request target>` and counts
/// the connections it accepted.
pub fn stand_in(name: &str, addr: &str) -> Arc<AtomicUsize> {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("stand-in {name} at {addr}: {e}"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let name = name.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let name = name.clone();
            std::thread::spawn(move || answer(stream, &name));
        }
    });
    hits
}

fn answer(mut stream: TcpStream, name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.split_whitespace().nth(1).unwrap_or("?");
    let body = format!("{name} {target}");
    // The scheme the proxy in front said the client used, echoed for the tests that check it.
    let proto = text
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-proto")))
        .map_or("(none)", |(_, v)| v.trim());
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Seen-Forwarded-Proto: {proto}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
}

/// A stand-in DNS server: answers A queries for `names` (anything else: no such name).
pub fn dns_stand_in(addr: &str, names: BTreeMap<String, [u8; 4]>) {
    let socket = UdpSocket::bind(addr).unwrap_or_else(|e| panic!("DNS stand-in at {addr}: {e}"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = dns_reply(&buf[..n], &names) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
}

fn dns_reply(query: &[u8], names: &BTreeMap<String, [u8; 4]>) -> Option<Vec<u8>> {
    // Header (12 bytes), then one question: labels, a zero byte, type and class.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let found = names.get(&labels.join("."));
    let answer = found.filter(|_| qtype == 1);
    let mut reply = query.get(..question_end)?.to_vec();
    reply[2] = 0x81; // a response, recursion desired
    reply[3] = if found.is_some() { 0x80 } else { 0x83 }; // recursion available; no error / no such name
    reply[6..8].copy_from_slice(&[0, u8::from(answer.is_some())]);
    reply[8..12].copy_from_slice(&[0, 0, 0, 0]);
    if let Some(ip) = answer {
        reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
        reply.extend_from_slice(ip);
    }
    Some(reply)
}

/// An HTTP/1.1 request to `addr`: (status, body).
pub fn request(addr: &str, target: &str, host: &str) -> (u16, String) {
    let (status, _, body) = request_with(addr, target, host, "");
    (status, body)
}

/// An HTTP/1.1 request to `addr` with more header lines (`Name: value\r\n` each): (status, the
/// response's header lines, body).
pub fn request_with(addr: &str, target: &str, host: &str, headers: &str) -> (u16, String, String) {
    let addr: SocketAddr = addr.parse().expect("socket address");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: compose2dify-test\r\n{headers}Connection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    (status, head, body)
}

/// The files of a generated workload's `<name>-files` ConfigMap.
pub fn config_files(tree: &Path, workload: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(tree.join("services").join(workload).join("configmap.yaml"))
        .unwrap_or_else(|e| panic!("{workload}'s configmap.yaml: {e}"));
    for doc in yaml_serde::Deserializer::from_str(&text) {
        let doc = Value::deserialize(doc).expect("yaml");
        if doc["metadata"]["name"].as_str() == Some(&format!("{workload}-files")) {
            let data = doc["data"].as_mapping().expect("data");
            return data
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.as_str().unwrap_or_default().to_string()))
                .collect();
        }
    }
    panic!("{workload} has no {workload}-files ConfigMap");
}

/// Where the workload's pod mounts each file of its `<name>-files` ConfigMap: (mount path, key).
pub fn mounted_files(tree: &Path, workload: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(tree.join("services").join(workload).join("deployment.yaml"))
        .unwrap_or_else(|e| panic!("{workload}'s deployment.yaml: {e}"));
    let doc: Value = yaml_serde::from_str(&text).expect("yaml");
    let container = &doc["spec"]["template"]["spec"]["containers"][0];
    container["volumeMounts"]
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .filter_map(|m| Some((m["mountPath"].as_str()?.to_string(), m["subPath"].as_str()?.to_string())))
        .collect()
}

/// Lay the ConfigMap's files out under `root` where the pod mounts them (`/etc/nginx/nginx.conf` →
/// `root/etc/nginx/nginx.conf`).
pub fn lay_out(tree: &Path, workload: &str, root: &Path) {
    let files = config_files(tree, workload);
    for (path, key) in mounted_files(tree, workload) {
        let Some(text) = files.get(&key) else { continue };
        let dest = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dest, text).expect("write file");
    }
}
