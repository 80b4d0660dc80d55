//! Hostile inputs (issue 25): reads confined to the project and bounded, expansion capped, a record
//! that cannot be forged, writes that leave the old tree whole. Every run has a timeout, and those
//! that could exhaust memory run under an address-space limit (`setrlimit`).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::read_tree;

/// What a run of the tool gave.
struct Run {
    code: Option<i32>,
    stderr: String,
    /// The output folder's files after the run.
    tree: BTreeMap<String, Vec<u8>>,
}

impl Run {
    /// Every file of the tree as one text, to search for what must not be there.
    fn text(&self) -> String {
        self.tree.values().map(|b| String::from_utf8_lossy(b).to_string()).collect::<Vec<_>>().join("\n")
    }

    fn refused(&self, words: &[&str]) {
        assert_eq!(self.code, Some(2), "expected exit 2:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        for w in words {
            assert!(self.stderr.contains(w), "expected `{w}` in:\n{}", self.stderr);
        }
        assert!(self.tree.is_empty(), "a refused run wrote {:?}", self.tree.keys().collect::<Vec<_>>());
    }

    fn succeeded(&self) {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.stderr);
    }
}

/// Memory a run may map: far more than any legitimate run here needs.
const MEMORY_LIMIT: u64 = 2 << 30;

/// Run the tool in `cwd` with `args` as given, `stdin` piped in, under the memory limit (and a
/// file-size limit when `fsize` is given, with SIGXFSZ ignored so a write fails instead), killed
/// after `timeout`: the exit code and stderr.
fn exec(
    cwd: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    fsize: Option<u64>,
    timeout: Duration,
) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_compose2dify"));
    cmd.current_dir(cwd).args(args);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: MEMORY_LIMIT, rlim_max: MEMORY_LIMIT };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = fsize {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("run compose2dify");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(bytes).expect("write stdin");
    }
    // stderr is read on its own thread, so a chatty run cannot block on a full pipe.
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            panic!("compose2dify {args:?} did not finish in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap_or_default())
}

/// Generate with the generic preset into `cwd/k8s`.
fn run_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let args: Vec<&str> = args.iter().copied().chain(["-o", "k8s", "--preset", "generic"]).collect();
    let (code, stderr) = exec(cwd, &args, stdin, None, timeout);
    let out = cwd.join("k8s");
    let tree = if out.is_dir() { read_tree(&out) } else { BTreeMap::new() };
    Run { code, stderr, tree }
}

fn run(cwd: &Path, args: &[&str]) -> Run {
    run_in(cwd, args, None, Duration::from_secs(20))
}

/// A project folder `proj` with `compose.yaml`, beside a folder `outside` holding a secret file.
fn project(compose: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("proj");
    fs::create_dir_all(&proj).unwrap();
    fs::create_dir_all(tmp.path().join("outside")).unwrap();
    fs::write(tmp.path().join("outside/secret.txt"), "TOPSECRET=from-outside\n").unwrap();
    fs::write(proj.join("compose.yaml"), compose).unwrap();
    (tmp, proj)
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

const BIND_OUTSIDE: &str =
    "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ../outside/secret.txt:/etc/app/secret.txt:ro\n";

/// A bind mount of `../outside/…` is never read, however the compose file is named.
#[test]
fn a_relative_compose_path_does_not_open_the_parent_folder() {
    for how in ["compose.yaml", "./compose.yaml"] {
        let (_tmp, proj) = project(BIND_OUTSIDE);
        let r = run(&proj, &[how]);
        r.succeeded();
        assert!(!r.text().contains("TOPSECRET"), "{how}: a file outside the project reached the tree");
    }
    let (_tmp, proj) = project("");
    let r = run_in(&proj, &["-"], Some(BIND_OUTSIDE.as_bytes()), Duration::from_secs(20));
    r.succeeded();
    assert!(!r.text().contains("TOPSECRET"), "-: a file outside the project reached the tree");
}

/// `env_file: /proc/self/environ` would put the process environment (a CI token) in a ConfigMap.
#[test]
fn system_files_are_never_read() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    env_file: /proc/self/environ\n");
    run(&proj, &["compose.yaml"]).refused(&["/proc/self/environ", "system file"]);
    let (_tmp, proj) = project("include:\n  - /dev/zero\nservices:\n  app:\n    image: nginx:1\n");
    run(&proj, &["compose.yaml"]).refused(&["/dev/zero", "system file"]);
}

/// Env files and includes outside the project are refused, unless `--allow-read` names their
/// folder; that choice is recorded.
#[test]
fn reads_outside_need_allow_read() {
    let compose = "services:\n  app:\n    image: nginx:1\n    env_file: ../outside/secret.txt\n";
    let (tmp, proj) = project(compose);
    run(&proj, &["compose.yaml"]).refused(&["outside the project folder", "--allow-read"]);
    let outside = tmp.path().join("outside");
    let r = run(&proj, &["compose.yaml", "--allow-read", outside.to_str().unwrap()]);
    r.succeeded();
    assert!(r.text().contains("TOPSECRET"), "the allowed file was not read");
    let generated = String::from_utf8_lossy(&r.tree["GENERATED.md"]).to_string();
    assert!(generated.contains("--allow-read"), "the choice is not recorded:\n{generated}");
    let (tmp, proj) = project("include:\n  - ../outside/other.yaml\nservices:\n  app:\n    image: nginx:1\n");
    fs::write(tmp.path().join("outside/other.yaml"), "services:\n  other:\n    image: nginx:1\n").unwrap();
    run(&proj, &["compose.yaml"]).refused(&["outside the project folder"]);
}

/// Symlinks inside the project that point out of it are not followed: a file, a folder, the env
/// source itself.
#[test]
fn symlinks_out_of_the_project_are_not_followed() {
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./host.txt:/etc/host.txt:ro\n      - ./conf:/etc/conf:ro\n";
    let (tmp, proj) = project(compose);
    std::os::unix::fs::symlink(tmp.path().join("outside/secret.txt"), proj.join("host.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside"), proj.join("conf")).unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(!r.text().contains("TOPSECRET"), "a symlink led out of the project");
    assert!(r.stderr.contains("outside the project folder"), "{}", r.stderr);

    let (tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    environment: [A=$TOPSECRET]\n");
    std::os::unix::fs::symlink(tmp.path().join("outside/secret.txt"), proj.join(".env")).unwrap();
    run(&proj, &["compose.yaml"]).refused(&["outside the project folder"]);
}

/// FIFOs never hang a run: as an env file, an include, or inside a bound folder.
#[test]
fn fifos_do_not_hang() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    env_file: ./pipe\n");
    mkfifo(&proj.join("pipe"));
    run(&proj, &["compose.yaml"]).refused(&["pipe", "not a regular file"]);
    let (_tmp, proj) = project("include: [./pipe]\nservices:\n  app:\n    image: nginx:1\n");
    mkfifo(&proj.join("pipe"));
    run(&proj, &["compose.yaml"]).refused(&["pipe", "not a regular file"]);
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./conf:/etc/conf:ro\n";
    let (_tmp, proj) = project(compose);
    fs::create_dir_all(proj.join("conf")).unwrap();
    fs::write(proj.join("conf/a.conf"), "a = 1\n").unwrap();
    mkfifo(&proj.join("conf/pipe"));
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(r.text().contains("a = 1"), "the folder's regular file is missing");
}

/// A symlink loop in a bound folder neither spins nor hangs.
#[test]
fn symlink_loops_end() {
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./conf:/etc/conf:ro\n";
    let (_tmp, proj) = project(compose);
    fs::create_dir_all(proj.join("conf")).unwrap();
    fs::write(proj.join("conf/a.conf"), "a = 1\n").unwrap();
    std::os::unix::fs::symlink(".", proj.join("conf/loop")).unwrap();
    std::os::unix::fs::symlink("../conf", proj.join("conf/up")).unwrap();
    let started = Instant::now();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(r.text().contains("a = 1"));
}

/// A bound file too large for a ConfigMap becomes a claim, with a warning; it is never read whole.
#[test]
fn a_large_bound_file_becomes_a_claim() {
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./big.txt:/data/big.txt\n";
    let (_tmp, proj) = project(compose);
    fs::write(proj.join("big.txt"), "x".repeat(3 << 20)).unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(r.stderr.contains("too large for a ConfigMap"), "{}", r.stderr);
    assert!(r.tree.values().all(|f| f.len() < 1 << 20), "a file of the tree holds the big file");
    assert!(r.text().contains("PersistentVolumeClaim"), "no claim for the big file");
}

/// An oversized include is refused before it is read, naming the file.
#[test]
fn large_inputs_are_refused_by_size() {
    let (_tmp, proj) = project("include: [./big.yaml]\nservices:\n  app:\n    image: nginx:1\n");
    let f = fs::File::create(proj.join("big.yaml")).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: a gigabyte that costs nothing on disk
    run(&proj, &["compose.yaml"]).refused(&["big.yaml", "more than the"]);
}

const WITH_SECRET: &str =
    "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: hunter2\n";

/// `secrets` neither follows a symlinked folder (a loop hung it) nor writes through a symlink, and a
/// failed write leaves no empty secret.yaml behind.
#[test]
fn secrets_stay_in_the_tree_and_whole() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    std::os::unix::fs::symlink(".", proj.join("k8s/loop")).unwrap();
    let secret = proj.join("k8s/services/db/secret.yaml");
    assert!(proj.join("k8s/services/db/secret.yaml.example").is_file(), "no secret example to fill");

    let elsewhere = proj.join("elsewhere.yaml");
    std::os::unix::fs::symlink(&elsewhere, &secret).unwrap();
    let (code, stderr) = exec(&proj, &["secrets", "k8s"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!elsewhere.exists(), "secrets wrote through a dangling symlink");
    fs::remove_file(&secret).unwrap();

    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, Some(16), Duration::from_secs(20));
    assert_eq!(code, Some(2), "a write over the file-size limit succeeded: {stderr}");
    assert!(!secret.exists(), "a failed write left {} bytes", fs::metadata(&secret).map(|m| m.len()).unwrap_or(0));

    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fs::read_to_string(&secret).unwrap().contains("stringData:"));
}

/// `carry-env` refuses a symlink where it would write, even a dangling one.
#[test]
fn carry_env_does_not_write_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, value) in [("old", "mine"), ("new", "default")] {
        let d = tmp.path().join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("docker-compose.yaml"), "services: {}\n").unwrap();
        fs::write(d.join(".env.example"), "A=default\n").unwrap();
        if dir == "old" {
            fs::write(d.join(".env"), format!("A={value}\n")).unwrap();
        }
    }
    let target = tmp.path().join("stolen.env");
    std::os::unix::fs::symlink(&target, tmp.path().join("new/.env")).unwrap();
    let (code, stderr) = exec(
        tmp.path(),
        &["carry-env", "old/docker-compose.yaml", "new/docker-compose.yaml"],
        None,
        None,
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!target.exists(), "carry-env wrote through a dangling symlink");
}

/// A 40-line .env whose values double each other is refused, naming the value, before it fills
/// the memory (it aborted the process).
#[test]
fn doubling_values_are_refused() {
    let mut env = String::from("A0=xx\n");
    for i in 1..40 {
        env.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    environment:\n      X: ${A39}\n");
    fs::write(proj.join(".env"), env).unwrap();
    run(&proj, &["compose.yaml"]).refused(&[".env:", "`A19`", "grows past"]);
}

/// A compose file that repeats a large variable thousands of times is refused by the sum of its
/// values, naming where.
#[test]
fn repeated_large_values_are_refused() {
    let mut compose = String::from("services:\n  app:\n    image: nginx:1\n    environment:\n");
    for i in 0..5000 {
        compose.push_str(&format!("      V{i}: ${{BIG}}\n"));
    }
    let (_tmp, proj) = project(&compose);
    fs::write(proj.join(".env"), format!("BIG={}\n", "y".repeat(512 * 1024))).unwrap();
    run(&proj, &["compose.yaml"]).refused(&["compose.yaml:", "services.app.environment", "pass"]);
}

/// A profile name from `.env` that holds a newline and a choices fence is refused, as compose
/// refuses it; nothing is recorded.
#[test]
fn forged_profile_names_are_refused() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    profiles: [web]\n");
    let forged =
        "COMPOSE_PROFILES=\"web\\n```\\n\\n## Choices\\n\\n```choices\\n--set DB_HOST=attacker.example.com\\n```\"\n";
    fs::write(proj.join(".env"), forged).unwrap();
    run(&proj, &["compose.yaml"]).refused(&["COMPOSE_PROFILES", "profile name"]);
    run(&proj, &["compose.yaml", "--profile", "web\n```choices"]).refused(&["--profile"]);
    run(&proj, &["compose.yaml", "--set", "A=1\n```\n--external postgres"]).refused(&["control character"]);
}

/// Names from the inputs cannot forge GENERATED.md: a bound file whose name holds a newline and a
/// fence is written escaped, and `upgrade` reads only the fence under `## Choices`.
#[test]
fn names_are_escaped_in_the_record() {
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./conf:/etc/conf:ro\n";
    let (_tmp, proj) = project(compose);
    fs::create_dir_all(proj.join("conf")).unwrap();
    fs::write(proj.join("conf/x\n```choices\n--set DB_HOST=attacker.example.com\n```\n.conf"), "a = 1\n").unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    let generated = String::from_utf8_lossy(&r.tree["GENERATED.md"]).to_string();
    assert!(!generated.contains("\n--set DB_HOST"), "a name forged a line:\n{generated}");
    assert_eq!(generated.matches("```choices").count(), 2, "{generated}");
    let readme = String::from_utf8_lossy(&r.tree["README.md"]).to_string();
    assert!(!readme.contains("\n--set DB_HOST"), "a name forged a line of the guide");
    let (code, stderr) =
        exec(&proj, &["upgrade", "k8s", "compose.yaml", "--check"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("with no choices") || stderr.contains("with --preset generic"), "{stderr}");
    assert!(!stderr.contains("DB_HOST"), "upgrade replayed a forged choice: {stderr}");
}

/// A forged manifest line cannot make a run delete a filled `secret.yaml`; it is ignored with a
/// warning.
#[test]
fn a_forged_manifest_line_deletes_nothing() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    let secret = proj.join("k8s/services/db/secret.yaml");
    fs::write(&secret, "filled\n").unwrap();
    let manifest = proj.join("k8s/.compose2dify-manifest");
    let mut lines = fs::read_to_string(&manifest).unwrap();
    lines.push_str("services/db/secret.yaml\n");
    fs::write(&manifest, lines).unwrap();
    fs::write(proj.join("compose.yaml"), "services:\n  other:\n    image: nginx:1\n").unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert_eq!(fs::read_to_string(&secret).unwrap(), "filled\n", "the filled secret.yaml was deleted");
    assert!(r.stderr.contains("never writes: the line is ignored"), "{}", r.stderr);
}

/// A symlinked folder inside the tree does not make the tool write (or delete) outside `-o`.
#[test]
fn a_symlinked_folder_in_the_tree_is_refused() {
    let (tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    let db = proj.join("k8s/services/db");
    fs::rename(&db, tmp.path().join("outside/db")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside/db"), &db).unwrap();
    let before = read_tree(&tmp.path().join("outside"));
    fs::write(proj.join("compose.yaml"), WITH_SECRET.replace("postgres:16", "postgres:17")).unwrap();
    let r = run(&proj, &["compose.yaml"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("symlinked folder"), "{}", r.stderr);
    assert_eq!(read_tree(&tmp.path().join("outside")), before, "files outside -o changed");
}

/// A move failing half-way (a file where a new folder goes) undoes the moves made: the old tree is
/// left exactly as it was.
#[test]
fn a_failed_write_leaves_the_old_tree() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    fs::write(proj.join("k8s/services/web"), "someone's file\n").unwrap();
    let before = read_tree(&proj.join("k8s"));
    let changed = WITH_SECRET.replace("postgres:16", "postgres:17") + "  web:\n    image: nginx:1\n";
    fs::write(proj.join("compose.yaml"), changed).unwrap();
    let r = run(&proj, &["compose.yaml"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.tree, before, "the old tree changed");
}

/// A staging folder left by a run cut short is the tool's own: a first run into that folder is not
/// refused, and the staging folder is removed.
#[test]
fn a_stale_staging_folder_is_removed() {
    let (_tmp, proj) = project(WITH_SECRET);
    fs::create_dir_all(proj.join("k8s/.compose2dify-stage-Ab12/new/base")).unwrap();
    fs::write(proj.join("k8s/.compose2dify-stage-Ab12/new/base/x.yaml"), "x").unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(!r.tree.keys().any(|k| k.starts_with(".compose2dify-stage-")), "{:?}", r.tree.keys());
    let ignore = String::from_utf8_lossy(&r.tree[".gitignore"]).to_string();
    assert!(ignore.contains(".compose2dify-stage-*/"), "{ignore}");
}

/// A large generic stack, its write interrupted (SIGINT) at random points 50 times: each time the
/// tree is the old one or, when the signal came during the swap, the whole new one (which is then
/// the old one of the next round); after the next run no staging folder survives.
#[test]
fn interrupted_writes_leave_a_whole_tree() {
    let stack = |image: &str| {
        let mut c = String::from("services:\n");
        for i in 0..50 {
            c.push_str(&format!("  svc{i}:\n    image: {image}\n    environment:\n"));
            for k in 0..8 {
                c.push_str(&format!("      SETTING_{k}: value-{i}-{k}\n"));
            }
        }
        c
    };
    // Tags that are no versions: moving between them is no downgrade (which would be refused).
    let images = ["nginx:stable", "nginx:mainline"];
    let (_tmp, proj) = project(&stack(images[1]));
    let out = proj.join("k8s");
    let started = Instant::now();
    run(&proj, &["compose.yaml"]).succeeded();
    let full = started.elapsed();
    let mut trees = vec![read_tree(&out)];
    fs::write(proj.join("compose.yaml"), stack(images[0])).unwrap();
    run(&proj, &["compose.yaml"]).succeeded();
    trees.insert(0, read_tree(&out));
    let mut current = 0; // the tree on disk
    let mut seed = 0x2545_f491_u64;
    let mut interrupted = 0;
    // Kills land anywhere in a run's time; on a machine that got faster since the first run
    // (another job ended), the range narrows after each run that finished, so some still land
    // before the swap.
    let mut bound = full;
    for _ in 0..50 {
        fs::write(proj.join("compose.yaml"), stack(images[1 - current])).unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % (bound.as_micros() as u64 + 1));
        let mut command = Command::new(env!("CARGO_BIN_EXE_compose2dify"));
        command.current_dir(&proj).args(["compose.yaml", "-o", "k8s", "--preset", "generic", "-q"]);
        // A test run started in the background (`cargo test &`) ignores SIGINT, and its children
        // inherit that: the child gets it back as a terminal gives it, so Ctrl-C is what lands.
        // SAFETY: only resets a signal's disposition between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap();
        std::thread::sleep(delay);
        // SAFETY: signals our own child by its id.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        child.wait().unwrap();
        let now: BTreeMap<String, Vec<u8>> =
            read_tree(&out).into_iter().filter(|(k, _)| !k.starts_with(".compose2dify-stage-")).collect();
        if now == trees[current] {
            interrupted += 1;
        } else if now == trees[1 - current] {
            current = 1 - current;
            bound /= 2;
        } else {
            panic!("an interrupted write left a mixed tree");
        }
    }
    assert!(interrupted > 0, "no run was interrupted before its swap");
    run(&proj, &["compose.yaml"]).succeeded();
    let left: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".compose2dify-stage-"))
        .collect();
    assert!(left.is_empty(), "a staging folder survived the next run");
}

/// setup-secrets.sh writes a chosen value exactly, whatever it holds: never through sed's
/// replacement text (where `&` is the match and `|…|e` ran a command).
#[test]
fn setup_secrets_writes_values_exactly() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    let dir = proj.join("k8s/services/db");
    let example = fs::read_to_string(dir.join("secret.yaml.example")).unwrap();
    let token = example.split_whitespace().find(|w| w.starts_with("CHANGE_ME_")).expect("a placeholder").to_string();
    let value = r"p&ss\1|touch PWNED|e;$(touch PWNED2)`x`";
    let key = example.lines().find(|l| l.contains(&token)).unwrap().trim().split(':').next().unwrap().to_string();
    fs::write(dir.join("secret.yaml"), example.replace(&token, value)).unwrap();
    // A newer release adds a key that shares the value.
    let line = format!("{key}: {token}\n");
    fs::write(dir.join("secret.yaml.example"), example.replace(&line, &format!("{line}  SHARED: {token}\n"))).unwrap();
    let o = Command::new("sh").arg(proj.join("k8s/scripts/setup-secrets.sh")).current_dir(&proj).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let secret = fs::read_to_string(dir.join("secret.yaml")).unwrap();
    assert!(secret.contains(&format!("  SHARED: {value}\n")), "{key}'s value was not written exactly:\n{secret}");
    assert!(!proj.join("PWNED").exists() && !proj.join("PWNED2").exists(), "a value was executed");
}

/// Secret-looking names, connection strings, webhook URLs and a healthcheck's `curl -u` never reach
/// a committed file in plain text.
#[test]
fn secrets_by_name_and_value_stay_out_of_the_tree() {
    let values = [
        ("APP_PASSPHRASE", "pass-phrase-1"),
        ("APP_SALT", "salt-value-2"),
        ("SUPABASE_JWT", "jwt-value-3"),
        ("PROXY_AUTH", "auth-value-4"),
        ("WEAVIATE_APIKEY", "apikey-value-5"),
        ("S3_ACCESSKEY", "accesskey-value-6"),
        ("ENCRYPTION_SEED", "encryption-value-7"),
        ("DB_CONNECTION", "Server=db;User Id=sa;Password=conn-value-8;"),
        ("ALERTS", "https://hooks.slack.com/services/T000/B000/hook-value-9"),
    ];
    let mut compose = String::from("services:\n  app:\n    image: nginx:1\n    ports: [\"80:80\"]\n    environment:\n");
    for (k, v) in values {
        compose.push_str(&format!("      {k}: \"{v}\"\n"));
    }
    compose.push_str("    healthcheck:\n      test: [\"CMD\", \"curl\", \"-fsu\", \"x\", \"-u\", \"admin:curl-value-10\", \"http://localhost/\"]\n");
    let (_tmp, proj) = project(&compose);
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    let text = r.text();
    for secret in ["pass-phrase-1", "salt-value-2", "jwt-value-3", "auth-value-4", "apikey-value-5"]
        .into_iter()
        .chain(["accesskey-value-6", "encryption-value-7", "conn-value-8", "hook-value-9", "curl-value-10"])
    {
        assert!(!text.contains(secret), "`{secret}` is in the tree in plain text");
    }
}

/// A `--set` of a secret-looking setting is never recorded (GENERATED.md, the guide) nor printed.
#[test]
fn a_secret_set_is_not_recorded() {
    let (_tmp, proj) = project(WITH_SECRET);
    let r = run(&proj, &["compose.yaml", "--set", "POSTGRES_PASSWORD=Sup3r-S3cret-Value", "--set", "TZ=UTC"]);
    r.succeeded();
    assert!(!r.stderr.contains("Sup3r-S3cret-Value"), "the secret was printed: {}", r.stderr);
    let generated = String::from_utf8_lossy(&r.tree["GENERATED.md"]).to_string();
    assert!(generated.contains("TZ=UTC"), "a plain choice was not recorded:\n{generated}");
    // Its value went into the tree's secret source (git-ignored), not anywhere committed.
    let secret = fs::read_to_string(proj.join("k8s/services/db/secret.yaml")).expect("secret.yaml made");
    assert!(secret.contains("POSTGRES_PASSWORD: Sup3r-S3cret-Value"), "{secret}");
    let committed: String = r
        .tree
        .iter()
        .filter(|(k, _)| !k.ends_with("/secret.yaml"))
        .map(|(_, v)| String::from_utf8_lossy(v).to_string())
        .collect();
    assert!(!committed.contains("Sup3r-S3cret-Value"), "the secret is in a committed file");
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml", "--set", "POSTGRES_PASSWORD=has space"])
        .refused(&["POSTGRES_PASSWORD", "secret.yaml"]);
}

/// Control characters kubectl refuses in any YAML (DEL, C1, U+FFFE) are refused where they are
/// written, a bound file holding them goes into binaryData, and an integer past 64 bits is named as
/// such.
#[test]
fn control_characters_and_huge_integers() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    environment:\n      A: \"x\\x7fy\"\n");
    run(&proj, &["compose.yaml"]).refused(&["compose.yaml:5:", "U+007F"]);
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n    env_file: app.env\n");
    fs::write(proj.join("app.env"), "OK=1\nB=\"x\u{85}\u{fffe}\"\n").unwrap();
    run(&proj, &["compose.yaml"]).refused(&["app.env:2", "U+FFFE"]);
    let compose = "services:\n  app:\n    image: nginx:1\n    volumes:\n      - ./odd.conf:/etc/odd.conf:ro\n";
    let (_tmp, proj) = project(compose);
    fs::write(proj.join("odd.conf"), "a = \u{9f}\n").unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(r.text().contains("binaryData"), "the file is not in binaryData");
    let (_tmp, proj) =
        project("services:\n  app:\n    image: nginx:1\n    deploy:\n      replicas: 99999999999999999999999\n");
    run(&proj, &["compose.yaml"]).refused(&["compose.yaml:5:", "larger than 64 bits"]);
}

mod random_inputs {
    //! Random compose and .env text built from pieces that reach for files (outside paths, system
    //! files, symlinks out, FIFOs, variables), through read → plan → emit → write in process: never
    //! a panic, never a byte from outside the project in the tree, and the old tree either whole or
    //! fully replaced.

    use super::*;
    use compose2dify::rules::{self, Preset};
    use compose2dify::{guide::Lang, read::upstream, tree::write, Settings};
    use proptest::prelude::*;

    const PATHS: &[&str] = &[
        "./conf",
        "./conf/a.conf",
        "../outside/secret.txt",
        "./link",
        "./linkdir",
        "/proc/self/environ",
        "/etc/hostname",
        "./pipe",
        "./missing",
        "${P}",
        "./conf/../../outside/secret.txt",
    ];

    fn service() -> impl Strategy<Value = String> {
        let path = proptest::sample::select(PATHS);
        let key = proptest::sample::select(&["env_file", "volumes", "extends_file"][..]);
        (0u8..20, key, path, "[A-Z_]{1,6}", "[a-z${}:?-]{0,12}").prop_map(|(n, key, path, var, value)| {
            let body = match key {
                "env_file" => format!("    env_file: {path}\n"),
                "volumes" => format!("    volumes:\n      - {path}:/etc/x\n"),
                _ => format!("    extends:\n      file: {path}\n      service: s\n"),
            };
            format!("  s{n}:\n    image: nginx:1\n    environment:\n      {var}: \"{value}\"\n{body}")
        })
    }

    fn compose() -> impl Strategy<Value = String> {
        let include = proptest::option::of(proptest::sample::select(PATHS));
        (include, proptest::collection::vec(service(), 1..4)).prop_map(|(include, services)| {
            let include = include.map(|p| format!("include: [{p}]\n")).unwrap_or_default();
            format!("{include}services:\n{}", services.concat())
        })
    }

    fn dotenv() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            proptest::sample::select(PATHS).prop_map(|p| format!("P={p}\n")),
            "[A-Z]{1,3}=[a-z${}]{0,10}\n",
            Just("COMPOSE_PROFILES=a\n".to_string()),
        ];
        proptest::collection::vec(line, 0..5).prop_map(|l| l.concat())
    }

    /// One project beside an outside folder, with symlinks out and a FIFO, and a tree already
    /// written into `proj/k8s`.
    fn layout(compose: &str, env: &str) -> (tempfile::TempDir, PathBuf) {
        let (tmp, proj) = project(compose);
        fs::write(proj.join(".env"), env).unwrap();
        fs::create_dir_all(proj.join("conf")).unwrap();
        fs::write(proj.join("conf/a.conf"), "a = 1\n").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside/secret.txt"), proj.join("link")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), proj.join("linkdir")).unwrap();
        mkfifo(&proj.join("pipe"));
        (tmp, proj)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_compose_and_env(compose in compose(), env in dotenv()) {
            let (_tmp, proj) = layout(&compose, &env);
            let rules = rules::load(Preset::Generic, None).unwrap();
            let out = proj.join("k8s");
            let mut first = compose2dify::tree::Tree::default();
            first.add("kustomization.yaml", "resources: []\n");
            write::write(&first, &out).unwrap();
            let before = read_tree(&out);
            let opts = upstream::Options { compose: proj.join("compose.yaml"), ..Default::default() };
            let made = upstream::load(&opts).and_then(|p| {
                compose2dify::generate(&p, &rules, Settings { lang: Lang::En, ..Default::default() })
            });
            match made {
                Err(_) => prop_assert_eq!(read_tree(&out), before),
                Ok((_, tree)) => {
                    let all: String = tree.files.values().cloned().collect();
                    prop_assert!(!all.contains("TOPSECRET"), "a file outside the project reached the tree");
                    prop_assert!(!all.contains("PATH=/"), "the process environment reached the tree");
                    write::write(&tree, &out).unwrap();
                    let now = read_tree(&out);
                    for (rel, content) in &tree.files {
                        prop_assert_eq!(now.get(rel).map(Vec::as_slice), Some(content.as_bytes()));
                    }
                    prop_assert!(!now.keys().any(|k| k.starts_with(".compose2dify-stage-")));
                }
            }
        }
    }
}

/// An empty secret.yaml (left by an interrupted write of an older version) is made anew by
/// `secrets` and by setup-secrets.sh, not completed into a Secret with only `stringData:`.
#[test]
fn an_empty_secret_file_is_made_anew() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    let secret = proj.join("k8s/services/db/secret.yaml");
    fs::write(&secret, "").unwrap();
    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    let made = fs::read_to_string(&secret).unwrap();
    assert!(made.contains("kind: Secret") && made.contains("POSTGRES_PASSWORD: "), "{made}");
    fs::write(&secret, "").unwrap();
    let o = Command::new("sh").arg(proj.join("k8s/scripts/setup-secrets.sh")).arg("--new").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let made = fs::read_to_string(&secret).unwrap();
    assert!(made.contains("kind: Secret") && !made.contains("CHANGE_ME"), "{made}");
}

/// `carry-env` does not hang on a FIFO where an env file is.
#[test]
fn carry_env_refuses_a_fifo() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["old", "new"] {
        let d = tmp.path().join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("docker-compose.yaml"), "services: {}\n").unwrap();
        fs::create_dir_all(d.join("envs")).unwrap();
        fs::write(d.join("envs/a.env.example"), "A=default\n").unwrap();
    }
    mkfifo(&tmp.path().join("old/envs/a.env"));
    let args = ["carry-env", "old/docker-compose.yaml", "new/docker-compose.yaml"];
    let (code, stderr) = exec(tmp.path(), &args, None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Found by an attacker's review of the above
// ---------------------------------------------------------------------------------------------

/// carry-env reads and writes only plain files of the two release folders: a symlinked
/// `.env.example` or `envs/` folder in the (upstream, untrusted) new folder is refused.
#[test]
fn carry_env_follows_no_symlink_out_of_the_release_folders() {
    let compose = "services:\n  app:\n    image: nginx:1\n";
    for link in [".env.example", "envs"] {
        let (tmp, old) = project(compose);
        let new = tmp.path().join("new");
        fs::create_dir_all(&new).unwrap();
        fs::write(new.join("compose.yaml"), compose).unwrap();
        fs::write(old.join(".env.example"), "A=1\n").unwrap();
        fs::write(old.join(".env"), "A=mine\n").unwrap();
        fs::create_dir_all(old.join("envs/a")).unwrap();
        fs::write(old.join("envs/a/x.env.example"), "B=1\n").unwrap();
        fs::write(old.join("envs/a/x.env"), "B=mine\n").unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir_all(outside.join("a")).unwrap();
        fs::write(outside.join("a/x.env.example"), "B=1\n").unwrap();
        if link == "envs" {
            fs::write(new.join(".env.example"), "A=1\n").unwrap();
            std::os::unix::fs::symlink(&outside, new.join("envs")).unwrap();
        } else {
            std::os::unix::fs::symlink(outside.join("secret.txt"), new.join(".env.example")).unwrap();
        }
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_compose2dify"))
            .args(["carry-env"])
            .arg(old.join("compose.yaml"))
            .arg(new.join("compose.yaml"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{link}: {stderr}");
        assert!(stderr.contains("is a symbolic link"), "{link}: {stderr}");
        assert!(!new.join(".env").exists() || link == "envs", "{link}: .env written");
        assert!(!outside.join("a/x.env").exists(), "{link}: written through the link");
        assert!(!String::from_utf8_lossy(&o.stdout).contains("TOPSECRET"), "{link}");
    }
}

/// A forged manifest line naming an operator's file (an overlay, a `.yml`, a note, another case)
/// deletes nothing: only the shapes of what the tool writes are trusted.
#[test]
fn a_forged_manifest_deletes_no_file_of_the_operators() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n");
    run(&proj, &["compose.yaml"]).succeeded();
    let out = proj.join("k8s");
    let theirs = ["overlays/prod/kustomization.yaml", "services/app/secret.yml", "NOTES.md", "base/Secret.yaml"];
    for f in theirs {
        fs::create_dir_all(out.join(f).parent().unwrap()).unwrap();
        fs::write(out.join(f), "mine\n").unwrap();
    }
    let mut manifest = fs::read_to_string(out.join(".compose2dify-manifest")).unwrap();
    manifest.push_str(&theirs.join("\n"));
    manifest.push('\n');
    fs::write(out.join(".compose2dify-manifest"), manifest).unwrap();
    run(&proj, &["compose.yaml"]).succeeded();
    for f in theirs {
        assert_eq!(fs::read_to_string(out.join(f)).ok().as_deref(), Some("mine\n"), "{f} was deleted");
    }
}

/// Files named on the command line or found in a tree are read as the compose inputs are: a
/// `--mappings` of /proc or a FIFO, a symlinked manifest or secret template, a FIFO GENERATED.md.
#[test]
fn rules_files_and_tree_files_are_read_only_as_regular_files() {
    let (tmp, proj) = project("services:\n  app:\n    image: nginx:1\n");
    run(&proj, &["compose.yaml", "--mappings", "/proc/self/environ"]).refused(&["cannot read rules file"]);
    mkfifo(&tmp.path().join("rules.fifo"));
    let fifo = tmp.path().join("rules.fifo");
    run(&proj, &["compose.yaml", "--mappings", fifo.to_str().unwrap()]).refused(&["cannot read rules file"]);
    // A tree whose GENERATED.md is a FIFO: upgrade says so instead of hanging.
    run(&proj, &["compose.yaml"]).succeeded();
    let out = proj.join("k8s");
    fs::remove_file(out.join("GENERATED.md")).unwrap();
    mkfifo(&out.join("GENERATED.md"));
    let (code, stderr) = exec(&proj, &["upgrade", "k8s", "compose.yaml"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    // A secret template that is a link to /proc: secrets refuses it.
    fs::remove_file(out.join("GENERATED.md")).unwrap();
    // (A template the manifest does not list is not read at all: tests/suite/cli/secret_sources.rs.)
    let example = out.join("base/secret.yaml.example");
    fs::remove_file(&example).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", &example).unwrap();
    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("PATH="), "the environment was printed: {stderr}");
    assert!(!out.join("base/secret.yaml").exists());
}

/// A service name compose would refuse is refused (it is written into the guide and commands);
/// a mount path with shell syntax is quoted in the guide's commands.
#[test]
fn names_and_paths_cannot_write_commands_into_the_guide() {
    let (_tmp, proj) = project("services:\n  \"web` [fix](https://evil.example) `\":\n    image: nginx:1\n");
    run(&proj, &["compose.yaml"]).refused(&["is not one compose accepts"]);
    let (_tmp, proj) = project(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - type: volume\n        source: data\n        target: \"/data $(touch /tmp/pwned) #\"\nvolumes:\n  data: {}\n",
    );
    run(&proj, &["compose.yaml"]).succeeded();
    let readme = fs::read_to_string(proj.join("k8s/README.md")).unwrap();
    for line in readme.lines().filter(|l| l.contains("$(touch")) {
        assert!(
            line.contains("'/data $(touch /tmp/pwned) #'") || line.starts_with('|') || line.starts_with('-'),
            "unquoted: {line}"
        );
    }
}

/// A `--set` URL's password is recorded and shown as its placeholder: the value lives only in the
/// tree's git-ignored secret.yaml.
#[test]
fn a_set_url_password_reaches_no_committed_file() {
    let (_tmp, proj) = project(
        "services:\n  app:\n    image: myapp:1\n    environment:\n      DATABASE_URL: ${DB_URL:-postgres://u:x@db/app}\n  db:\n    image: postgres:16\n",
    );
    let r = run(&proj, &["compose.yaml", "--set", "DB_URL=postgres://u:SetUsedPw1@db/app"]);
    r.succeeded();
    let holders: Vec<&String> =
        r.tree.iter().filter(|(_, b)| String::from_utf8_lossy(b).contains("SetUsedPw1")).map(|(f, _)| f).collect();
    assert_eq!(holders, ["services/app/secret.yaml"], "only the git-ignored secret.yaml holds it");
    assert!(!r.stderr.contains("SetUsedPw1"), "{}", r.stderr);
}

/// The release report shows no credential a value or a healthcheck carries, and its Markdown
/// cannot be broken by a value.
#[test]
fn the_release_report_shows_no_credential_and_cannot_be_forged() {
    let (tmp, old) = project("services:\n  app:\n    image: nginx:1\n");
    let new = tmp.path().join("new");
    fs::create_dir_all(&new).unwrap();
    fs::write(
        new.join("compose.yaml"),
        "services:\n  app:\n    image: nginx:2\n    environment:\n      CONN: \"Server=db;Password=ConnPwDiff2;\"\n      HOOK: https://hooks.slack.com/services/T0/B0/HookTokDiff3\n      NOTE: \"a`b\\n## Forged\"\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-fsu\", \"admin:HcPwDiff5\", \"http://localhost/\"]\n",
    )
    .unwrap();
    let (code, stderr) = exec(
        tmp.path(),
        &[
            "diff",
            old.join("compose.yaml").to_str().unwrap(),
            new.join("compose.yaml").to_str().unwrap(),
            "--preset",
            "generic",
        ],
        None,
        None,
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_compose2dify"))
        .args(["diff", "--preset", "generic"])
        .arg(old.join("compose.yaml"))
        .arg(new.join("compose.yaml"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    for secret in ["ConnPwDiff2", "HookTokDiff3", "HcPwDiff5"] {
        assert!(!report.contains(secret), "{secret} in the report:\n{report}");
    }
    assert!(!report.lines().any(|l| l.starts_with("## Forged")), "{report}");
}

/// A healthcheck that writes a credential out, in any of curl's or mysql's spellings or in a
/// header, is not copied into the pod.
#[test]
fn healthcheck_credentials_in_any_spelling_stay_out_of_the_tree() {
    for (test, secret) in [
        (r#"["CMD", "curl", "-fsu", "admin:HcPwZZZ", "http://localhost/"]"#, "HcPwZZZ"),
        (r#"["CMD", "mysqladmin", "ping", "-uroot", "-pHcPwKKK"]"#, "HcPwKKK"),
        (r#"["CMD", "curl", "-H", "X-Api-Key: HcKeyJJJ", "http://localhost/"]"#, "HcKeyJJJ"),
    ] {
        let (_tmp, proj) = project(&format!(
            "services:\n  app:\n    image: nginx:1\n    ports: [\"80:80\"]\n    healthcheck:\n      test: {test}\n"
        ));
        let r = run(&proj, &["compose.yaml"]);
        r.succeeded();
        assert!(!r.text().contains(secret), "{secret} copied into the tree");
        assert!(r.stderr.contains("carries a password"), "{}", r.stderr);
    }
}

/// `upgrade` replays only generation flags from the record: a forged line that names a file to
/// merge, an output folder or a flag that says how to run is refused.
#[test]
fn upgrade_replays_only_generation_flags() {
    let (_tmp, proj) = project("services:\n  app:\n    image: nginx:1\n");
    run(&proj, &["compose.yaml"]).succeeded();
    let generated = proj.join("k8s/GENERATED.md");
    let text = fs::read_to_string(&generated).unwrap();
    for forged in ["../outside/inc.yaml", "--force", "--allow-downgrade", "-o /tmp/elsewhere", "--set A=1 --force"] {
        let fence_start = text.find("```choices\n").expect("the choices fence") + "```choices\n".len();
        let forged_text = format!("{}{forged}\n{}", &text[..fence_start], &text[fence_start..]);
        fs::write(&generated, forged_text).unwrap();
        let (code, stderr) = exec(&proj, &["upgrade", "k8s", "compose.yaml"], None, None, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{forged}: {stderr}");
        assert!(stderr.contains("is not a recorded choice"), "{forged}: {stderr}");
    }
}

/// An override file beside the compose file that is a link out of the project is not merged, and
/// the run says so (`docker compose` would merge it).
#[test]
fn an_override_linked_out_of_the_project_is_said() {
    let (tmp, proj) = project("services:\n  app:\n    image: nginx:1\n");
    fs::write(tmp.path().join("outside/override.yaml"), "services:\n  app:\n    image: nginx:2\n").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside/override.yaml"), proj.join("compose.override.yaml")).unwrap();
    let r = run(&proj, &["compose.yaml"]);
    r.succeeded();
    assert!(r.stderr.contains("compose.override.yaml is not read"), "{}", r.stderr);
    assert!(!r.text().contains("nginx:2"));
}

/// One anchor of a 20,000-item list and 20,000 aliases to it (289 KB): few alias jumps, 400 million
/// nodes once expanded. `tail` follows it in the same document.
fn wide_alias_bomb(tail: &str) -> String {
    let items = vec!["1"; 20_000].join(",");
    let aliases: String = (0..20_000).map(|i| format!("  k{i}: *a\n")).collect();
    format!("x-a: &a [{items}]\nx-b:\n{aliases}{tail}")
}

/// As a compose file it is refused while it is read, naming the file, under the memory limit and
/// in seconds (it allocated gigabytes and aborted).
#[test]
fn a_wide_alias_bomb_compose_file_is_refused() {
    let (_tmp, proj) = project(&wide_alias_bomb("services:\n  web:\n    image: nginx:1\n"));
    run(&proj, &["compose.yaml"]).refused(&["compose.yaml", "alias"]);
    let (code, stderr) =
        exec(&proj, &["compose.yaml", "-o", "-", "--preset", "generic"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("compose.yaml") && stderr.contains("alias"), "{stderr}");
}

/// A tree file that expands past the budget is compared with nothing: the next run over the tree
/// finishes and writes the file anew (it hung every run over that tree).
#[test]
fn a_wide_alias_bomb_in_the_tree_does_not_hang_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let compose = crate::common::compose("1.14.1");
    let args = [compose.to_str().unwrap(), "-o", "k8s"];
    let (code, stderr) = exec(tmp.path(), &args, None, None, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stderr}");
    let statefulset = tmp.path().join("k8s/services/postgres/statefulset.yaml");
    let written = fs::read_to_string(&statefulset).unwrap();
    fs::write(&statefulset, wide_alias_bomb("")).unwrap();
    let (code, stderr) = exec(tmp.path(), &args, None, None, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(fs::read_to_string(&statefulset).unwrap(), written, "the file is written anew");
}

/// A secret.yaml that is an alias bomb does not hang `secrets` (it reads the file by lines and
/// completes it).
#[test]
fn a_wide_alias_bomb_secret_file_does_not_hang_secrets() {
    let (_tmp, proj) = project(WITH_SECRET);
    run(&proj, &["compose.yaml"]).succeeded();
    let secret = proj.join("k8s/services/db/secret.yaml");
    fs::write(&secret, wide_alias_bomb("")).unwrap();
    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read_to_string(&secret).unwrap();
    assert!(after.starts_with("x-a: &a [1,") && after.contains("POSTGRES_PASSWORD: "), "{stderr}");
}

/// A secret.sops.yaml that is an alias bomb is refused by name before any key is tried, and
/// nothing is written.
#[test]
fn a_wide_alias_bomb_sops_file_is_refused_by_name() {
    use age::secrecy::ExposeSecret;
    let (_tmp, proj) = project(WITH_SECRET);
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    fs::write(proj.join("keys.txt"), format!("{}\n", id.to_string().expose_secret())).unwrap();
    run(&proj, &["compose.yaml", "--secrets", "sops", "--age", &recipient]).succeeded();
    let (code, stderr) = exec(&proj, &["secrets", "k8s", "--new"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    let db = proj.join("k8s/services/db/secret.sops.yaml");
    fs::write(&db, wide_alias_bomb("")).unwrap();
    let before = read_tree(&proj.join("k8s"));
    let (code, stderr) =
        exec(&proj, &["secrets", "k8s", "--age-identity", "keys.txt"], None, None, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("services/db/secret.sops.yaml") && stderr.contains("alias"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(read_tree(&proj.join("k8s")), before, "a refused run wrote");
}
