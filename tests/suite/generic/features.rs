//! What `--preset generic` makes of each compose feature, on the corpus files that show it
//! (`tests/corpus/`): the rendered objects, and the warnings for what Kubernetes cannot say.

use std::path::Path;

use crate::common::*;
use yaml_serde::Value;

/// Translate a corpus case with the generic preset, make its secrets and render it.
fn translate(case: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let compose = corpus_compose(case);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k8s");
    let o = bin().arg(&compose).arg("-o").arg(&out).args(["--preset", "generic"]).args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{case}: {stderr}");
    setup_secrets(&out);
    (render(&out), stderr)
}

fn setting<'a>(docs: &'a [Value], workload: &str, key: &str) -> Option<&'a str> {
    find(docs, "ConfigMap", &format!("{workload}-config")).and_then(|c| c["data"][key].as_str())
}

fn container<'a>(docs: &'a [Value], workload: &str) -> &'a Value {
    &get(docs, "Deployment", workload)["spec"]["template"]["spec"]["containers"][0]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn file_content<'a>(docs: &'a [Value], workload: &str, key: &str) -> &'a str {
    get(docs, "ConfigMap", &format!("{workload}-files"))["data"][key].as_str().unwrap_or_default()
}

#[test]
fn legacy_v1_file_is_read_and_said() {
    let (docs, stderr) = translate("02-v1-legacy", &[]);
    assert!(stderr.contains("legacy version 1 file"), "{stderr}");
    assert_eq!(setting(&docs, "web", "REDIS_HOST"), Some("redis"), "a link alias names the linked service");
    assert!(!stderr.contains("links"), "{stderr}");
    assert_eq!(container_ports(get(&docs, "Deployment", "web")), vec![8000]);
    assert!(find(&docs, "Deployment", "redis").is_some());
}

#[test]
fn extends_in_the_same_file_merges_like_compose() {
    let (docs, _) = translate("06-extends-same-file", &[]);
    assert_eq!(setting(&docs, "api", "LOG_LEVEL"), Some("debug"));
    assert_eq!(setting(&docs, "api", "TZ"), Some("UTC"));
    assert_eq!(container_ports(get(&docs, "Deployment", "api")), vec![8080, 9090]);
    assert_eq!(setting(&docs, "worker", "ROLE"), Some("worker"));
    assert_eq!(setting(&docs, "worker", "LOG_LEVEL"), Some("debug"), "a chain of extends");
    assert_eq!(strings(&container(&docs, "worker")["args"]), vec!["run-worker"]);
    assert_eq!(probe_kind(&container(&docs, "worker")["livenessProbe"]), "Exec", "the healthcheck is inherited");
}

#[test]
fn extends_from_another_file_reads_its_paths_from_there() {
    let (docs, _) = translate("07-extends-other-file", &[]);
    assert_eq!(setting(&docs, "web", "WEB_WORKERS"), Some("4"), "env_file relative to common/");
    assert!(file_content(&docs, "web", "web.ini").contains("port = 8000"), "bind mount relative to common/");
    assert_eq!(container_ports(get(&docs, "Deployment", "web")), vec![8000]);
    assert!(find(&docs, "PersistentVolumeClaim", "pgdata").is_some());
}

#[test]
fn include_reads_files_relative_to_the_included_file() {
    let (docs, _) = translate("08-include", &[]);
    assert_eq!(setting(&docs, "database", "POSTGRES_DB"), Some("app"));
    assert!(file_content(&docs, "database", "init.sql").contains("CREATE TABLE"));
    assert!(find(&docs, "Deployment", "cache").is_some());
    assert_eq!(setting(&docs, "app", "DB_HOST"), Some("database"));
    let (docs, _) = translate("34-include-with-extends", &[]);
    assert_eq!(container(&docs, "backend")["image"].as_str(), Some("example/backend:6"));
    assert_eq!(setting(&docs, "backend", "JAVA_TOOL_OPTIONS"), Some("-XX:MaxRAMPercentage=75"));
    assert!(file_content(&docs, "backend", "jvm.properties").contains("gc=g1"));
}

#[test]
fn env_files_in_every_form() {
    let (docs, _) = translate("16-env-files", &[]);
    assert_eq!(setting(&docs, "one", "ONE_GREETING"), Some("hello world"));
    assert_eq!(setting(&docs, "many", "OVERRIDE"), Some("from-compose"), "environment wins over env_file");
    assert_eq!(setting(&docs, "many", "MANY_COUNT"), Some("3"));
    assert_eq!(setting(&docs, "many", "LOG_LEVEL"), Some("warn"), "env files are interpolated from .env");
    assert_eq!(setting(&docs, "long-form", "VERSION"), Some("1.4.2"), "required: false may be missing");
}

#[test]
fn build_only_services_run_an_image_named_after_them() {
    let (docs, stderr) = translate("05-build-only", &[]);
    assert_eq!(container(&docs, "app")["image"].as_str(), Some("app"));
    assert_eq!(container(&docs, "worker")["image"].as_str(), Some("worker"));
    assert_eq!(container(&docs, "tagged")["image"].as_str(), Some("registry.example.com/tagged:1.0"));
    assert!(stderr.contains("kustomize edit set image app=REGISTRY/app:TAG"), "{stderr}");
    assert!(!stderr.contains("`tagged` is built"), "a build with an image names its own tag");
}

#[test]
fn ports_in_every_syntax_become_container_ports() {
    let (docs, stderr) = translate("22-ports-every-syntax", &[]);
    let expected: Vec<i64> = (3000..=3011).chain(4000..=4002).chain([53, 5353]).collect();
    let service = get(&docs, "Service", "ports-zoo");
    assert_eq!(service_ports(service), expected, "container ports, never host ports");
    let udp: Vec<i64> = service["spec"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|p| p["protocol"].as_str() == Some("UDP"))
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(udp, [53, 5353], "UDP ports (published and exposed) keep their protocol");
    assert!(!stderr.contains("left out"), "{stderr}");
    let container_udp = container(&docs, "ports-zoo")["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|p| p["protocol"].as_str() == Some("UDP"))
        .count();
    assert_eq!(container_udp, 2);
    assert_eq!(container(&docs, "ports-zoo")["livenessProbe"]["tcpSocket"]["port"].as_i64(), Some(3000));
}

#[test]
fn named_volumes_become_claims_named_after_them() {
    let (docs, _) = translate("01-web-db", &[]);
    assert!(find(&docs, "PersistentVolumeClaim", "dbdata").is_some());
    assert!(find(&docs, "PersistentVolumeClaim", "cachedata").is_some());
    assert_eq!(setting(&docs, "app", "REDIS_HOST"), Some("cache"));
}

#[test]
fn bind_mounts_files_and_folders_become_config_maps_and_missing_ones_warn() {
    let (docs, _) = translate("04-v3-long-syntax", &[]);
    assert!(file_content(&docs, "frontend", "frontend.conf").contains("listen 8080"));
    let (docs, _) = translate("26-monitoring-config-dir", &[]);
    assert!(file_content(&docs, "prometheus", "prometheus.yml").contains("scrape_interval"));
    let (_, stderr) = translate("17-missing-bind-mounts", &[]);
    assert!(stderr.contains("`./nginx/nginx.conf`, which is not beside the compose file"), "{stderr}");
    assert!(stderr.contains("`/var/run/docker.sock`"), "{stderr}");
    let (docs, stderr) = translate("42-large-and-binary-folders", &[]);
    assert!(stderr.contains("folder `./site` holds more than 64 files"), "{stderr}");
    assert!(stderr.contains("(first: logo.png)"), "{stderr}");
    assert!(file_content(&docs, "static", "site.css").contains("color"));
}

#[test]
fn healthchecks_become_probes() {
    let (docs, _) = translate("18-healthchecks", &[]);
    let probe = |w: &str| container(&docs, w)["livenessProbe"].clone();
    assert_eq!(strings(&probe("exec-form")["exec"]["command"]), vec!["curl", "-f", "http://localhost:8080/healthz"]);
    assert_eq!(probe("exec-form")["periodSeconds"].as_i64(), Some(30));
    assert_eq!(strings(&probe("shell-form")["exec"]["command"])[..2], ["sh", "-c"]);
    assert_eq!(probe("shell-form")["periodSeconds"].as_i64(), Some(90));
    assert_eq!(strings(&probe("string-form")["exec"]["command"])[2], "curl -fsS http://localhost:9000/ping");
    assert_eq!(probe("disabled")["tcpSocket"]["port"].as_i64(), Some(7000), "disable: true falls back to the port");
    assert_eq!(probe_kind(&probe("none-test")), "Exec");
}

#[test]
fn names_become_dns_labels_and_references_follow() {
    let (docs, _) = translate("15-odd-names", &[]);
    assert_eq!(setting(&docs, "web-app", "API_URL"), Some("http://svc-with-dots:8080/v1"));
    assert_eq!(setting(&docs, "web-app", "CACHE_ADDR"), Some("svc-3rd-party-cache:6379"));
    assert_eq!(setting(&docs, "web-app", "DB"), Some("my-db"));
    assert_eq!(setting(&docs, "svc-with-dots", "UPSTREAM"), Some("my-db:5432"));
    assert!(strings(&container(&docs, "leading-underscore")["args"]).iter().any(|a| a.contains("nc -z web-app 8000")));
}

#[test]
fn configs_are_mounted_files_and_secrets_are_warned() {
    let (docs, stderr) = translate("21-configs-secrets", &[]);
    let mounts: Vec<String> = container(&docs, "gateway")["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|m| m["mountPath"].as_str().map(str::to_string))
        .collect();
    assert!(mounts.contains(&"/gateway_conf".to_string()), "{mounts:?}");
    assert!(mounts.contains(&"/etc/gateway/routes.yaml".to_string()), "{mounts:?}");
    assert!(stderr.contains("secret `api_token`"), "{stderr}");
    assert!(stderr.contains("/run/secrets/gateway.key"), "{stderr}");
    assert!(stderr.contains("config `inline_banner`"), "{stderr}");
    let all = format!("{docs:?}");
    assert!(!all.contains("not-a-real-token"), "a secret file's value is never copied");
}

#[test]
fn deploy_replicas_and_resources_are_honoured() {
    let (docs, _) = translate("04-v3-long-syntax", &[]);
    let d = get(&docs, "Deployment", "frontend");
    assert_eq!(d["spec"]["replicas"].as_i64(), Some(3));
    let r = &container(&docs, "frontend")["resources"];
    assert_eq!(r["limits"]["cpu"].as_str(), Some("500m"));
    assert_eq!(r["limits"]["memory"].as_str(), Some("256Mi"));
    assert_eq!(r["requests"]["cpu"].as_str(), Some("100m"));
    assert_eq!(r["requests"]["memory"].as_str(), Some("64Mi"));
    let (docs, _) = translate("03-v2-version", &[]);
    let r = &container(&docs, "api")["resources"];
    assert_eq!(r["limits"]["memory"].as_str(), Some("512Mi"));
    assert_eq!(r["requests"]["memory"].as_str(), Some("128Mi"));
    assert_eq!(r["limits"]["cpu"].as_str(), Some("750m"));
    assert!(r["requests"]["cpu"].is_null(), "a limit without a reservation requests the limit");
    assert_eq!(get(&docs, "Deployment", "api")["spec"]["replicas"].as_i64(), Some(2), "the older `scale`");
}

#[test]
fn profiles_choose_the_services() {
    let (docs, _) = translate("10-profiles", &[]);
    assert!(find(&docs, "Deployment", "app").is_some());
    assert!(find(&docs, "Deployment", "debug").is_none());
    let (docs, _) = translate("10-profiles", &["--profile", "debug"]);
    assert!(find(&docs, "Deployment", "debug").is_some());
    assert!(find(&docs, "Deployment", "mailhog").is_some());
    assert!(find(&docs, "Deployment", "adminer").is_none());
}

#[test]
fn extension_fields_are_silent_and_unknown_keys_warned() {
    let (docs, stderr) = translate("28-extensions-unknown-keys", &[]);
    assert!(find(&docs, "DaemonSet", "app").is_some(), "deploy.mode: global is one pod per node");
    assert!(!stderr.contains("x-internal-note") && !stderr.contains("x-ports"), "{stderr}");
    // Each said where it is written (compose.yaml line 11: `    frobnicate: true`).
    assert!(
        stderr.contains(
            "28-extensions-unknown-keys/compose.yaml:11:5: service `app`: key `frobnicate` is not translated"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("key `stop_signal` is not translated"), "{stderr}");
    assert!(stderr.contains("volumes (type npipe"), "an unknown mount type is left out, not refused: {stderr}");
    assert!(!stderr.contains("x-owner"), "{stderr}");
}

#[test]
fn commands_and_entrypoints_as_strings_or_lists() {
    let (docs, _) = translate("23-command-entrypoint", &[]);
    assert_eq!(strings(&container(&docs, "string-cmd")["args"]), vec!["sh", "-c", "echo \"$HOME\" && sleep 3600"]);
    assert_eq!(strings(&container(&docs, "string-entry")["command"]), vec!["/usr/local/bin/start", "--verbose"]);
    assert!(container(&docs, "empty-entry")["command"].is_null());
    assert_eq!(strings(&container(&docs, "empty-entry")["args"]), vec!["serve", "--port=8080"]);
}

#[test]
fn environment_as_list_or_map_with_empty_and_unset_values() {
    let (docs, _) = translate("24-environment-forms", &[]);
    assert_eq!(setting(&docs, "as-list", "PLAIN"), Some("value"));
    assert_eq!(setting(&docs, "as-list", "EMPTY"), Some(""));
    assert_eq!(setting(&docs, "as-list", "WITH_EQUALS"), Some("a=b=c"));
    assert_eq!(setting(&docs, "as-list", "FROM_SHELL"), None, "the caller's shell is never read");
    assert_eq!(setting(&docs, "as-map", "NUMBER"), Some("42"));
    assert_eq!(setting(&docs, "as-map", "BOOL"), Some("true"));
    assert_eq!(setting(&docs, "as-map", "NULL_VALUE"), None);
    assert_eq!(setting(&docs, "as-map", "INTERPOLATED"), Some("dotenv-value"));
    assert_eq!(setting(&docs, "as-map", "DEFAULTED"), Some("fallback"));
    assert_eq!(setting(&docs, "as-map", "LITERAL_DOLLAR"), Some("cost: $5"));
}

#[test]
fn depends_on_opens_the_flow_and_one_shot_tasks_become_jobs() {
    let (docs, _) = translate("27-queue-workers", &[]);
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("the task others wait for is a Job");
    assert!(job["metadata"]["name"].as_str().unwrap().starts_with("migrate-"), "{job:?}");
    assert!(find(&docs, "Deployment", "migrate").is_none());
    assert_eq!(get(&docs, "Deployment", "worker")["spec"]["replicas"].as_i64(), Some(4));
    let policies =
        format!("{:?}", docs.iter().filter(|d| d["kind"].as_str() == Some("NetworkPolicy")).collect::<Vec<_>>());
    assert!(policies.contains("broker"), "worker → broker is allowed: {policies}");
    // `network_mode: service:vpn`: behind_vpn runs in vpn's pod (its traffic goes through the VPN).
    let (docs, stderr) = translate("11-network-mode-ipc", &[]);
    assert!(find(&docs, "Deployment", "behind-vpn").is_none(), "{stderr}");
    let containers = get(&docs, "Deployment", "vpn")["spec"]["template"]["spec"]["containers"].clone();
    assert_eq!(containers[1]["image"], Value::from("example/downloader:2"), "{containers:?}");
    assert!(stderr.contains("`monitor` uses the host's network"), "{stderr}");
}

#[test]
fn refusals_by_design_name_the_place() {
    for (case, expect) in [
        ("31-invalid-yaml-by-design", "compose.yaml:4:"),
        ("32-required-variable-by-design", "APP_TAG"),
        ("35-cyclic-extends-by-design", "a → b → a"),
    ] {
        let compose = repo().join("tests/corpus").join(case).join("compose.yaml");
        let tmp = tempfile::tempdir().unwrap();
        let o =
            bin().arg(&compose).arg("-o").arg(tmp.path().join("k8s")).args(["--preset", "generic"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{case}: {stderr}");
        assert!(stderr.contains(expect), "{case}: {stderr}");
        assert!(!Path::new(&tmp.path().join("k8s")).exists());
    }
}

#[test]
fn a_problem_in_an_included_file_points_into_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("compose.yaml"), "include: [sub/more.yaml]\nservices:\n  a:\n    image: x\n")
        .unwrap();
    std::fs::write(
        tmp.path().join("sub/more.yaml"),
        "services:\n  b:\n    image: y\n    ports:\n      - \"80:99999\"\n",
    )
    .unwrap();
    let o = bin()
        .arg(tmp.path().join("compose.yaml"))
        .arg("-o")
        .arg(tmp.path().join("k8s"))
        .args(["--preset", "generic"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sub/more.yaml:5:"), "{stderr}");
}

#[test]
fn a_udp_flow_is_admitted_on_its_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "services:\n  resolver:\n    image: example/dns:1\n    ports: [\"53:53/udp\"]\n  app:\n    image: example/app:1\n    environment:\n      DNS_SERVER: resolver:53\n",
    )
    .unwrap();
    let out = dir.path().join("k8s");
    let o = bin().arg(&compose).arg("-o").arg(&out).args(["--preset", "generic"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    setup_secrets(&out);
    let docs = render(&out);
    let policy = get(&docs, "NetworkPolicy", "allow-ingress-resolver");
    let port = &policy["spec"]["ingress"][0]["ports"][0];
    assert_eq!((port["port"].as_i64(), port["protocol"].as_str()), (Some(53), Some("UDP")));
}

/// Who may reach `target`, from the reason of its ingress policy.
fn reached_by(tree: &Path, target: &str) -> String {
    let text = std::fs::read_to_string(tree.join("base/networkpolicy.yaml")).unwrap();
    let docs: Vec<Value> =
        yaml_serde::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
    let policy = docs.iter().find(|d| d["metadata"]["name"].as_str() == Some(&format!("allow-ingress-{target}")));
    policy
        .map(|p| p["metadata"]["annotations"]["compose2dify/reason"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// `env_file: .env` (the project's env source) counts as a service's own settings in the generic
/// preset, so its hosts make flows; a rule `inherits_env_source: true` says the service only
/// inherits the file, and then only its own settings make flows.
#[test]
fn env_source_as_env_file_makes_flows_unless_the_rules_say_inherited() {
    let tmp = tempfile::tempdir().unwrap();
    let compose = tmp.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "services:\n  app:\n    image: app:1\n    env_file: .env\n  worker:\n    image: app:1\n    env_file: [.env]\n    environment:\n      QUEUE_HOST: queue\n  db:\n    image: postgres:16\n    ports: [\"5432\"]\n  queue:\n    image: redis:7\n    ports: [\"6379\"]\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join(".env"), "DB_HOST=db\n").unwrap();
    let run = |extra: &[&str], out: &Path| {
        let o = bin().arg(&compose).arg("-o").arg(out).args(["--preset", "generic"]).args(extra).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let plain = tmp.path().join("plain");
    run(&[], &plain);
    let db = reached_by(&plain, "db");
    assert!(db.contains("app (") && db.contains("worker ("), "{db}");
    assert!(reached_by(&plain, "queue").contains("worker ("));

    let rules = tmp.path().join("rules.yaml");
    std::fs::write(&rules, "services:\n  app:\n    inherits_env_source: true\n").unwrap();
    let ruled = tmp.path().join("ruled");
    run(&["--mappings", rules.to_str().unwrap()], &ruled);
    let db = reached_by(&ruled, "db");
    assert!(!db.contains("app (") && db.contains("worker ("), "{db}");
    assert!(reached_by(&ruled, "queue").contains("worker ("));
    // The setting itself still reaches the container: only the flow is gone.
    let config = std::fs::read_to_string(ruled.join("services/app/configmap.yaml")).unwrap();
    assert!(config.contains("DB_HOST: db"), "{config}");
}

/// The tree's README of a generic tree speaks of "the application", never of Dify or its services
/// (their titles, purposes and links live in mappings/dify.yaml), in both languages; Dify's still
/// names Dify and its workloads.
#[test]
fn the_guide_of_a_generic_tree_never_names_dify() {
    for case in ["01-web-db", "25-wordpress-mysql", "27-queue-workers", "33-kafka-zookeeper"] {
        let compose = corpus_compose(case);
        for lang in ["en", "ja"] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("k8s");
            let o =
                bin().arg(&compose).arg("-o").arg(&out).args(["--preset", "generic", "--lang", lang]).output().unwrap();
            assert!(o.status.success(), "{case}: {}", String::from_utf8_lossy(&o.stderr));
            let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
            for word in
                ["Dify", "dify-backup", "Next.js", "Celery", "docs.dify.ai", "model provider", "モデルプロバイダー"]
            {
                assert!(!readme.contains(word), "{case} ({lang}): the guide says `{word}`");
            }
            // A known database image is saved with its dump tool, never by copying a running
            // server's files.
            if case == "25-wordpress-mysql" {
                assert!(readme.contains("exec mysqldump --single-transaction"), "{case}: the database is dumped");
                assert!(!readme.contains("-C /var/lib/mysql"), "{case}: a live database's files are not copied");
            }
        }
    }
    let dify = made("1.14.1", &[]).text("README.md");
    assert!(dify.starts_with("# Dify on Kubernetes"), "{}", &dify[..80]);
    assert!(dify.contains("API server"), "workload titles from mappings/dify.yaml");
    assert!(dify.contains("(https://docs.dify.ai/)"));
}
