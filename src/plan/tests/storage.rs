//! Storage: each compose mount becomes a claim, config files, an emptyDir or nothing, as it is.

use super::*;
use crate::plan::storage::mounts;
use crate::plan::VolumeSource;
use crate::read::project::HostPath;
use crate::rules::Kind;

#[test]
fn each_mount_becomes_what_it_is_on_a_cluster() {
    let app = Service {
        volumes: vec![
            volume("app_data", "/var/lib/app"),
            bind("./nginx.conf", "/etc/nginx/nginx.conf"),
            bind("./uploads", "/srv/uploads"),
            Mount { read_only: true, ..bind("/etc/ssl/certs", "/certs") },
            bind("./shared", "/shared"),
        ],
        tmpfs: vec!["/run:size=64m".into()],
        ..service("app", "nginx:1.27")
    };
    let mut project = project(vec![app]);
    project.host_paths.insert("./nginx.conf".into(), HostPath::File("events {}\n".into()));
    let rules = rules("shared_claims:\n  app-shared: {source: ./shared, size: 5Gi, access_mode: ReadWriteMany}\n");
    with_ctx(&project, &rules, |ctx, warnings| {
        let (svc, rule) = ctx.sel.chosen[0];
        let mut shared = BTreeMap::new();
        let m = mounts(ctx, (svc, rule), "app", Kind::Deployment, &BTreeMap::new(), &mut shared, warnings);
        let at =
            |path: &str| m.volumes.iter().find(|v| v.mounts.iter().any(|mt| mt.path == path)).map(|v| v.source.clone());
        // A named volume: a claim of its own name.
        assert_eq!(at("/var/lib/app"), Some(VolumeSource::Claim("app-data".into())));
        // A file beside the compose file: the workload's ConfigMap, mounted file by file.
        assert_eq!(at("/etc/nginx/nginx.conf"), Some(VolumeSource::Files));
        assert_eq!(m.files.values().collect::<Vec<_>>(), ["events {}\n"]);
        // A folder Docker makes at run time: data, a claim named after the service and the path.
        let Some(VolumeSource::Claim(uploads)) = at("/srv/uploads") else { panic!("{:?}", m.volumes) };
        assert!(uploads.starts_with("app-") && uploads.contains("uploads"), "{uploads}");
        let names: Vec<&str> = m.claims.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"app-data") && names.contains(&uploads.as_str()), "{names:?}");
        // A path of the Docker host mounted read-only: the cluster has no such files; nothing, said.
        assert_eq!(at("/certs"), None);
        assert!(said(warnings, "mounts `/etc/ssl/certs` of the Docker host read-only"), "{warnings:?}");
        // A folder the rules share between workloads: the shared claim, made once.
        assert_eq!(at("/shared"), Some(VolumeSource::SharedClaim("app-shared".into())));
        assert_eq!(shared["app-shared"].access_mode, "ReadWriteMany");
        // tmpfs: memory.
        assert_eq!(at("/run"), Some(VolumeSource::EmptyDir { memory: true, size: None }));
    });
}
