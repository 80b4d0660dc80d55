//! Config files and folded one-shot services: a helper the rules fold runs as an init container of
//! every pod that mounts what it prepares; templates get the service's settings and derived values.

use super::*;
use crate::choices::Choices;
use crate::plan::files::{folded_inits, template_vars};
use crate::plan::storage::mounts;
use crate::plan::VolumeSource;
use crate::read::compose::Command;
use crate::read::project::HostPath;

#[test]
fn a_folded_helper_runs_as_an_init_container_on_the_claim_it_prepares() {
    let helper = Service {
        command: Some(Command::Exec(vec!["sh".into(), "-c".into(), "chown -R 1001 /data && nc -z db 5432".into()])),
        volumes: vec![bind("./storage", "/data")],
        ..service("init_permissions", "busybox:1.36")
    };
    let api = Service { volumes: vec![bind("./storage", "/app/storage")], ..service("api", "example/api:1.0") };
    let web = service("web", "nginx:1.27");
    let project = project(vec![helper, api, web, service("db", "postgres:16")]);
    let rules = rules(
        "services:\n  init_permissions:\n    kind: Fold\n    reason: it prepares the storage\n    fold:\n      security: {run_as_user: 0, run_as_non_root: false, add_capabilities: [CHOWN]}\n  db:\n    name: postgres\n  api: {}\n  web: {}\n",
    );
    with_ctx(&project, &rules, |ctx, warnings| {
        assert_eq!(ctx.sel.deployed, ["api", "web", "postgres"], "the helper is no workload of its own");
        let mut inits = |i: usize| {
            let (svc, rule) = ctx.sel.chosen[i];
            let name = ctx.sel.name(svc).to_string();
            let m = mounts(ctx, (svc, rule), &name, ctx.sel.kinds[i], &BTreeMap::new(), &mut BTreeMap::new(), warnings);
            (folded_inits(svc, &ctx.sel.folded, &m.volumes, ctx.rules, &ctx.sel.hosts), m.volumes)
        };
        let (on_api, volumes) = inits(0);
        assert_eq!(on_api.len(), 1, "{on_api:?}");
        let init = &on_api[0];
        assert_eq!((init.name.as_str(), init.image.as_str()), ("init-permissions", "busybox:1.36"));
        // Its own command, at its own mount path, on the pod volume of the folder they share.
        assert_eq!(init.command[2], "chown -R 1001 /data && nc -z postgres 5432", "hosts renamed");
        assert_eq!(init.mount_path, "/data");
        let claim = volumes.iter().find(|v| v.name == init.volume).expect("the volume it runs on");
        assert!(matches!(claim.source, VolumeSource::Claim(_)), "{claim:?}");
        // The fold rule's security over the defaults: root with CHOWN, everything else dropped.
        assert_eq!(init.security.run_as_user, Some(0));
        assert_eq!(init.security.add_capabilities.as_deref(), Some(&["CHOWN".to_string()][..]));
        assert_eq!(init.security.drop_capabilities.as_deref(), Some(&["ALL".to_string()][..]));
        assert_eq!(init.reason.as_deref(), Some("it prepares the storage"));
        // web mounts nothing the helper prepares: no init container there.
        assert!(inits(1).0.is_empty());
    });
}

#[test]
fn template_variables_are_the_settings_then_derived_values() {
    let nginx = Service {
        volumes: vec![bind("./proxy.conf.template", "/etc/nginx/proxy.conf")],
        ..service("nginx", "nginx:1.27")
    };
    let mut project = project(vec![nginx]);
    project
        .host_paths
        .insert("./proxy.conf.template".into(), HostPath::File("proxy_pass http://${UPSTREAM};\n".into()));
    let rules = rules(
        "services:\n  nginx:\n    templates: {/etc/nginx/proxy.conf: /etc/nginx/conf.d/proxy.conf}\n    template_vars:\n      UPSTREAM: {value: '${API_HOST}:5001'}\n      HTTPS_CONFIG: {when: HTTPS_ENABLED, value: include https.conf;}\n      PROXY_CONFIG: {template: /etc/nginx/proxy.conf}\n",
    );
    let svc = &project.services["nginx"];
    let env = BTreeMap::from([("API_HOST".to_string(), "api".to_string()), ("HTTPS_ENABLED".into(), "false".into())]);
    let vars = template_vars(rules.service("nginx").unwrap(), &rules, &Choices::default(), &env, &project, svc);
    assert_eq!(vars["API_HOST"], "api", "the service's own settings");
    assert_eq!(vars["UPSTREAM"], "api:5001", "a value interpolated with them");
    assert_eq!(vars["HTTPS_CONFIG"], "", "off while its `when` setting is not true");
    assert_eq!(vars["PROXY_CONFIG"], "proxy_pass http://api:5001;\n", "a template rendered with the ones before it");
    // Derived by the tool: the cluster's names, for a proxy's deny rule.
    assert!(vars["COMPOSE2DIFY_CLUSTER_NAMES"].contains(".cluster.local"), "{vars:?}");
}
