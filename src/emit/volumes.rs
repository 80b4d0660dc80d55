//! A pod's volumes and mounts: its claims, its files (from the workload's `-files` ConfigMap), its
//! scratch space, and the init containers that seed a claim with files or run a folded one-shot
//! service on it.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EmptyDirVolumeSource, KeyToPath, PersistentVolumeClaimVolumeSource,
    Volume as K8sVolume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::container::{container_security, resources, security_context};
use crate::plan::{Job as PlannedJob, VolumeSource, Workload};
use crate::rules::Kind;

/// The pod's volumes, the main container's mounts, and the init containers that seed claims with
/// config files (StatefulSet claims come from its templates, mounted under the claim's name).
pub(super) fn pod_volumes(
    w: &Workload,
    job: Option<&PlannedJob>,
) -> (Vec<K8sVolume>, Vec<VolumeMount>, Vec<Container>) {
    let sts = w.kind == Kind::StatefulSet;
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let mut init_containers = Vec::new();
    for v in job.map_or(&w.volumes, |j| &j.volumes) {
        // A StatefulSet's own claims come from its templates, mounted under the claim's name.
        let mount_name = match &v.source {
            VolumeSource::Claim(claim) if sts => claim.clone(),
            _ => v.name.clone(),
        };
        let source = match &v.source {
            VolumeSource::Claim(_) if sts => None,
            VolumeSource::SharedClaim(claim) | VolumeSource::Claim(claim) => Some(K8sVolume {
                name: v.name.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            VolumeSource::Files => Some(files_volume(&v.name, w, None)),
            VolumeSource::EmptyDir { memory, size } => Some(K8sVolume {
                name: v.name.clone(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: memory.then(|| "Memory".to_string()),
                    size_limit: size.clone().map(Quantity),
                }),
                ..Default::default()
            }),
        };
        volumes.extend(source);
        for m in &v.mounts {
            mounts.push(VolumeMount {
                name: mount_name.clone(),
                mount_path: m.path.clone(),
                sub_path: m.sub_path.clone(),
                read_only: m.read_only.then_some(true),
                ..Default::default()
            });
        }
        if let Some(seed_container) = v.seed_container() {
            let seed_volume = format!("{}-seed", v.name);
            volumes.push(files_volume(&seed_volume, w, Some(&v.seed)));
            init_containers.push(Container {
                name: seed_container,
                image: Some(w.image.clone()),
                command: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "for f in /seed/*; do cp \"$f\" \"/target/$(basename \"$f\")\"; done".into(),
                ]),
                volume_mounts: Some(vec![
                    VolumeMount {
                        name: seed_volume,
                        mount_path: "/seed".into(),
                        read_only: Some(true),
                        ..Default::default()
                    },
                    VolumeMount { name: mount_name.clone(), mount_path: "/target".into(), ..Default::default() },
                ]),
                resources: Some(resources(w)),
                security_context: Some(container_security(w)),
                ..Default::default()
            });
        }
    }
    (volumes, mounts, init_containers)
}

/// The folded one-shot services as init containers, on the volume they share with the pod.
pub(super) fn folded_containers(w: &Workload, volumes: &[K8sVolume]) -> Vec<Container> {
    w.folded
        .iter()
        .filter(|f| volumes.iter().any(|v| v.name == f.volume))
        .map(|f| Container {
            name: f.name.clone(),
            image: Some(f.image.clone()),
            command: Some(f.command.clone()),
            volume_mounts: Some(vec![VolumeMount {
                name: f.volume.clone(),
                mount_path: f.mount_path.clone(),
                ..Default::default()
            }]),
            resources: Some(resources(w)),
            security_context: Some(security_context(&f.security)),
            ..Default::default()
        })
        .collect()
}

fn files_volume(name: &str, w: &Workload, only: Option<&Vec<String>>) -> K8sVolume {
    K8sVolume {
        name: name.to_string(),
        config_map: Some(ConfigMapVolumeSource {
            name: format!("{}-files", w.name),
            items: only.map(|keys| {
                keys.iter().map(|k| KeyToPath { key: k.clone(), path: k.clone(), ..Default::default() }).collect()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
