//! The migration Job and the pods that wait for it (issue 12), judged on the rendered tree and by
//! running the generated commands under `sh` with a stand-in `flask`: the Job mounts no claim, fails
//! unless the schema is at head when it ends (upstream's `upgrade-db` exits 0 when it skips or, in
//! older releases, fails), and the waiters say why they wait. The facts these rules rest on are
//! checked against the api image's own sources (`tests/fixtures/images/dify-api/`).

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;
use yaml_serde::Value;

const WAITING: &[&str] = &["api", "worker", "worker-beat", "api-websocket"];

fn job(docs: &[Value]) -> &Value {
    let jobs: Vec<&Value> = docs.iter().filter(|d| d["kind"].as_str() == Some("Job")).collect();
    assert_eq!(jobs.len(), 1, "one migration Job");
    jobs[0]
}

/// The `sh -c` script of a command, checked for its form.
fn script(command: &Value, what: &str) -> String {
    let argv: Vec<&str> = command.as_sequence().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(argv.len(), 3, "{what}: sh -c SCRIPT, got {argv:?}");
    assert_eq!(&argv[..2], ["sh", "-c"], "{what}");
    argv[2].to_string()
}

/// A folder with a stand-in `flask` and a `sleep` that returns at once. `flask upgrade-db` prints
/// `upgrade.out` and exits with `upgrade.rc`; each `flask db current` gives the next answer of
/// `answers` (`err`: an error on stderr and exit 1; `behind`; `head`), the last one over and over.
struct Stage {
    dir: tempfile::TempDir,
}

impl Stage {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let flask = r#"#!/bin/sh
state=$(dirname "$0")
case "$1" in
  upgrade-db) cat "$state/upgrade.out"; exit "$(cat "$state/upgrade.rc")" ;;
  db)
    n=$(cat "$state/calls" 2>/dev/null || echo 0)
    echo $((n + 1)) > "$state/calls"
    answer=$(sed -n "$((n + 1))p" "$state/answers")
    [ -n "$answer" ] || answer=$(tail -n 1 "$state/answers")
    case "$answer" in
      err) cat "$state/current.err" >&2; exit 1 ;;
      behind) printf '%s' "$BEHIND" ;;
      head) printf '%s' "$HEAD" ;;
    esac ;;
esac
"#;
        write_exec(&dir.path().join("flask"), flask);
        write_exec(&dir.path().join("sleep"), "#!/bin/sh\nexit 0\n");
        let stage = Self { dir };
        stage.set("current.err", "sqlalchemy.exc.OperationalError: connection to server at \"postgres\" failed\n");
        stage
    }

    fn set(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    fn answers(&self, answers: &[&str]) {
        self.set("answers", &format!("{}\n", answers.join("\n")));
        let _ = std::fs::remove_file(self.dir.path().join("calls"));
    }

    /// Run a script under sh with the stand-ins first on PATH: (exit code, stdout, stderr).
    fn run(&self, script: &str) -> (i32, String, String) {
        let path = format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default());
        let o = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PATH", path)
            .env("HEAD", HEAD)
            .env("BEHIND", BEHIND)
            .output()
            .expect("sh");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    }
}

const HEAD: &str = "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n4f3a8c9b1d2e (head)\n";
const BEHIND: &str = "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n2a84f95f3b1c\n";

#[test]
fn migration_job_mounts_no_claim() {
    for release in ["1.14.1", "1.8.0", "1.4.0", "0.15.3"] {
        let docs = rendered(release, &[]);
        let spec = &job(docs)["spec"]["template"]["spec"];
        let claims: Vec<&Value> = spec["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter(|v| !v["persistentVolumeClaim"].is_null())
            .collect();
        assert!(claims.is_empty(), "{release}: the Job waits for no claim: {claims:?}");
        // The api itself does mount the shared storage, so the Job's lack of it is a choice.
        let api = yaml_serde::to_string(get(docs, "Deployment", "api")).unwrap();
        assert!(api.contains("claimName: dify-storage"), "{release}");
    }
}

#[test]
fn migration_job_fails_unless_the_schema_is_at_head() {
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let docs = rendered(release, &[]);
        let container = &job(docs)["spec"]["template"]["spec"]["containers"][0];
        let script = script(&container["command"], &format!("{release} Job"));
        assert!(container["args"].is_null(), "{release}: the command is the whole story");
        let stage = Stage::new();

        // upgrade-db finds the lock held: it prints "skipped" and exits 0; the schema is behind.
        stage.set("upgrade.out", "Preparing database migration...\nDatabase migration skipped\n");
        stage.set("upgrade.rc", "0");
        stage.answers(&["behind"]);
        let (rc, out, err) = stage.run(&script);
        assert_ne!(rc, 0, "{release}: a skipped migration fails the Job\n{out}{err}");
        assert!(out.contains("2a84f95f3b1c") && err.contains("db_upgrade_lock"), "{release}: says why\n{out}{err}");

        // 1.8.0 and older log a failed migration and exit 0 all the same.
        stage.set("upgrade.out", "Starting database migration.\nFailed to execute database migration\n");
        stage.answers(&["behind"]);
        let (rc, _, _) = stage.run(&script);
        assert_ne!(rc, 0, "{release}: a swallowed failure fails the Job");

        // 1.14.1 exits 1 when the migration fails.
        stage.set("upgrade.rc", "1");
        stage.answers(&["head"]);
        let (rc, _, _) = stage.run(&script);
        assert_ne!(rc, 0, "{release}: upgrade-db failed");

        // The migration ran: head.
        stage.set("upgrade.out", "Database migration successful!\n");
        stage.set("upgrade.rc", "0");
        stage.answers(&["head"]);
        let (rc, out, err) = stage.run(&script);
        assert_eq!(rc, 0, "{release}: at head\n{out}{err}");
        assert!(out.contains("4f3a8c9b1d2e (head)"), "{release}: the revision is logged: {out}");

        // The database cannot be reached: the error is shown, the Job fails.
        stage.answers(&["err"]);
        let (rc, out, _) = stage.run(&script);
        assert_ne!(rc, 0, "{release}");
        assert!(out.contains("OperationalError"), "{release}: {out}");
    }
}

#[test]
fn waiters_say_why_they_wait() {
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let docs = rendered(release, &[]);
        for name in WAITING {
            let Some(d) = find(docs, "Deployment", name) else {
                assert!(
                    *name == "api-websocket" || (release == "0.15.3" && *name == "worker-beat"),
                    "{release} {name}"
                );
                continue;
            };
            let init = d["spec"]["template"]["spec"]["initContainers"]
                .as_sequence()
                .and_then(|s| s.iter().find(|c| c["name"].as_str() == Some("wait-for-migration")))
                .unwrap_or_else(|| panic!("{release} {name} waits for the migration"));
            let script = script(&init["command"], &format!("{release} {name}"));
            assert!(!script.contains("/dev/null"), "{release} {name}: nothing is hidden: {script}");

            // 30 tries fail with the same error, then the schema is at head.
            let stage = Stage::new();
            stage.set("current.err", "Traceback (most recent call last):\npsycopg2.OperationalError: password authentication failed for user \"postgres\"\n");
            let mut answers = vec!["err"; 30];
            answers.push("head");
            stage.answers(&answers);
            let (rc, out, err) = stage.run(&script);
            assert_eq!(rc, 0, "{release} {name}: ends once at head\n{out}{err}");
            let lines: Vec<&str> = out.lines().filter(|l| l.contains("waiting for the migration Job")).collect();
            assert!(
                !lines.is_empty() && lines[0].contains("password authentication failed"),
                "{release} {name}: {out}"
            );
            assert!(lines.len() <= 4, "{release} {name}: rate-limited, {} lines for 30 tries:\n{out}", lines.len());
            assert!(out.contains("schema at head: 4f3a8c9b1d2e (head)"), "{release} {name}: {out}");

            // Reachable but behind, then unreachable: the revision is shown, and the change at once.
            stage.answers(&["behind", "behind", "behind", "err", "head"]);
            let (rc, out, _) = stage.run(&script);
            assert_eq!(rc, 0, "{release} {name}");
            let lines: Vec<&str> = out.lines().filter(|l| l.contains("waiting for the migration Job")).collect();
            assert_eq!(lines.len(), 2, "{release} {name}: {out}");
            assert!(lines[0].ends_with("flask db current says: 2a84f95f3b1c"), "{release} {name}: {out}");
            assert!(lines[1].contains("password authentication failed"), "{release} {name}: {out}");
        }
    }
}

/// The generated scripts pass `sh -n` and shellcheck.
#[test]
fn migration_scripts_pass_shellcheck() {
    let found = Command::new("shellcheck").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "shellcheck is needed for this test: install it (apt-get install shellcheck)"
    );
    for release in ["1.14.1", "1.8.0", "0.15.3"] {
        let (dir, docs) = generate_and_render(release, &[]);
        let mut scripts = vec![(
            "job".to_string(),
            script(&job(&docs)["spec"]["template"]["spec"]["containers"][0]["command"], "job"),
        )];
        for name in WAITING {
            if let Some(d) = find(&docs, "Deployment", name) {
                let init = &d["spec"]["template"]["spec"]["initContainers"];
                for c in init
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["name"].as_str() == Some("wait-for-migration"))
                {
                    scripts.push((name.to_string(), script(&c["command"], name)));
                }
            }
        }
        for (what, text) in scripts {
            let file: PathBuf = dir.path().join(format!("{what}.sh"));
            std::fs::write(&file, &text).unwrap();
            let n = Command::new("sh").arg("-n").arg(&file).output().unwrap();
            assert!(n.status.success(), "{release} {what}: sh -n: {}", String::from_utf8_lossy(&n.stderr));
            let o = Command::new("shellcheck").args(["-s", "sh"]).arg(&file).output().unwrap();
            assert!(o.status.success(), "{release} {what}: {}", String::from_utf8_lossy(&o.stdout));
        }
    }
}

fn image_file(release: &str, path: &str) -> String {
    let p = repo().join("tests/fixtures/images/dify-api").join(release).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What the rules assume about the api image, checked against its sources at each release.
#[test]
fn the_api_image_migrates_as_the_rules_assume() {
    for release in ["0.15.3", "1.8.0", "1.14.1"] {
        // The migration Job runs what MODE=migration runs: `flask upgrade-db`, nothing else.
        let entry = image_file(release, "api/docker/entrypoint.sh");
        let migrating = entry.split("if [[ \"${MIGRATION_ENABLED}\" == \"true\" ]]; then").nth(1).unwrap();
        let migrating = migrating.split("\nfi\n").next().unwrap();
        let commands: Vec<&str> = migrating
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty() && !l.starts_with('#') && !l.starts_with("echo") && !l.starts_with("if ") && *l != "fi"
            })
            .filter(|l| !l.starts_with("exit"))
            .collect();
        assert_eq!(commands, ["flask upgrade-db"], "{release}: the migration step of the entrypoint");
        assert_eq!(migrating.contains("MODE}\" == \"migration\""), release != "0.15.3", "{release}: MODE=migration");

        // upgrade-db skips (exit 0) when the Redis lock is held; the lock expires after 60 s.
        let commands = if release == "1.14.1" {
            let system = image_file(release, "api/commands/system.py");
            assert!(system.contains("DB_UPGRADE_LOCK_TTL_SECONDS = 60"), "{release}");
            assert!(system.contains("raise SystemExit(1)"), "{release}: a failed migration exits 1");
            system
        } else {
            let c = image_file(release, "api/commands.py");
            assert!(c.contains("redis_client.lock(name=\"db_upgrade_lock\", timeout=60)"), "{release}");
            let body = c.split("def upgrade_db():").nth(1).unwrap().split("\n@click.command").next().unwrap();
            assert!(
                body.contains("except Exception") && !body.contains("SystemExit"),
                "{release}: failure is swallowed"
            );
            c
        };
        assert!(commands.contains("name=\"db_upgrade_lock\""), "{release}: the lock's name");
        assert!(commands.contains("click.echo(\"Database migration skipped\")"), "{release}: the skip");

        // `flask db …` builds the migrations app: database and Flask-Migrate only.
        let app = image_file(release, "api/app.py");
        assert!(app.contains("sys.argv[1] == \"db\"") && app.contains("create_migrations_app()"), "{release}");
        let factory = image_file(release, "api/app_factory.py");
        let migrations_app = factory.split("def create_migrations_app").nth(1).unwrap();
        let migrations_app = migrations_app.split("\ndef ").next().unwrap();
        assert!(!migrations_app.contains("ext_storage"), "{release}: no storage for `flask db current`");

        // upgrade-db's full app only creates the storage folder in its working directory, which the
        // image's user owns: the Job needs no claim.
        let opendal = image_file(release, "api/extensions/storage/opendal_storage.py");
        assert!(opendal.contains("Path(root).mkdir(parents=True, exist_ok=True)"), "{release}");
        let docker = image_file(release, "api/Dockerfile");
        assert!(docker.contains("WORKDIR /app/api"), "{release}");
        // sh, grep and tail: Debian's essential packages in the python slim base.
        assert!(docker.contains("FROM python:3.12-slim-bookworm AS base"), "{release}");
        if release == "1.14.1" {
            assert!(docker.contains("chown -R dify:dify /app") && docker.contains("USER dify"), "{release}");
        } else {
            assert!(!docker.contains("\nUSER "), "{release}: runs as root");
        }
    }
    // The rule runs that command and asks for the head afterwards.
    let rules = std::fs::read_to_string(repo().join("mappings/dify.yaml")).unwrap();
    assert!(rules.contains("flask upgrade-db || exit 1") && rules.contains("flask db current"));
}
