//! Compose fidelity (issue 14): what `docker compose up` runs is what the cluster runs. Each test
//! writes a small compose file, runs the binary with `--preset generic` as a user would, makes the
//! secrets with the tree's own script and reads the objects `kubectl kustomize` renders.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

/// A compose folder with these files (name → text).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

struct Out {
    _dir: tempfile::TempDir,
    docs: Vec<Value>,
    stderr: String,
}

/// Translate `compose.yaml` of `dir` (generic preset), run setup-secrets.sh, render.
fn translate_in(dir: &Path, extra: &[&str]) -> Out {
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("k8s");
    let o = bin()
        .arg(dir.join("compose.yaml"))
        .arg("-o")
        .arg(&tree)
        .args(["--preset", "generic"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    setup_secrets(&tree);
    let docs = render(&tree);
    Out { _dir: out, docs, stderr }
}

fn translate(compose: &str, extra: &[&str]) -> Out {
    let dir = folder(&[("compose.yaml", compose)]);
    translate_in(dir.path(), extra)
}

/// Exit 2 and stderr, with nothing written.
fn refuse(dir: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("k8s");
    let o = bin()
        .arg(dir.join("compose.yaml"))
        .arg("-o")
        .arg(&tree)
        .args(["--preset", "generic"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!tree.exists(), "nothing written");
    stderr
}

/// A container's environment as the pod sees it: its ConfigMaps' and Secrets' values (after
/// setup-secrets.sh), then its own `env`.
fn environment(docs: &[Value], kind: &str, workload: &str) -> BTreeMap<String, String> {
    let pod = &get(docs, kind, workload)["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let mut env = BTreeMap::new();
    for from in c["envFrom"].as_sequence().into_iter().flatten() {
        let (k, name) = if let Some(n) = from["configMapRef"]["name"].as_str() {
            ("ConfigMap", n)
        } else {
            ("Secret", from["secretRef"]["name"].as_str().unwrap())
        };
        let obj = get(docs, k, name);
        for field in ["data", "stringData"] {
            for (key, v) in obj[field].as_mapping().into_iter().flatten() {
                let v = v.as_str().unwrap_or_default().to_string();
                let v = if k == "Secret" && field == "data" { decode(&v) } else { v };
                env.insert(key.as_str().unwrap().to_string(), v);
            }
        }
    }
    for e in c["env"].as_sequence().into_iter().flatten() {
        if let Some(v) = e["value"].as_str() {
            env.insert(e["name"].as_str().unwrap().to_string(), v.to_string());
        }
    }
    env
}

/// Whether a setting lives in a Secret (and not a ConfigMap) of the workload.
fn in_secret(docs: &[Value], workload: &str, key: &str) -> bool {
    docs.iter().filter(|d| d["kind"] == "Secret").any(|s| {
        s["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(workload))
            && (s["stringData"][key].is_string() || s["data"][key].is_string())
    })
}

fn decode(b64: &str) -> String {
    let o = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    o.stdin.as_ref().unwrap().write_all(b64.as_bytes()).unwrap();
    String::from_utf8(o.wait_with_output().unwrap().stdout).unwrap()
}

// Item 1: secrets that must match share one value; names that are not secret stay plain; flags
// are never secrets.
#[test]
fn equal_secrets_of_services_that_reach_one_another_share_one_value() {
    let out = translate(
        r#"
services:
  wordpress:
    image: wordpress:6.6
    environment:
      WORDPRESS_DB_HOST: db:3306
      WORDPRESS_DB_USER: wordpress
      WORDPRESS_DB_PASSWORD: wordpress
      WORDPRESS_DB_NAME: wordpress
  db:
    image: mariadb:11
    environment:
      MYSQL_ROOT_PASSWORD: somewordpress
      MYSQL_DATABASE: wordpress
      MYSQL_USER: wordpress
      MYSQL_PASSWORD: wordpress
      MARIADB_RANDOM_ROOT_PASSWORD: "1"
      ALLOW_EMPTY_PASSWORD: "yes"
  other:
    image: nginx:1.27
    environment:
      ADMIN_PASSWORD: wordpress
"#,
        &[],
    );
    let wp = environment(&out.docs, "Deployment", "wordpress");
    let db = environment(&out.docs, "Deployment", "db");
    let other = environment(&out.docs, "Deployment", "other");
    assert_eq!(wp["WORDPRESS_DB_PASSWORD"], db["MYSQL_PASSWORD"], "the app logs in with the database's password");
    assert!(!wp["WORDPRESS_DB_PASSWORD"].contains("CHANGE_ME") && wp["WORDPRESS_DB_PASSWORD"] != "wordpress");
    assert_ne!(db["MYSQL_ROOT_PASSWORD"], db["MYSQL_PASSWORD"], "different values stay different");
    assert_ne!(other["ADMIN_PASSWORD"], db["MYSQL_PASSWORD"], "a service that reaches neither keeps its own");
    for (env, key) in
        [(&wp, "WORDPRESS_DB_USER"), (&wp, "WORDPRESS_DB_NAME"), (&db, "MYSQL_USER"), (&db, "MYSQL_DATABASE")]
    {
        assert_eq!(env[key], "wordpress", "{key}: a name that is not secret keeps its value");
    }
    assert!(!in_secret(&out.docs, "db", "MYSQL_USER"));
    assert_eq!(db["ALLOW_EMPTY_PASSWORD"], "yes", "a flag is never a secret");
    assert_eq!(db["MARIADB_RANDOM_ROOT_PASSWORD"], "1");
    assert!(!in_secret(&out.docs, "db", "ALLOW_EMPTY_PASSWORD"));
}

fn claims_of(docs: &[Value], workload: &str) -> BTreeMap<String, String> {
    // mount path → claim name
    let pod = &get(docs, "Deployment", workload)["spec"]["template"]["spec"];
    let volumes: BTreeMap<&str, &str> = pod["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["name"].as_str()?, v["persistentVolumeClaim"]["claimName"].as_str()?)))
        .collect();
    pod["containers"][0]["volumeMounts"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["mountPath"].as_str()?.to_string(), volumes.get(m["name"].as_str()?)?.to_string())))
        .collect()
}

// Item 3: an anonymous volume keeps its data across restarts, as Docker's does.
#[test]
fn anonymous_volumes_become_claims_named_after_service_and_path() {
    let out = translate(
        "services:\n  db:\n    image: mysql:8.0\n    volumes:\n      - /var/lib/mysql\n      - type: volume\n        target: /backups\n      - type: tmpfs\n        target: /run/mysqld\n",
        &[],
    );
    let claims = claims_of(&out.docs, "db");
    assert_eq!(claims.get("/var/lib/mysql").map(String::as_str), Some("db-var-lib-mysql"), "{claims:?}");
    assert_eq!(claims.get("/backups").map(String::as_str), Some("db-backups"));
    assert!(find(&out.docs, "PersistentVolumeClaim", "db-var-lib-mysql").is_some());
    assert!(!claims.contains_key("/run/mysqld"), "tmpfs stays in memory");
    // A claim-holding Deployment never runs two pods on one ReadWriteOnce volume during a rollout.
    assert_eq!(get(&out.docs, "Deployment", "db")["spec"]["strategy"]["type"], "Recreate");
}

// Names that do not move: reordering a service's volumes renames no claim.
#[test]
fn reordering_volumes_renames_no_claim() {
    let a = "services:\n  app:\n    image: nginx:1.27\n    volumes:\n      - ./uploads:/srv/uploads\n      - /var/cache/app\n      - logs:/var/log/app\nvolumes:\n  logs: {}\n";
    let b = "services:\n  app:\n    image: nginx:1.27\n    volumes:\n      - logs:/var/log/app\n      - /var/cache/app\n      - ./uploads:/srv/uploads\nvolumes:\n  logs: {}\n";
    let (ca, cb) = (claims_of(&translate(a, &[]).docs, "app"), claims_of(&translate(b, &[]).docs, "app"));
    assert_eq!(ca.len(), 3, "{ca:?}");
    assert_eq!(ca, cb);
    assert_eq!(ca["/srv/uploads"], "app-srv-uploads");
    assert_eq!(ca["/var/log/app"], "logs");
}

// Item 4: `- KEY` and `KEY:` take the value from the env source, as compose does.
#[test]
fn key_only_environment_entries_take_the_env_source_value() {
    let dir = folder(&[
        (
            "compose.yaml",
            "services:\n  app:\n    image: nginx:1.27\n    environment:\n      - SESSION_SECRET\n      - LOG_LEVEL\n      - UNSET_ONE\n  other:\n    image: nginx:1.27\n    environment:\n      LOG_LEVEL:\n      REGION:\n",
        ),
        (".env", "SESSION_SECRET=s3cr3t-from-dotenv\nLOG_LEVEL=debug\n"),
    ]);
    let out = translate_in(dir.path(), &["--set", "REGION=eu-west-1"]);
    let app = environment(&out.docs, "Deployment", "app");
    let other = environment(&out.docs, "Deployment", "other");
    assert_eq!(app["LOG_LEVEL"], "debug");
    assert_eq!(other["LOG_LEVEL"], "debug");
    assert_eq!(other["REGION"], "eu-west-1", "--set is part of the env source");
    assert!(in_secret(&out.docs, "app", "SESSION_SECRET"), "a secret name still goes to a Secret");
    assert!(!app.contains_key("UNSET_ONE"), "unset: left out, as compose does");
    assert!(out.stderr.contains("`UNSET_ONE` without a value"), "{}", out.stderr);
    assert!(out.stderr.contains("service `app`"), "{}", out.stderr);
}

// Item 8: Windows host paths keep their drive.
#[test]
fn windows_paths_are_host_paths_not_a_claim_named_after_the_drive() {
    let out = translate(
        "services:\n  app:\n    image: nginx:1.27\n    volumes:\n      - C:\\data:/data\n      - 'd:/logs:/logs:ro'\n      - C:\\Users\\data:D:\\config:rw\n",
        &[],
    );
    // A Windows container path keeps its drive too (kompose's volume-mounts/windows case).
    assert!(claims_of(&out.docs, "app").contains_key("D:\\config"), "{:?}", claims_of(&out.docs, "app"));
    let claims = claims_of(&out.docs, "app");
    assert!(!claims.values().any(|c| c == "c" || c == "d"), "{claims:?}");
    assert!(find(&out.docs, "PersistentVolumeClaim", "c").is_none());
    assert_eq!(claims.get("/data").map(String::as_str), Some("app-data"), "{claims:?}");
    // Read-only from the Docker host: nothing to mount in the cluster, said by name.
    assert!(!claims.contains_key("/logs"), "{claims:?}");
    assert!(out.stderr.contains("mounts `d:/logs` of the Docker host read-only"), "{}", out.stderr);
    let dir = folder(&[("compose.yaml", "services:\n  app:\n    image: nginx:1.27\n    volumes:\n      - C:\\data\n")]);
    let stderr = refuse(dir.path(), &[]);
    assert!(stderr.contains("compose.yaml:5:"), "{stderr}");
}

// Item 2: what compose sets on a container is set on the pod.
#[test]
fn container_keys_reach_the_pod() {
    let out = translate(
        r#"
services:
  app:
    image: nginx:1.27
    user: "1000:1001"
    working_dir: /srv/app
    read_only: true
    cap_add: [NET_BIND_SERVICE]
    cap_drop: [NET_RAW]
    stdin_open: true
    tty: true
    group_add: ["2000", audio]
    hostname: app-host
  dind:
    image: docker:27-dind
    privileged: true
    user: root
"#,
        &[],
    );
    let pod = &get(&out.docs, "Deployment", "app")["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let s = &c["securityContext"];
    assert_eq!(s["runAsUser"].as_i64(), Some(1000));
    assert_eq!(s["runAsGroup"].as_i64(), Some(1001));
    assert_eq!(s["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(s["readOnlyRootFilesystem"].as_bool(), Some(true));
    let added: Vec<&str> = s["capabilities"]["add"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(added.contains(&"NET_BIND_SERVICE") && !added.contains(&"NET_RAW"), "{added:?}");
    assert_eq!(s["capabilities"]["drop"][0], "ALL", "the rules' drop of ALL stays: NET_RAW is in it");
    assert_eq!(c["workingDir"], "/srv/app");
    assert_eq!(c["stdin"].as_bool(), Some(true));
    assert_eq!(c["tty"].as_bool(), Some(true));
    assert_eq!(pod["hostname"], "app-host");
    assert_eq!(pod["securityContext"]["supplementalGroups"][0].as_i64(), Some(2000));
    assert!(out.stderr.contains("group `audio` of `group_add` is a name"), "{}", out.stderr);

    let d = &get(&out.docs, "Deployment", "dind")["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(d["privileged"].as_bool(), Some(true), "the rules never take away what compose asks for");
    assert!(d["allowPrivilegeEscalation"].is_null(), "the API server refuses privileged with it false");
    assert!(out.stderr.contains("service `dind`: runs privileged"), "{}", out.stderr);
    assert_eq!(d["runAsUser"].as_i64(), Some(0), "`user: root` is uid 0");
    assert!(d["runAsNonRoot"].is_null());
}

// Item 5: one-shot services are Jobs, global services DaemonSets, placement and update order kept.
#[test]
fn restart_mode_placement_and_update_order_choose_the_object() {
    let compose = r#"
services:
  seed:
    image: example/seed:1.0
    restart: "no"
  retry:
    image: example/seed:1.0
    deploy:
      restart_policy:
        condition: none
        max_attempts: 2
  agent:
    image: example/agent:2.1
    deploy:
      mode: global
      update_config:
        parallelism: 2
  web:
    image: nginx:1.27
    restart: on-failure
    ports: ["8080:80"]
    deploy:
      replicas: 3
      placement:
        constraints:
          - node.labels.disk == ssd
          - node.hostname != old-box
          - node.platform.arch == x86_64
          - node.role == manager
          - engine.labels.x == y
        preferences:
          - spread: node.labels.zone
      update_config:
        parallelism: 1
        order: start-first
        delay: 10s
  server:
    image: nginx:1.27
    restart: "no"
    expose: ["80"]
"#;
    let dir = folder(&[("compose.yaml", compose)]);
    let out = translate_in(dir.path(), &[]);
    let jobs: Vec<&Value> = out.docs.iter().filter(|d| d["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let seed = jobs.iter().find(|j| j["metadata"]["name"].as_str().unwrap().starts_with("seed-")).unwrap();
    let pod = &seed["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert!(pod["containers"][0]["livenessProbe"].is_null(), "a task is not probed");
    assert_eq!(seed["spec"]["backoffLimit"].as_i64(), Some(6));
    let retry = jobs.iter().find(|j| j["metadata"]["name"].as_str().unwrap().starts_with("retry-")).unwrap();
    assert_eq!(retry["spec"]["backoffLimit"].as_i64(), Some(2));
    assert!(find(&out.docs, "Deployment", "seed").is_none());

    let agent = get(&out.docs, "DaemonSet", "agent");
    assert_eq!(agent["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"].as_i64(), Some(2));

    let web = get(&out.docs, "Deployment", "web");
    assert_eq!(web["spec"]["replicas"].as_i64(), Some(3), "on-failure keeps a server a Deployment");
    assert_eq!(web["spec"]["strategy"]["rollingUpdate"]["maxSurge"].as_i64(), Some(1));
    assert_eq!(web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as_i64(), Some(0));
    let pod = &web["spec"]["template"]["spec"];
    let exprs = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        [0]["matchExpressions"];
    let exprs: Vec<String> = exprs
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            let values: Vec<&str> = e["values"].as_sequence().into_iter().flatten().filter_map(Value::as_str).collect();
            format!("{} {} {}", e["key"].as_str().unwrap(), e["operator"].as_str().unwrap(), values.join(","))
        })
        .collect();
    assert_eq!(
        exprs,
        [
            "disk In ssd",
            "kubernetes.io/hostname NotIn old-box",
            "kubernetes.io/arch In amd64",
            "node-role.kubernetes.io/control-plane Exists "
        ]
    );
    assert!(out.stderr.contains("`engine.labels.x == y` has no node label"), "{}", out.stderr);
    let keys: Vec<&str> = pod["topologySpreadConstraints"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t["topologyKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["kubernetes.io/hostname", "zone"]);
    assert!(
        !out.stderr.contains("deploy.update_config.delay"),
        "ignored with a reason in the rules, not warned: {}",
        out.stderr
    );

    assert!(find(&out.docs, "Deployment", "server").is_some(), "a server with restart: no stays up");
    assert!(out.stderr.contains("service `server` has `restart: \"no\"` but serves ports"), "{}", out.stderr);

    // A changed task is a new Job (a Job's pod cannot change); an unchanged one keeps its name.
    let again = translate_in(dir.path(), &[]);
    let name = |docs: &[Value]| -> String {
        docs.iter()
            .find(|d| d["kind"] == "Job" && d["metadata"]["name"].as_str().unwrap().starts_with("seed-"))
            .unwrap()["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(name(&out.docs), name(&again.docs));
    let changed = translate(&compose.replace("example/seed:1.0\n    restart", "example/seed:1.1\n    restart"), &[]);
    assert_ne!(name(&out.docs), name(&changed.docs));
}

// Names and errors: a host port is validated; the error points at the value in its own service
// (not at the same text in another one); an empty port from an unset variable names the variable.
#[test]
fn port_errors_point_at_their_own_service_and_name_the_variable() {
    let dir = folder(&[(
        "compose.yaml",
        "services:\n  a:\n    image: nginx:1.27\n    environment:\n      NOTE: \"99999:80\"\n  b:\n    image: nginx:1.27\n    ports:\n      - \"8080:80\"\n      - \"99999:80\"\n",
    )]);
    let stderr = refuse(dir.path(), &[]);
    assert!(stderr.contains("invalid port `99999`"), "{stderr}");
    assert!(stderr.contains("compose.yaml:10:10"), "the place of b's port, not a's text: {stderr}");

    let dir = folder(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"8080:${APP_PORT}\"\n",
    )]);
    let stderr = refuse(dir.path(), &[]);
    assert!(stderr.contains("`APP_PORT`"), "{stderr}");
    assert!(stderr.contains("compose.yaml:5:"), "{stderr}");
    assert!(stderr.contains("--set"), "{stderr}");
}

// Names and errors: a service defined by two included files names the first file, and points at
// the second definition.
#[test]
fn an_include_conflict_names_the_file_of_the_first_definition() {
    let dir = folder(&[
        (
            "compose.yaml",
            "include:\n  - one/compose.yaml\n  - two/compose.yaml\nservices:\n  main:\n    image: nginx:1.27\n",
        ),
        ("one/compose.yaml", "services:\n  cache:\n    image: redis:7\n"),
        ("two/compose.yaml", "services:\n  other:\n    image: nginx:1.27\n  cache:\n    image: valkey/valkey:8\n"),
    ]);
    let stderr = refuse(dir.path(), &[]);
    assert!(stderr.contains("service `cache` is also defined by"), "{stderr}");
    assert!(stderr.contains("one/compose.yaml"), "the first definition is in one/: {stderr}");
    assert!(stderr.contains("two/compose.yaml:4:3"), "the second, where it is: {stderr}");
}

/// Run the binary in `dir` (relative file names as a user types them) with these arguments, the
/// generic preset and `-o k8s`: exit code, stderr and the tree folder.
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, std::path::PathBuf) {
    let o = bin().current_dir(dir).args(args).args(["-o", "k8s", "--preset", "generic"]).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string(), dir.join("k8s"))
}

fn image_of(docs: &[Value], workload: &str) -> String {
    get(docs, "Deployment", workload)["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

const BASE: &str = "services:\n  app:\n    image: nginx:1.26\n    environment:\n      A: \"1\"\n      B: \"2\"\n    ports:\n      - \"8080:80\"\n    volumes:\n      - ./conf:/etc/app\n";

// Item 6: with one compose file, the override file beside it is merged as `docker compose` merges
// it in that folder (said on stderr on every run, recorded in GENERATED.md); --no-override leaves it
// out.
#[test]
fn the_override_file_beside_a_single_compose_file_is_merged_and_said() {
    let dir = folder(&[
        ("compose.yaml", BASE),
        ("conf/app.conf", "a = 1\n"),
        (
            "compose.override.yaml",
            "services:\n  app:\n    image: nginx:1.27\n    environment:\n      B: \"3\"\n      C: \"4\"\n    ports:\n      - \"8443:443\"\n  extra:\n    image: redis:7\n",
        ),
    ]);
    let (code, stderr, tree) = run_in(dir.path(), &["compose.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("compose.override.yaml is merged over compose.yaml, as `docker compose` does"), "{stderr}");
    let generated = std::fs::read_to_string(tree.join("GENERATED.md")).unwrap();
    assert!(
        generated.contains("- Compose files: `compose.yaml`, `compose.override.yaml` (the last is the override file"),
        "{generated}"
    );
    assert!(generated.contains("`compose.override.yaml` "), "its hash is an input: {generated}");
    setup_secrets(&tree);
    let docs = render(&tree);
    assert_eq!(image_of(&docs, "app"), "nginx:1.27");
    let env = environment(&docs, "Deployment", "app");
    assert_eq!((env["A"].as_str(), env["B"].as_str(), env["C"].as_str()), ("1", "3", "4"));
    assert_eq!(container_ports(get(&docs, "Deployment", "app")), vec![80, 443], "ports add up");
    assert!(find(&docs, "Deployment", "extra").is_some(), "a service only the override defines");

    // A second run says it again (other notes are said once).
    let (code, again, _) = run_in(dir.path(), &["compose.yaml"]);
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("compose.override.yaml is merged over"), "{again}");

    std::fs::remove_dir_all(&tree).unwrap();
    let (code, stderr, tree) = run_in(dir.path(), &["compose.yaml", "--no-override"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("merged over"), "{stderr}");
    let generated = std::fs::read_to_string(tree.join("GENERATED.md")).unwrap();
    assert!(!generated.contains("Compose files"), "{generated}");
    assert!(generated.contains("--no-override"), "a recorded choice, so `upgrade` keeps it: {generated}");
    setup_secrets(&tree);
    let docs = render(&tree);
    assert_eq!(image_of(&docs, "app"), "nginx:1.26");
    assert!(find(&docs, "Deployment", "extra").is_none());
}

// Item 6: several files merge in order with compose's rules — mappings key by key, ports and
// volumes add up (a volume on the same container path replaced), command replaced, `!reset`
// removes, `!override` replaces whole — whether named as arguments or with -f; paths in every file
// are read from the first one's folder.
#[test]
fn several_compose_files_merge_in_order_with_reset_and_override() {
    let dir = folder(&[
        ("compose.yaml", BASE),
        ("conf/app.conf", "a = 1\n"),
        ("conf2/app.conf", "a = 2\n"),
        (
            "ops/prod.yaml",
            "services:\n  app:\n    command: [nginx, -g, daemon off;]\n    environment: !override\n      ONLY: \"yes\"\n    volumes:\n      - ./conf2:/etc/app\n  cache:\n    image: redis:7\n    ports:\n      - \"6379:6379\"\n",
        ),
        ("ops/noports.yaml", "services:\n  cache:\n    ports: !reset []\n    command: [redis-server, --save, \"\"]\n"),
        // docker compose itself would merge this beside compose.yaml; naming files turns that off.
        ("compose.override.yaml", "services:\n  app:\n    image: busybox:1\n"),
    ]);
    let (code, stderr, tree) = run_in(dir.path(), &["compose.yaml", "ops/prod.yaml", "ops/noports.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    let generated = std::fs::read_to_string(tree.join("GENERATED.md")).unwrap();
    assert!(
        generated
            .contains("- Compose files: `compose.yaml`, `ops/prod.yaml`, `ops/noports.yaml`, merged in this order"),
        "{generated}"
    );
    setup_secrets(&tree);
    let docs = render(&tree);
    assert_eq!(image_of(&docs, "app"), "nginx:1.26", "the override file is not merged when files are named");
    let env = environment(&docs, "Deployment", "app");
    assert_eq!(env.get("ONLY").map(String::as_str), Some("yes"));
    assert!(!env.contains_key("A") && !env.contains_key("B"), "!override replaced the whole mapping: {env:?}");
    let app = &get(&docs, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(app["args"][0].as_str().or(app["command"][0].as_str()), Some("nginx"));
    // The config folder mounted at /etc/app is the second file's (same target replaced), read from
    // the first file's folder.
    let configs: Vec<String> = docs
        .iter()
        .filter(|d| d["kind"] == "ConfigMap")
        .filter_map(|d| d["data"]["app.conf"].as_str().map(str::to_string))
        .collect();
    assert_eq!(configs, vec!["a = 2\n".to_string()], "{configs:?}");
    assert!(container_ports(get(&docs, "Deployment", "cache")).is_empty(), "!reset [] removed the ports");
    let cache = &get(&docs, "Deployment", "cache")["spec"]["template"]["spec"]["containers"][0];
    let words: Vec<&str> = cache["args"]
        .as_sequence()
        .or(cache["command"].as_sequence())
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(words.contains(&"--save"), "{words:?}");

    // The same files with -f make the same tree.
    let named = read_tree(&tree);
    std::fs::remove_dir_all(&tree).unwrap();
    let (code, stderr, tree) =
        run_in(dir.path(), &["-f", "compose.yaml", "-f", "ops/prod.yaml", "--file", "ops/noports.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    let strip_secrets = |t: std::collections::BTreeMap<String, Vec<u8>>| -> Vec<(String, Vec<u8>)> {
        t.into_iter().filter(|(k, _)| !k.ends_with("secret.yaml")).collect()
    };
    assert_eq!(strip_secrets(named), strip_secrets(read_tree(&tree)));
}

// Item 6, errors: a bad value set by a later file points into that file; `-` merges with nothing;
// -f and arguments are not mixed; a missing later file is named.
#[test]
fn merged_files_report_problems_in_the_file_that_set_them() {
    let dir = folder(&[
        ("compose.yaml", BASE),
        ("conf/app.conf", "a = 1\n"),
        ("prod.yaml", "services:\n  app:\n    ports:\n      - \"99999:80\"\n"),
    ]);
    let (code, stderr, tree) = run_in(dir.path(), &["compose.yaml", "prod.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("prod.yaml:4:10"), "the value's place in the file that set it: {stderr}");
    assert!(!tree.exists(), "nothing written");

    // A warning too: a key the tool does not translate is said where the later file writes it.
    std::fs::write(dir.path().join("extra.yaml"), "services:\n  app:\n    stop_signal: SIGINT\n").unwrap();
    let (code, stderr, _) = run_in(dir.path(), &["compose.yaml", "extra.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("extra.yaml:3:5: service `app`: key `stop_signal` is not translated"), "{stderr}");

    let (code, stderr, _) = run_in(dir.path(), &["compose.yaml", "missing.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing.yaml"), "{stderr}");

    let (code, stderr, _) = run_in(dir.path(), &["-", "prod.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("standard input"), "{stderr}");

    let (code, stderr, _) = run_in(dir.path(), &["compose.yaml", "-f", "prod.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");

    let (code, stderr, _) = run_in(dir.path(), &["compose.yaml", "conf"]);
    assert_eq!(code, Some(2), "a folder is not a compose file: {stderr}");
}

// kompose's configmap-file-configs case: a path of the Docker host mounted read-only is not an
// empty volume hiding the image's own files (the container keeps its /tmp); written to, it is a
// claim, and both are said by name.
#[test]
fn docker_host_paths_are_said_and_a_read_only_one_hides_nothing() {
    let out = translate(
        "services:\n  app:\n    image: busybox:1\n    volumes:\n      - /tmp:/tmp:ro\n      - /srv/data:/data\n",
        &[],
    );
    let claims = claims_of(&out.docs, "app");
    assert!(!claims.contains_key("/tmp"), "{claims:?}");
    assert!(claims.contains_key("/data"), "{claims:?}");
    let mounts = &get(&out.docs, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    assert!(!mounts.as_sequence().into_iter().flatten().any(|m| m["mountPath"] == "/tmp"), "{mounts:?}");
    assert!(out.stderr.contains("mounts `/tmp` of the Docker host read-only at /tmp"), "{}", out.stderr);
    assert!(out.stderr.contains("mounts `/srv/data` of the Docker host at /data"), "{}", out.stderr);
}

// kompose's configmap-volume case: a bind-mounted file that is not text (an archive) reaches the
// container byte for byte, from the ConfigMap's binaryData, instead of an empty volume.
#[test]
fn a_bind_mounted_file_that_is_not_text_arrives_byte_for_byte() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let dir = folder(&[(
        "compose.yaml",
        "services:\n  app:\n    image: busybox:1\n    volumes:\n      - ./configs.tar:/data/configs.tar\n",
    )]);
    std::fs::write(dir.path().join("configs.tar"), &bytes).unwrap();
    let out = translate_in(dir.path(), &[]);
    assert!(claims_of(&out.docs, "app").is_empty(), "no claim: {:?}", claims_of(&out.docs, "app"));
    let cm = get(&out.docs, "ConfigMap", "app-files");
    let b64 = cm["binaryData"]["configs.tar"].as_str().expect("binaryData");
    let mut child = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b64.as_bytes()).unwrap();
    assert_eq!(child.wait_with_output().unwrap().stdout, bytes);
    let mounts = &get(&out.docs, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    let m = mounts.as_sequence().unwrap().iter().find(|m| m["mountPath"] == "/data/configs.tar").expect("mounted");
    assert_eq!(m["subPath"], Value::from("configs.tar"));
}

// kompose's healthcheck case: a healthcheck with timings and no test (the image's own check in
// compose) puts those timings on the probe the tree derives from the port.
#[test]
fn healthcheck_timings_without_a_test_reach_the_derived_probe() {
    let out = translate(
        "services:\n  db:\n    image: mysql:8\n    ports:\n      - \"3306\"\n    healthcheck:\n      interval: 11s\n      timeout: 2s\n      retries: 6\n",
        &[],
    );
    let c = &get(&out.docs, "Deployment", "db")["spec"]["template"]["spec"]["containers"][0];
    for probe in ["readinessProbe", "livenessProbe"] {
        let p = &c[probe];
        assert_eq!(p["tcpSocket"]["port"], Value::from(3306), "{probe}: {p:?}");
        assert_eq!(p["periodSeconds"], Value::from(11), "{probe}: {p:?}");
        assert_eq!(p["timeoutSeconds"], Value::from(2), "{probe}: {p:?}");
        assert_eq!(p["failureThreshold"], Value::from(6), "{probe}: {p:?}");
    }
}

// kompose's network-mode-service case: `network_mode: service:client` shares client's network, so
// server is a second container of client's pod (localhost is shared, as in compose); client's
// Service carries server's port, server keeps its own settings.
#[test]
fn a_service_sharing_another_ones_network_is_a_container_of_its_pod() {
    let out = translate(
        "services:\n  client:\n    image: busybox:1\n    command: [sleep, infinity]\n    ports:\n      - \"8080:8080\"\n  server:\n    image: nginx:1.27\n    network_mode: service:client\n    environment:\n      MODE: side\n    expose:\n      - \"9000\"\n    volumes:\n      - cache:/cache\nvolumes:\n  cache:\n",
        &[],
    );
    assert!(find(&out.docs, "Deployment", "server").is_none(), "no pod of its own");
    assert!(find(&out.docs, "Service", "server").is_none());
    let pod = &get(&out.docs, "Deployment", "client")["spec"]["template"]["spec"];
    let containers = pod["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 2, "{containers:?}");
    assert_eq!(containers[1]["name"], Value::from("server"));
    assert_eq!(containers[1]["image"], Value::from("nginx:1.27"));
    // Each container declares its own port.
    assert_eq!(container_ports(get(&out.docs, "Deployment", "client")), vec![8080]);
    assert_eq!(containers[1]["ports"][0]["containerPort"], Value::from(9000));
    assert_eq!(service_ports(get(&out.docs, "Service", "client")), vec![8080, 9000]);
    assert_eq!(environment(&out.docs, "Deployment", "client").get("MODE"), None, "client's own settings");
    let server_env = containers[1]["envFrom"][0]["configMapRef"]["name"].as_str().unwrap();
    assert_eq!(get(&out.docs, "ConfigMap", server_env)["data"]["MODE"], Value::from("side"));
    let mounts = containers[1]["volumeMounts"].as_sequence().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/cache"), "{mounts:?}");
    assert!(find(&out.docs, "PersistentVolumeClaim", "cache").is_some());
    assert!(!out.stderr.contains("shares the network"), "nothing to warn about: {}", out.stderr);
}

// Item 1, in a URL: the password inside a client's connection URL and the database's own password
// setting, equal in compose, get one generated value.
#[test]
fn a_password_inside_a_url_shares_the_databases_value() {
    let dir = folder(&[
        (
            "compose.yaml",
            "services:\n  api:\n    image: example/api:2\n    environment:\n      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n",
        ),
        (".env", "DB_PASSWORD=s3cret\n"),
    ]);
    let out = translate_in(dir.path(), &[]);
    let url = environment(&out.docs, "Deployment", "api")["DATABASE_URL"].clone();
    let password = environment(&out.docs, "Deployment", "db")["POSTGRES_PASSWORD"].clone();
    assert!(!password.is_empty() && password != "s3cret", "{password}");
    assert_eq!(url, format!("postgres://app:{password}@db:5432/app"));
}

// On a compose network every port is reachable, declared or not: a database without `ports:` is
// reached on the port its client names (`db:5432`), so its Service listens there, its policy lets
// the client in on it, and its probe checks it.
#[test]
fn an_undeclared_port_a_client_names_is_the_services_port() {
    let out = translate(
        "services:\n  api:\n    image: example/api:2\n    environment:\n      DATABASE_URL: postgres://app:pw@db:5432/app\n  db:\n    image: postgres:16\n",
        &[],
    );
    assert_eq!(service_ports(get(&out.docs, "Service", "db")), vec![5432]);
    let c = &get(&out.docs, "Deployment", "db")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], Value::from(5432));
    let policy = get(&out.docs, "NetworkPolicy", "allow-ingress-db");
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], Value::from(5432), "{policy:?}");
    assert!(!out.stderr.contains("`db` has no TCP port"), "{}", out.stderr);
}

// Named without a port (`WORDPRESS_DB_HOST: db`), a database that declares none is reached on the
// port its image listens on (the rules' image_ports); an image the rules do not know gains nothing.
// A URL password no service sets (a broker's built-in guest) is kept as written, and said.
#[test]
fn a_client_naming_a_host_alone_reaches_the_images_port() {
    let out = translate(
        "services:\n  wp:\n    image: wordpress:6\n    environment:\n      WORDPRESS_DB_HOST: db\n      CACHE: cache\n      BROKER_URL: amqp://guest:guest@mq:5672//\n  db:\n    image: mysql:8.4\n  cache:\n    image: example/cache:1\n  mq:\n    image: rabbitmq:3\n    expose: [5672]\n",
        &[],
    );
    assert_eq!(service_ports(get(&out.docs, "Service", "db")), vec![3306]);
    let policy = get(&out.docs, "NetworkPolicy", "allow-ingress-db");
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], Value::from(3306), "{policy:?}");
    assert!(!out.docs.iter().any(|d| d["kind"] == "Service" && d["metadata"]["name"] == "cache"), "no port known");
    assert!(in_secret(&out.docs, "wp", "BROKER_URL"));
    assert_eq!(environment(&out.docs, "Deployment", "wp")["BROKER_URL"], "amqp://guest:guest@mq:5672//");
    assert!(out.stderr.contains("no service here sets the password in `BROKER_URL`"), "{}", out.stderr);
}

// What compose drops leaves Docker's default capabilities the generic preset adds back; dropping ALL
// leaves only what compose adds.
#[test]
fn cap_drop_narrows_the_default_capabilities() {
    let out = translate(
        "services:\n  a:\n    image: nginx:1.27\n    cap_drop: [NET_BIND_SERVICE, MKNOD]\n  b:\n    image: example/vpn:1\n    cap_drop: [ALL]\n    cap_add: [NET_ADMIN]\n",
        &[],
    );
    let caps = |w: &str| -> Vec<String> {
        get(&out.docs, "Deployment", w)["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]
            ["add"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let a = caps("a");
    assert!(a.contains(&"CHOWN".to_string()) && a.contains(&"SETUID".to_string()), "{a:?}");
    assert!(!a.contains(&"NET_BIND_SERVICE".to_string()) && !a.contains(&"MKNOD".to_string()), "{a:?}");
    assert_eq!(caps("b"), vec!["NET_ADMIN".to_string()]);
}

// A fresh disk has lost+found at its root, which postgres' initdb refuses and compose's empty volume
// never shows: a claim at postgres' data path gets PGDATA one folder down (the rules'
// `claim_settings`), unless the compose file sets PGDATA itself.
#[test]
fn postgres_on_a_claim_keeps_its_data_one_folder_down() {
    let out = translate(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n  own:\n    image: postgres:16\n    environment:\n      PGDATA: /var/lib/postgresql/data/mine\n    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg:\n",
        &[],
    );
    assert_eq!(
        environment(&out.docs, "Deployment", "db").get("PGDATA").map(String::as_str),
        Some("/var/lib/postgresql/data/pgdata")
    );
    assert_eq!(
        environment(&out.docs, "Deployment", "own").get("PGDATA").map(String::as_str),
        Some("/var/lib/postgresql/data/mine")
    );
}

// compose kills nothing that is slow to start; a database's first start (mysql's temporary server
// runs without networking) can take minutes: liveness counts only after the startup probe passes,
// within the rules' allowance (300 s) or compose's own start_period.
#[test]
fn a_slow_first_start_is_not_killed() {
    let out = translate(
        "services:\n  db:\n    image: mysql:8\n    ports:\n      - \"3306\"\n  app:\n    image: example/app:1\n    ports:\n      - \"80\"\n    healthcheck:\n      test: [CMD, true]\n      interval: 10s\n      start_period: 120s\n",
        &[],
    );
    let startup =
        |w: &str| get(&out.docs, "Deployment", w)["spec"]["template"]["spec"]["containers"][0]["startupProbe"].clone();
    let db = startup("db");
    assert_eq!(db["tcpSocket"]["port"], Value::from(3306), "{db:?}");
    assert_eq!(db["periodSeconds"].as_i64().unwrap() * db["failureThreshold"].as_i64().unwrap(), 300, "{db:?}");
    let app = startup("app");
    assert_eq!(app["periodSeconds"].as_i64().unwrap() * app["failureThreshold"].as_i64().unwrap(), 120, "{app:?}");
}
