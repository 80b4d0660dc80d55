//! The performance targets, measured on whole processes of the release binary (start to
//! exit, writing the tree), each the fastest of several runs, with the peak RSS of the child:
//!
//! - Dify 1.14.1: compose2dify takes at most half of what `kubectl kustomize` needs to render the tree
//!   (issue 8), and at most 0.15× (issue 16); re-running over the tree and `--check` are no slower
//!   than writing a fresh one (issue 16);
//! - `--preset generic` on 2,000 synthetic services: at most 2 s, at most 256 MB, at most 15× 200
//!   services (issue 8);
//! - 2,000 services whose shared anchor holds 200 settings: at most 1.5 s, at most 200 MB, at most 12×
//!   the 200-service case; time per service and per setting reported (issue 16).
//!
//! Prints one line a measurement and PASS/FAIL a target; exits 1 when a target fails.
//! Run: `cargo bench --bench targets` (`SCALE_QUICK=1`: only 200 and 2,000 services).
//! `cargo bench --bench targets -- --generate N DIR [PLAIN]` only writes
//! a synthetic compose folder of N services (for hyperfine or a profiler); PLAIN plain settings in
//! the shared anchor (default 60; 187 is issue 16's 200 settings).

#[path = "support/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_compose2dify");

/// Fastest wall time, least CPU time (user + system) and largest peak RSS over several runs.
/// CPU time shows the work when other load stretches wall time.
struct Measured {
    time: Duration,
    cpu: Duration,
    peak_mb: f64,
}

impl Default for Measured {
    fn default() -> Self {
        Measured { time: Duration::MAX, cpu: Duration::MAX, peak_mb: 0.0 }
    }
}

impl Measured {
    /// Run `cmd` once to its exit (it must succeed) and keep the best figures.
    fn run(&mut self, mut cmd: Command) {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        // Reaped by `wait4` below, which also reports the child's peak RSS.
        #[allow(clippy::zombie_processes)]
        let child = cmd.spawn().expect("spawn");
        let (ok, usage) = wait_with_rusage(child.id());
        self.time = self.time.min(start.elapsed());
        assert!(ok, "{:?} failed", cmd.get_args().collect::<Vec<_>>());
        let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        self.cpu = self.cpu.min(seconds(usage.ru_utime) + seconds(usage.ru_stime));
        self.peak_mb = self.peak_mb.max(usage.ru_maxrss as f64 / 1024.0);
    }
}

/// `runs` runs of `cmd(run)`.
fn measure(runs: usize, cmd: impl Fn(usize) -> Command) -> Measured {
    let mut m = Measured::default();
    for run in 0..runs {
        m.run(cmd(run));
    }
    m
}

/// Wait for one child and return whether it exited 0, and its own resource usage (`wait4`, unlike
/// `getrusage(RUSAGE_CHILDREN)`, reports this child alone; `ru_maxrss` is in KiB).
fn wait_with_rusage(pid: u32) -> (bool, libc::rusage) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child; `usage` is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(r, pid as libc::pid_t, "wait4");
    (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, usage)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(m: &Measured) -> String {
    format!("{:>8.1} ms wall  {:>8.1} ms cpu  {:>6.1} MB peak", ms(m.time), ms(m.cpu), m.peak_mb)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn runs_for(services: usize) -> usize {
    if services >= 5000 {
        3
    } else {
        10
    }
}

/// Whole `--preset generic` runs, each into a new output folder (removing the last one costs this
/// VM's disk more than writing it), for synthetic folders of each size, taken
/// in turns (a round runs every size once), so that a burst of load from elsewhere stretches all
/// sizes alike rather than one of them.
fn synthetic(work: &Path, sizes: &[usize], plain: usize) -> BTreeMap<usize, Measured> {
    let cases: Vec<(usize, PathBuf, PathBuf)> = sizes
        .iter()
        .map(|&n| {
            let dir = work.join(format!("synth-{n}-{plain}"));
            let compose = synth::write_with(&dir, n, plain).expect("write synthetic compose");
            (n, compose, dir.join("k8s"))
        })
        .collect();
    let mut at: BTreeMap<usize, Measured> = BTreeMap::new();
    let rounds = sizes.iter().map(|&n| runs_for(n)).max().unwrap_or(0);
    for round in 0..rounds {
        for (n, compose, out) in cases.iter().filter(|(n, _, _)| round < runs_for(*n)) {
            let mut c = Command::new(BIN);
            c.arg(compose).arg("-o").arg(out.join(round.to_string())).args(["--preset", "generic"]);
            at.entry(*n).or_default().run(c);
        }
    }
    for (n, m) in &at {
        let settings = plain + SETTINGS_BESIDE_PLAIN;
        println!("process  generic {n:>5} services × {settings:>3} settings {}", row(m));
    }
    at
}

/// Settings of each synthetic service besides the plain ones of the shared anchor (named shared
/// ones and its own).
const SETTINGS_BESIDE_PLAIN: usize = 13;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        let n: usize = args.get(i + 1).and_then(|n| n.parse().ok()).expect("--generate N DIR");
        let dir = PathBuf::from(args.get(i + 2).expect("--generate N DIR"));
        let plain = args.get(i + 3).map_or(synth::PLAIN_SETTINGS, |p| p.parse().expect("--generate N DIR PLAIN"));
        let compose = synth::write_with(&dir, n, plain).expect("write");
        println!("{}", compose.display());
        return ExitCode::SUCCESS;
    }
    // Under $TMPDIR: its file system is part of what is measured (TMPDIR=/dev/shm leaves the disk out).
    let work = tempfile::tempdir().expect("tempdir");
    println!("output under {}", work.path().display());
    let mut ok = true;

    // Dify 1.14.1: compose2dify writing the tree vs kubectl kustomize rendering it.
    let dify = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose/dify-1.14.1/docker-compose.yaml");
    let trees = work.path().join("dify-k8s");
    let ours = measure(10, |run| {
        let mut c = Command::new(BIN);
        c.arg(&dify).arg("-o").arg(trees.join(run.to_string()));
        c
    });
    let tree = trees.join("0");
    let secrets = Command::new(BIN).arg("secrets").arg(&tree).stderr(Stdio::null()).status().expect("secrets");
    assert!(secrets.success(), "compose2dify secrets failed");
    let kustomize = measure(10, |_| {
        let mut c = Command::new("kubectl");
        c.arg("kustomize").arg(&tree);
        c
    });
    // Over the tree it made (nothing to write) and --check, both on the first run's tree.
    let again = measure(10, |_| {
        let mut c = Command::new(BIN);
        c.arg(&dify).arg("-o").arg(&tree);
        c
    });
    let check = measure(10, |_| {
        let mut c = Command::new(BIN);
        c.arg(&dify).arg("-o").arg(&tree).arg("--check");
        c
    });
    println!("process  dify 1.14.1 compose2dify      {}", row(&ours));
    println!("process  dify 1.14.1 again, unchanged  {}", row(&again));
    println!("process  dify 1.14.1 --check           {}", row(&check));
    println!("process  dify 1.14.1 kubectl kustomize {}", row(&kustomize));

    let mut sizes = vec![10, 100, 200, 1000, 2000, 5000];
    if std::env::var_os("SCALE_QUICK").is_some() {
        sizes = vec![200, 2000];
    }
    let at = synthetic(work.path(), &sizes, synth::PLAIN_SETTINGS);
    // Issue 16's shape: 200 settings in every service (Dify's api has over 700).
    let wide_plain = 200 - SETTINGS_BESIDE_PLAIN;
    let wide = synthetic(work.path(), &[200, 2000], wide_plain);
    let (wide_small, wide_big) = (&wide[&200], &wide[&2000]);
    let per_service = ms(wide_big.time) * 1000.0 / 2000.0;
    let per_setting = ms(wide_big.time) * 1000.0 / (2000.0 * 200.0);
    println!("per      2000 services × 200 settings: {per_service:.0} µs a service, {per_setting:.2} µs a setting");
    let wide_ratio = wide_big.time.as_secs_f64() / wide_small.time.as_secs_f64();

    let (small, big) = (&at[&200], &at[&2000]);
    let ratio = big.time.as_secs_f64() / small.time.as_secs_f64();
    let dify_ratio = ours.time.as_secs_f64() / kustomize.time.as_secs_f64();
    let targets = [
        (format!("dify 1.14.1: compose2dify / kubectl kustomize = {dify_ratio:.2} (at most 0.5)"), dify_ratio <= 0.5),
        (format!("2000 services: {:.0} ms (at most 2000 ms)", ms(big.time)), big.time <= Duration::from_secs(2)),
        (format!("2000 services: {:.1} MB peak (at most 256 MB)", big.peak_mb), big.peak_mb <= 256.0),
        (format!("2000 / 200 services: {ratio:.1}x the time (at most 15x)"), ratio <= 15.0),
        (format!("dify 1.14.1: compose2dify / kubectl kustomize = {dify_ratio:.2} (at most 0.15)"), dify_ratio <= 0.15),
        (
            format!(
                "dify 1.14.1: again {:.1} ms, --check {:.1} ms, fresh {:.1} ms (no slower)",
                ms(again.time),
                ms(check.time),
                ms(ours.time)
            ),
            // One millisecond of slack: the runs are whole processes.
            again.time <= ours.time + Duration::from_millis(1) && check.time <= ours.time + Duration::from_millis(1),
        ),
        (
            format!("2000 services × 200 settings: {:.0} ms (at most 1500 ms)", ms(wide_big.time)),
            wide_big.time <= Duration::from_millis(1500),
        ),
        (
            format!("2000 services × 200 settings: {:.1} MB peak (at most 200 MB)", wide_big.peak_mb),
            wide_big.peak_mb <= 200.0,
        ),
        (format!("2000 / 200 services × 200 settings: {wide_ratio:.1}x the time (at most 12x)"), wide_ratio <= 12.0),
    ];
    for (what, pass) in &targets {
        println!("target   {}  {what}", verdict(*pass));
        ok &= pass;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
