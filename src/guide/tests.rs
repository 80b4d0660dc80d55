//! The guide's unit tests, on hand-made facts of a Dify-like tree.

use super::view::lookup::Lookup;
use super::*;
use crate::rules::SecretSource;

fn claim(name: &str, size: &str, mode: &str, path: &str) -> ClaimFacts {
    ClaimFacts {
        name: name.into(),
        size: size.into(),
        access_mode: mode.into(),
        mount_path: path.into(),
        seed_init: None,
        host: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn wl(
    name: &str,
    upstream: &str,
    kind: &str,
    replicas: i32,
    ports: &[u16],
    service_type: Option<&str>,
    probe: Option<&str>,
    claims: Vec<ClaimFacts>,
    role: Option<&str>,
) -> WorkloadFacts {
    WorkloadFacts {
        name: name.into(),
        secret_keys: Vec::new(),
        reached_by: Vec::new(),
        upstream: upstream.into(),
        kind: kind.into(),
        object_name: name.into(),
        replicas,
        ports: ports.to_vec(),
        service_type: service_type.map(Into::into),
        probe: probe.map(Into::into),
        liveness: None,
        claims,
        image: format!("example/{name}:1.14.1"),
        role: role.map(Into::into),
        description: Some(format!("Purpose of {name}")),
        joined: Vec::new(),
        non_root_user: None,
        security: SecurityFacts::default(),
        init_security: Vec::new(),
        ingress: None,
        route: None,
        http_probe: (name == "nginx").then(|| ("/healthz".into(), 80, true)),
        pdb: replicas > 1,
        egress: match name {
            "sandbox" => Some(EgressFacts { reaches: vec!["ssrf-proxy".into()], internet_except: None }),
            "ssrf-proxy" => Some(EgressFacts {
                reaches: vec!["sandbox".into()],
                internet_except: Some(vec!["10.0.0.0/8".into(), "169.254.0.0/16".into()]),
            }),
            _ => None,
        },
        proxy_denies: if name == "ssrf-proxy" { vec!["10.0.0.0/8".into(), "169.254.0.0/16".into()] } else { vec![] },
        env: Default::default(),
    }
}

/// The fixture's data stores: PostgreSQL and Redis, each a StatefulSet with a claim of its own.
fn data_workloads() -> Vec<WorkloadFacts> {
    let (s, ci) = ("StatefulSet", Some("ClusterIP"));
    vec![
        wl(
            "postgres",
            "db_postgres",
            s,
            1,
            &[5432],
            ci,
            Some("TCP"),
            vec![claim("data", "10Gi", "ReadWriteOnce", "/var/lib/postgresql/data")],
            Some("postgres"),
        ),
        wl(
            "redis",
            "redis",
            s,
            1,
            &[6379],
            ci,
            Some("TCP"),
            vec![claim("data", "5Gi", "ReadWriteOnce", "/data")],
            Some("redis"),
        ),
    ]
}

/// The fixture's application: the API, its websocket server, the workers and the web front end,
/// the API's on the shared claim.
fn app_workloads(shared: &ClaimFacts) -> Vec<WorkloadFacts> {
    let (d, ci) = ("Deployment", Some("ClusterIP"));
    vec![
        wl("api", "api", d, 1, &[5001], ci, Some("HTTP"), vec![shared.clone()], Some("api")),
        wl(
            "api-websocket",
            "api_websocket",
            d,
            1,
            &[5001],
            ci,
            Some("HTTP"),
            vec![shared.clone()],
            Some("api-websocket"),
        ),
        wl("worker", "worker", d, 1, &[], None, Some("Exec"), vec![shared.clone()], Some("worker")),
        wl("worker-beat", "worker_beat", d, 1, &[], None, Some("Exec"), vec![shared.clone()], Some("worker-beat")),
        wl("web", "web", d, 2, &[3000], ci, Some("HTTP"), vec![], Some("web")),
    ]
}

/// The fixture's supporting services: the sandbox, the plugin daemon, the proxy, nginx in front,
/// and the vector store.
fn support_workloads() -> Vec<WorkloadFacts> {
    let (d, s, ci) = ("Deployment", "StatefulSet", Some("ClusterIP"));
    vec![
        wl(
            "sandbox",
            "sandbox",
            d,
            1,
            &[8194],
            ci,
            Some("HTTP"),
            vec![
                claim("sandbox-dependencies", "5Gi", "ReadWriteOnce", "/dependencies"),
                claim("sandbox-conf", "1Gi", "ReadWriteOnce", "/conf"),
            ],
            Some("sandbox"),
        ),
        wl(
            "plugin-daemon",
            "plugin_daemon",
            d,
            1,
            &[5002, 5003],
            ci,
            Some("Exec"),
            vec![claim("plugin-storage", "10Gi", "ReadWriteOnce", "/app/storage")],
            Some("plugin-daemon"),
        ),
        wl("ssrf-proxy", "ssrf_proxy", d, 1, &[3128, 8194], ci, Some("TCP"), vec![], Some("ssrf-proxy")),
        wl("nginx", "nginx", d, 2, &[80, 443], Some("LoadBalancer"), Some("HTTP"), vec![], Some("nginx")),
        wl(
            "weaviate",
            "weaviate",
            s,
            1,
            &[8080],
            ci,
            Some("HTTP"),
            vec![claim("data", "10Gi", "ReadWriteOnce", "/var/lib/weaviate")],
            Some("vector-store"),
        ),
    ]
}

/// Facts of a Dify 1.14.1 tree: its workloads in folder order, its Secrets, claims and findings.
fn fixture() -> Facts {
    let shared = claim("dify-storage", "20Gi", "ReadWriteMany", "/app/api/storage");
    let mut workloads = data_workloads();
    workloads.extend(app_workloads(&shared));
    workloads.extend(support_workloads());
    Facts {
        namespace: "dify".into(),
        release: Some("1.14.1".into()),
        guide: crate::rules::load(crate::rules::Preset::Dify, None).unwrap().guide,
        workloads,
        secret_files: vec![
            "base/secret.yaml.example".into(),
            "services/postgres/secret.yaml.example".into(),
            "services/redis/secret.yaml.example".into(),
            "services/weaviate/secret.yaml.example".into(),
        ],
        secrets: vec![],
        secret_source: SecretSource::Files,
        shared_claim: Some(shared),
        storage: StorageFacts::default(),
        config_map: "dify-config".into(),
        omitted: vec![
            ("certbot".into(), "TLS comes from the cluster".into()),
            ("init_permissions".into(), "replaced by fsGroup | initContainer".into()),
        ],
        security_findings: vec![SecurityFinding {
            check_id: "CKV_K8S_40".into(),
            resource: "StatefulSet.dify.postgres".into(),
            reason: "image needs its own UID".into(),
        }],
        migration_job: Some("api-migrate-1-14-1".into()),
        cluster_domain: "cluster.local".into(),
        spread_key: Some("kubernetes.io/hostname".into()),
        fqdn_users: vec!["nginx".into()],
        inherit_env_source: vec!["sandbox".into(), "web".into()],
        ja: Default::default(),
        choices: Vec::new(),
        pod_security: PodSecurityView { level: "baseline".into(), not_restricted: Vec::new() },
        operations: Default::default(),
        cluster_ranges: Vec::new(),
        allowed_ranges: Vec::new(),
        public_urls: vec![PublicUrlFacts {
            key: "NEXT_PUBLIC_SOCKET_URL".into(),
            value: "ws://localhost".into(),
            files: vec!["base/configmap.yaml".into(), "services/web/configmap.yaml".into()],
        }],
    }
}

fn both(f: &Facts) -> [String; 2] {
    [render(f, Lang::En), render(f, Lang::Ja)]
}

/// Every object a command refers to must exist in `f`.
fn assert_commands_reference_existing(f: &Facts, out: &str) {
    let names: Vec<&str> = f.workloads.iter().map(|w| w.name.as_str()).collect();
    let deployments: Vec<&str> =
        f.workloads.iter().filter(|w| w.kind == "Deployment").map(|w| w.name.as_str()).collect();
    let statefulsets: Vec<&str> =
        f.workloads.iter().filter(|w| w.kind == "StatefulSet").map(|w| w.name.as_str()).collect();
    let mut in_code = false;
    for line in out.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        // Commands live in code blocks and in inline code.
        let mut spans: Vec<&str> = Vec::new();
        if in_code {
            spans.push(line);
        } else {
            spans.extend(line.split('`').skip(1).step_by(2));
        }
        for span in spans {
            if !span.contains("kubectl") {
                continue;
            }
            for tok in span.split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                let check = |prefix: &str, allowed: &[&str]| {
                    if let Some(rest) = tok.strip_prefix(prefix) {
                        let n = rest.trim_end_matches('/');
                        assert!(
                            n == "<name>" || allowed.contains(&n),
                            "command references missing {prefix}{n}: {span}"
                        );
                    }
                };
                check("deployment/", &deployments);
                check("statefulset/", &statefulsets);
                check("services/", &names);
                check("svc/", &names);
                if let Some(base) = tok.strip_suffix("-0") {
                    assert!(statefulsets.contains(&base), "pod {tok} missing: {span}");
                }
            }
        }
    }
}

#[test]
fn mentions_every_workload_and_secret_file() {
    let f = fixture();
    for out in both(&f) {
        for w in &f.workloads {
            assert!(out.contains(&w.name), "missing {}", w.name);
            assert!(out.contains(&format!("services/{}/", w.name)));
        }
        for s in &f.secret_files {
            assert!(out.contains(s), "missing {s}");
            let target = s.strip_suffix(".example").unwrap();
            assert!(out.contains(&format!("cp {s} {target}")));
        }
        assert!(out.contains("LoadBalancer"));
        assert!(out.contains("kubectl apply -k ."));
        assert!(out.contains("./scripts/setup-secrets.sh"));
        assert!(out.contains("services/nginx/service.yaml"));
        assert!(out.contains("base/configmap.yaml"));
        assert!(out.contains("kubectl apply -k services/postgres/"));
        assert!(out.contains("postgres-0"));
        assert!(out.contains("pg_dumpall"));
        assert!(out.contains("redis-cli"));
        assert!(out.contains("kubectl logs -n dify deployment/api -f"));
        assert!(out.contains("kubectl scale deployment/web --replicas=3 -n dify"));
        assert!(out.contains("job/api-migrate-1-14-1"));
        assert!(out.contains("--check"));
        assert!(out.contains("CKV_K8S_40"));
        assert!(out.contains("fsGroup \\| initContainer"));
        assert!(out.contains("data-postgres-0"));
        assert!(out.contains("dify-storage"));
        assert!(out.contains("1.14.1"));
        assert!(!out.contains("/tmp/"));
        assert_commands_reference_existing(&f, &out);
    }
}

#[test]
fn sections_match_between_languages() {
    let f = fixture();
    let [en, ja] = both(&f);
    let heads = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with('#') && !l.starts_with("#!"))
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    // Headings outside code blocks only.
    let strip = |s: &str| {
        let mut in_code = false;
        s.lines()
            .filter(|l| {
                if l.starts_with("```") {
                    in_code = !in_code;
                    return false;
                }
                !in_code
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(heads(&strip(&en)), heads(&strip(&ja)));
    assert!(ja.contains("## デプロイ方法"));
    assert!(en.contains("## Deployment"));
    assert!(ja.contains("機密情報"));
}

#[test]
fn without_redis_no_redis_commands() {
    let mut f = fixture();
    f.workloads.retain(|w| w.name != "redis");
    f.secret_files.retain(|s| !s.contains("redis"));
    for out in both(&f) {
        assert!(!out.contains("redis-cli"));
        assert!(!out.contains("redis-0"));
        assert!(!out.contains("services/redis"));
        assert!(!out.contains("statefulset/redis"));
        assert_commands_reference_existing(&f, &out);
    }
}

#[test]
fn without_postgres_api_nginx() {
    let mut f = fixture();
    f.workloads.retain(|w| !["postgres", "api", "nginx", "web"].contains(&w.name.as_str()));
    f.fqdn_users.clear();
    f.migration_job = None;
    for out in both(&f) {
        assert!(!out.contains("pg_dump"));
        assert!(!out.contains("postgres-0"));
        assert!(!out.contains("deployment/api "));
        assert!(!out.contains("deployment/api\n"));
        assert!(!out.contains("nginx"));
        assert!(!out.contains("LoadBalancer"));
        assert!(out.contains("kubectl apply -k ."));
        assert_commands_reference_existing(&f, &out);
    }
}

#[test]
fn scaling_only_for_deployments() {
    let f = fixture();
    for out in both(&f) {
        for line in out.lines().filter(|l| l.starts_with("kubectl scale")) {
            assert!(line.contains("deployment"), "{line}");
            assert!(!line.contains("statefulset"), "{line}");
        }
    }
}

/// The tree always has `base/networkpolicy.yaml` (emit writes it for every plan): the guide
/// always describes the isolation and never says there is none.
#[test]
fn network_isolation_is_described() {
    let f = fixture();
    let [en, _] = both(&f);
    assert!(en.contains("`sandbox` reaches only `ssrf-proxy` and DNS"));
    assert!(en.contains("`ssrf-proxy` reaches `sandbox` and DNS, and addresses outside the cluster except"));
    assert!(en.contains("`ssrf-proxy`'s proxy configuration denies requests to `10.0.0.0/8`"));
    assert!(en.contains("`nginx` is probed with `GET /healthz` :80, which it answers itself"));
    assert!(en.contains("regenerate the tree with `--namespace NAME`"));
    assert!(en.contains("`sandbox`, `web` get the whole `.env` from compose but only inherit it"));
    assert!(en.contains("only `nginx` is reachable"));
    for out in both(&f) {
        assert!(out.contains("networkpolicy.yaml"));
        assert!(out.contains("kubectl get networkpolicy"));
        assert!(!out.contains("no NetworkPolicies"));
        assert!(!out.contains("NetworkPolicy はまだありません"));
    }
}

/// The production notes name the PodDisruptionBudgets the tree has rather than asking for them.
#[test]
fn production_notes_name_the_tree_s_pdbs() {
    let mut f = fixture();
    let en = render(&f, Lang::En);
    assert!(en.contains("`web`, `nginx` run several replicas and already have a PodDisruptionBudget"), "{en}");
    assert!(!en.contains("and add PodDisruptionBudgets"));
    f.workloads.iter_mut().for_each(|w| w.pdb = false);
    let en = render(&f, Lang::En);
    assert!(en.contains("give a PodDisruptionBudget to any workload you scale beyond one replica"));
    assert!(!en.contains("already have a PodDisruptionBudget"));
}

/// Every key of a serialized view, at any depth.
fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// The identifiers a template's tags (`{{ … }}`, `{% … %}`) name, string literals left out.
fn identifiers(template: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let close = if rest[start..].starts_with("{{") { "}}" } else { "%}" };
        let end = rest[start..].find(close).map_or(rest.len(), |e| start + e);
        let mut tag = String::new();
        let mut quote = None;
        for c in rest[start + 2..end].chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None => tag.push(c),
            }
        }
        out.extend(
            tag.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
                .map(str::to_string),
        );
        rest = &rest[(end + 2).min(rest.len())..];
    }
    out
}

/// A fact (a field of the view, at any depth) one language's template mentions, the other must
/// mention too: the two guides say the same things.
#[test]
fn both_templates_use_the_same_facts() {
    // Every field, also of the lists the plain fixture leaves empty: views of a fixture with
    // Secrets, a folded init container and a joined container, under each source of Secrets.
    let mut f = fixture();
    f.secrets = vec![SecretFacts { name: "dify-secret".into(), keys: vec![("SECRET_KEY".into(), vec!["KEY".into()])] }];
    f.workloads[2].init_security = vec![("init-permissions".into(), SecurityFacts::default())];
    f.workloads[2].joined = vec!["vpn".into()];
    if let Some(entry) = f.workloads.iter_mut().find(|w| w.service_type.as_deref() == Some("LoadBalancer")) {
        entry.route = Some(RouteFacts {
            gateway: "public".into(),
            gateway_namespace: Some("infra".into()),
            section: Some("https".into()),
            class: Some("eg".into()),
            tls_secret: Some("dify-tls".into()),
            hostname: Some("dify.example.com".into()),
            data_plane_namespace: Some("infra".into()),
            sources: vec!["10.0.0.0/16".into()],
            timeout: Some(("1h".into(), "NGINX_PROXY_READ_TIMEOUT".into())),
            body_size: Some(("NGINX_CLIENT_MAX_BODY_SIZE".into(), "100M".into())),
        });
    }
    let mut fields = std::collections::BTreeSet::new();
    for source in [
        SecretSource::Files,
        SecretSource::External,
        SecretSource::ExternalSecrets {
            store: "vault".into(),
            store_kind: "SecretStore".into(),
            prefix: "dify/".into(),
        },
    ] {
        f.secret_source = source;
        keys(&serde_json::to_value(View::new(&f, Lang::En)).unwrap(), &mut fields);
    }
    for nested in [
        "same_as",
        "variable",
        "read_as",
        "init",
        "kref",
        "archive",
        "answered",
        "internet_except",
        "data_plane_namespace",
        "sources",
    ] {
        assert!(fields.contains(nested), "the views lack `{nested}`");
    }
    let used = |t: &str| identifiers(t).intersection(&fields).cloned().collect::<Vec<_>>();
    let (en, ja) = (used(TEMPLATE_EN), used(TEMPLATE_JA));
    assert!(!en.is_empty());
    let only = |a: &[String], b: &[String]| a.iter().filter(|x| !b.contains(x)).cloned().collect::<Vec<_>>();
    assert_eq!(only(&en, &ja), Vec::<String>::new(), "facts only the English template uses");
    assert_eq!(only(&ja, &en), Vec::<String>::new(), "facts only the Japanese template uses");
}

/// A product other than Dify is named in the title, the headings and their anchors.
#[test]
fn another_product_is_named_throughout() {
    let mut f = fixture();
    f.guide.product = Some("Acme Chat".into());
    let [en, ja] = both(&f);
    assert!(en.starts_with("# Acme Chat on Kubernetes\n"), "{en}");
    assert!(en.contains("for Acme Chat 1.14.1, generated by `compose2dify` from Acme Chat's Docker Compose setup"));
    assert!(en.contains("## Removing Acme Chat\n"));
    assert!(en.contains("(see [Removing Acme Chat](#removing-acme-chat))"));
    assert!(en.contains("### Moving to a new Acme Chat release"));
    assert!(ja.starts_with("# Acme Chat の Kubernetes デプロイ\n"), "{ja}");
    assert!(ja.contains("## Acme Chat の削除\n"));
    assert!(ja.contains("（[Acme Chat の削除](#acme-chat-の削除) を参照）"));
}

/// The rules' traffic paths: a missing optional hop ends a path, a missing required hop drops
/// it, and a workload is shown once per path.
#[test]
fn traffic_paths_follow_the_rules() {
    let mut f = fixture();
    let paths = |f: &Facts| Lookup { f }.traffic_paths();
    assert_eq!(
        paths(&f),
        [
            "Internet -> nginx -> web, api, api-websocket",
            "api, api-websocket, worker, worker-beat, plugin-daemon -> postgres, redis",
            "api, worker -> weaviate",
            "api -> sandbox -> ssrf-proxy -> Internet",
            "api, worker -> ssrf-proxy -> Internet",
            "api <-> plugin-daemon",
        ]
    );
    f.workloads.retain(|w| !["ssrf-proxy", "web", "api-websocket", "api"].contains(&w.name.as_str()));
    assert_eq!(
        paths(&f),
        ["Internet -> nginx", "worker, worker-beat, plugin-daemon -> postgres, redis", "worker -> weaviate"]
    );
}

/// The rules' reasons are said in the guide's language: Japanese where the rules give it.
#[test]
fn reasons_in_the_guide_s_language() {
    let mut f = fixture();
    f.ja.insert("TLS comes from the cluster".into(), "TLS はクラスター側で用意します".into());
    f.ja.insert("image needs its own UID".into(), "イメージ自身の UID が必要です".into());
    let [en, ja] = both(&f);
    assert!(en.contains("| `certbot` | TLS comes from the cluster |"));
    assert!(ja.contains("| `certbot` | TLS はクラスター側で用意します |"));
    assert!(ja.contains("| イメージ自身の UID が必要です |"));
    // No Japanese given: the English.
    assert!(ja.contains("| `init_permissions` | replaced by fsGroup \\| initContainer |"), "{ja}");
}

/// A service running in another's pod (network_mode) is named in its host's purpose, in the
/// guide's language.
#[test]
fn containers_sharing_a_pod_are_named_in_both_languages() {
    let mut f = fixture();
    f.workloads.iter_mut().filter(|w| w.name == "sandbox").for_each(|w| w.joined = vec!["vpn".into()]);
    let [en, ja] = both(&f);
    assert!(en.contains("- **Purpose**: Purpose of sandbox; its pod also runs `vpn` as a container"), "{en}");
    assert!(
        ja.contains("。Pod 内で `vpn` もコンテナとして動きます（compose の network_mode: localhost を共有）"),
        "{ja}"
    );
}

#[test]
fn deterministic_and_single_trailing_newline() {
    let f = fixture();
    for lang in [Lang::En, Lang::Ja] {
        let a = render(&f, lang);
        let b = render(&f.clone(), lang);
        assert_eq!(a, b);
        assert!(a.ends_with('\n'));
        assert!(!a.ends_with("\n\n"));
        assert!(!a.contains("\n\n\n"));
        assert!(a.lines().all(|l| l == l.trim_end()));
    }
}

#[test]
fn empty_facts_do_not_panic() {
    let f = Facts {
        namespace: "dify".into(),
        release: None,
        guide: crate::rules::Guide::default(),
        workloads: vec![],
        secret_files: vec![],
        secrets: vec![],
        secret_source: SecretSource::Files,
        shared_claim: None,
        storage: StorageFacts::default(),
        config_map: "dify-config".into(),
        omitted: vec![],
        security_findings: vec![],
        migration_job: None,
        cluster_domain: "cluster.local".into(),
        spread_key: Some("kubernetes.io/hostname".into()),
        fqdn_users: vec![],
        inherit_env_source: vec![],
        public_urls: vec![],
        ja: Default::default(),
        choices: vec![],
        pod_security: PodSecurityView::default(),
        operations: Default::default(),
        cluster_ranges: Vec::new(),
        allowed_ranges: Vec::new(),
    };
    for out in both(&f) {
        assert!(out.ends_with('\n') && !out.ends_with("\n\n"));
        assert!(out.contains("kubectl apply -k ."));
        assert_commands_reference_existing(&f, &out);
    }
}

#[test]
fn japanese_uses_known_purposes_and_falls_back() {
    let mut f = fixture();
    f.workloads.push(WorkloadFacts {
        name: "qdrant".into(),
        secret_keys: Vec::new(),
        reached_by: Vec::new(),
        upstream: "qdrant".into(),
        kind: "StatefulSet".into(),
        object_name: "qdrant".into(),
        replicas: 1,
        ports: vec![6333],
        service_type: Some("ClusterIP".into()),
        probe: None,
        liveness: None,
        claims: vec![],
        image: "qdrant/qdrant".into(),
        role: Some("custom".into()),
        description: Some("Custom vector store".into()),
        joined: Vec::new(),
        non_root_user: None,
        security: SecurityFacts::default(),
        init_security: Vec::new(),
        ingress: None,
        route: None,
        http_probe: None,
        pdb: false,
        egress: None,
        proxy_denies: vec![],
        env: Default::default(),
    });
    let ja = render(&f, Lang::Ja);
    assert!(ja.contains("メインデータベース"));
    assert!(ja.contains("Custom vector store"));
    let en = render(&f, Lang::En);
    assert!(en.contains("Purpose of postgres"));
}

/// The image's repository, without registry, `library/` and tag, picks the backup of a workload the
/// rules name no backup for: a database gets its dump tool, and its claim leaves the file copy.
#[test]
fn known_database_images_are_dumped_not_copied() {
    assert_eq!(crate::plan::image_repository("docker.io/library/postgres:16@sha256:ab"), "postgres");
    assert_eq!(crate::plan::image_repository("localhost:5000/mysql:8"), "mysql");
    assert_eq!(crate::plan::image_repository("bitnami/redis:7"), "bitnami/redis");
    let mut f = fixture();
    f.guide.backup_images = [("mysql".to_string(), crate::rules::Backup::Mysqldump)].into_iter().collect();
    let mut db = f.workloads.iter().find(|w| w.name == "api").cloned().expect("api");
    db.name = "db".into();
    db.object_name = "db".into();
    db.image = "mysql:8.0".into();
    db.role = None;
    db.claims = vec![claim("db", "10Gi", "ReadWriteOnce", "/var/lib/mysql")];
    db.env = ["MYSQL_ROOT_PASSWORD".to_string(), "MYSQL_DATABASE".to_string()].into_iter().collect();
    f.workloads.push(db);
    for out in both(&f) {
        assert!(out.contains(
            r#"exec mysqldump --single-transaction --no-tablespaces -uroot -p"$MYSQL_ROOT_PASSWORD" "$MYSQL_DATABASE""#
        ));
        assert!(out.contains(r#"exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD" "$MYSQL_DATABASE""#));
        assert!(!out.contains("-C /var/lib/mysql"), "a database's files are not copied while it runs");
        assert!(out.contains("kubectl wait -n dify --for=delete pod -l"));
    }
}

/// The public URL's regeneration shows the recorded choices, the changed flag replaced; the
/// migration Job's sentence needs a Job; without the rules' scale examples no workload is named.
#[test]
fn regenerations_repeat_the_choices() {
    let mut f = fixture();
    f.choices = vec!["--secrets external-secrets".into(), "--public-url https://old.example.com".into()];
    f.public_urls[0].value = "https://old.example.com".into();
    f.migration_job = None;
    f.guide.examples.scale.clear();
    for out in both(&f) {
        assert!(out.contains("-o k8s --secrets external-secrets --public-url https://NEW-ADDRESS\n"), "{out}");
        // A run over the tree starts from its choices: changing one names only that flag.
        assert!(out.contains("-o k8s --FLAG VALUE\n"), "{out}");
        assert!(!out.contains("--public-url https://old.example.com --public-url"));
        assert!(!out.contains("api-migrate"), "no migration Job, no word of one");
        assert!(out.contains("kubectl scale deployment/<name> --replicas=N -n dify"));
    }
}

/// A MongoDB official image is saved with `mongodump` as the root user its settings create, and
/// restored with `mongorestore --drop`; several databases each get their section.
#[test]
fn mongo_and_postgres_side_by_side() {
    let mut f = fixture();
    f.guide.backup_images = [("mongo".to_string(), crate::rules::Backup::Mongodump)].into_iter().collect();
    let mut db = f.workloads.iter().find(|w| w.name == "api").cloned().expect("api");
    db.name = "docs".into();
    db.object_name = "docs".into();
    db.image = "docker.io/library/mongo:7".into();
    db.role = None;
    db.claims = vec![claim("docs", "10Gi", "ReadWriteOnce", "/data/db")];
    db.env = ["MONGO_INITDB_ROOT_USERNAME".to_string()].into_iter().collect();
    f.workloads.push(db);
    for out in both(&f) {
        let auth =
            r#"-u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin"#;
        assert!(out.contains(&format!("sh -c 'exec mongodump --archive {auth}' > docs.archive")), "{out}");
        assert!(out.contains(&format!("sh -c 'exec mongorestore --archive --drop {auth}' < docs.archive")));
        assert!(out.contains("pg_dumpall"), "the rules' postgres keeps its dump");
        assert!(!out.contains("-C /data/db"));
    }
}
