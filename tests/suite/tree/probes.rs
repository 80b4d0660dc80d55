//! Probes that fail when the thing they check is broken (issue 28), on 1.14.1 and 1.8.0: the
//! worker's and worker-beat's rendered probe commands run under `sh`, the worker's with a stand-in
//! `celery` (and `grep`) first on PATH, beat's in a folder holding (or not) a fresh schedule file.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::common::*;
use yaml_serde::Value;

const BOTH: &[&str] = &["1.14.1", "1.8.0"];

fn container<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    &get(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
}

/// The `sh -c` script of a probe.
fn script(c: &Value, probe: &str) -> String {
    let argv: Vec<&str> =
        c[probe]["exec"]["command"].as_sequence().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(&argv[..2], ["sh", "-c"], "{probe}: {argv:?}");
    argv[2].to_string()
}

/// A stand-in `celery`: `inspect ping -d NODE` answers (exit 0) only when the broker is up (file
/// `broker` says `up`) and NODE is the running node (file `node`) and that node is not stuck (file
/// `stuck` absent); otherwise it says what the real one says and exits 69 (EX_UNAVAILABLE). Each call
/// is logged with the broker URL it saw. A stand-in `grep` logs its call and succeeds.
struct Pod {
    dir: tempfile::TempDir,
}

impl Pod {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let celery = r#"#!/bin/sh
state=$(dirname "$0")
echo "celery $* broker=$CELERY_BROKER_URL" >> "$state/calls"
node=
while [ $# -gt 0 ]; do
  case "$1" in -d) node=$2; shift ;; esac
  shift
done
if [ "$(cat "$state/broker")" != up ]; then
  echo "Error: Cannot connect to redis://redis:6379/1: Connection refused." >&2; exit 69
fi
if [ "$node" = "$(cat "$state/node")" ] && [ ! -e "$state/stuck" ]; then
  echo "-> $node: OK"; echo "        pong"; exit 0
fi
echo "Error: No nodes replied within time constraint" >&2; exit 69
"#;
        write_exec(&dir.path().join("celery"), celery);
        write_exec(&dir.path().join("grep"), "#!/bin/sh\necho \"grep $*\" >> \"$(dirname \"$0\")/calls\"\nexit 0\n");
        let pod = Self { dir };
        pod.set("broker", "up");
        pod.set("node", "celery@worker-7d9f-abcde");
        pod
    }

    fn set(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }

    /// Run the probe as the pod would: HOSTNAME is the pod's name, the broker URL from its Secret.
    fn probe(&self, script: &str, hostname: &str, env: &[(&str, &str)]) -> i32 {
        let _ = std::fs::remove_file(self.dir.path().join("calls"));
        let path = format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).env_clear().env("PATH", path).env("HOSTNAME", hostname);
        cmd.env("CELERY_BROKER_URL", "redis://:difyai123456@redis:6379/1");
        cmd.envs(env.iter().copied());
        cmd.output().expect("run sh").status.code().unwrap_or(-1)
    }
}

#[test]
fn the_worker_is_restarted_when_its_broker_is_gone_or_it_stops_answering() {
    for release in BOTH {
        let docs = rendered(release, &[]);
        let worker = container(docs, "worker");
        let live = script(worker, "livenessProbe");
        assert_eq!(live, script(worker, "readinessProbe"), "{release}: one check");
        // Generous: a busy worker has 10 minutes to answer once.
        let p = &worker["livenessProbe"];
        let patience = p["failureThreshold"].as_i64().unwrap() * p["periodSeconds"].as_i64().unwrap();
        assert!(patience >= 600 && p["timeoutSeconds"].as_i64() >= Some(30), "{release}: {p:?}");
        assert!(live.contains("--timeout 20"), "{release}: the ping waits less than the probe's timeout");

        let pod = Pod::new();
        let me = "worker-7d9f-abcde";
        assert_eq!(pod.probe(&live, me, &[]), 0, "{release}: a worker that answers is alive: {}", pod.calls());
        assert!(pod.calls().contains("broker=redis://"), "{release}: the ping goes through the broker");
        // It pings its own node, not any worker: another pod's answer does not keep it alive.
        assert_ne!(pod.probe(&live, "worker-7d9f-zzzzz", &[]), 0, "{release}: pinged a node that is not its own");
        pod.set("stuck", "");
        assert_ne!(pod.probe(&live, me, &[]), 0, "{release}: a stuck worker passed");
        std::fs::remove_file(pod.dir.path().join("stuck")).unwrap();
        pod.set("broker", "down");
        assert_ne!(pod.probe(&live, me, &[]), 0, "{release}: a worker without its broker passed");
        pod.set("broker", "up");

        if *release == "1.14.1" {
            // The release's own light app, which sets Dify's Sentinel and TLS options itself.
            assert!(pod.calls().contains("celery -A celery_healthcheck.celery inspect ping"), "{release}");
            for (k, v) in [("CELERY_BROKER_URL", "sentinel://s1:26379"), ("REDIS_USE_SSL", "true")] {
                pod.probe(&live, me, &[(k, v)]);
                assert!(pod.calls().starts_with("celery -A celery_healthcheck.celery"), "{release} {k}={v}");
            }
        } else {
            // Celery's default app (no Dify import), where the plain broker URL is all Dify uses…
            pod.probe(&live, me, &[("REDIS_USE_SSL", "false")]);
            assert!(pod.calls().starts_with("celery inspect ping -d celery@worker-7d9f-abcde"), "{}", pod.calls());
            // … and the process check where Dify adds Sentinel or TLS options it cannot know.
            for (k, v) in [
                ("CELERY_BROKER_URL", "sentinel://:pw@s1:26379/1"),
                ("CELERY_BROKER_URL", "rediss://:pw@redis:6380/1"),
                ("REDIS_USE_SSL", "true"),
            ] {
                assert_eq!(pod.probe(&live, me, &[(k, v)]), 0, "{release} {k}={v}");
                assert_eq!(pod.calls(), "grep -q worker /proc/1/cmdline\n", "{release} {k}={v}");
            }
        }
    }
}

/// Run beat's probe in `dir` (the image's WORKDIR, where beat keeps its schedule).
fn beat_probe(script: &str, dir: &Path) -> i32 {
    Command::new("sh").arg("-c").arg(script).current_dir(dir).status().expect("run sh").code().unwrap_or(-1)
}

#[test]
fn worker_beat_is_restarted_when_its_scheduler_stops_writing_its_schedule() {
    for release in BOTH {
        let docs = rendered(release, &[]);
        let beat = container(docs, "worker-beat");
        let live = script(beat, "livenessProbe");
        assert!(beat["startupProbe"]["exec"].is_mapping(), "{release}: beat gets time to write its first schedule");

        let workdir = tempfile::tempdir().unwrap();
        assert_ne!(beat_probe(&live, workdir.path()), 0, "{release}: no schedule file, yet alive");
        let file = workdir.path().join("celerybeat-schedule");
        std::fs::write(&file, b"shelve").unwrap();
        assert_eq!(beat_probe(&live, workdir.path()), 0, "{release}: a schedule synced just now");
        // The loop syncs at least every ~5 minutes: 6 minutes old is still a turning loop.
        let age = |min: u64| SystemTime::now() - Duration::from_secs(min * 60);
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(age(6)).unwrap();
        assert_eq!(beat_probe(&live, workdir.path()), 0, "{release}: 6 minutes old");
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(age(20)).unwrap();
        assert_ne!(beat_probe(&live, workdir.path()), 0, "{release}: a schedule untouched for 20 minutes");
        // dbm backends that keep the shelve in several files (`.dat`, `.dir`) count as well.
        std::fs::write(workdir.path().join("celerybeat-schedule.dat"), b"shelve").unwrap();
        assert_eq!(beat_probe(&live, workdir.path()), 0, "{release}: celerybeat-schedule.dat");
    }
}
