//! The Services of a workload: the one its clients use and, for a StatefulSet, the headless one
//! that governs it; and the ports a workload serves, which its containers and network policies
//! name the same way.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::folder::Folder;
use super::meta::{meta, selector_labels};
use super::yaml_text::to_yaml;
use crate::plan::{Plan, Workload};
use crate::rules::Kind;

/// The workload's Services, when it serves.
pub(super) fn add_services(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if w.serves() {
        let mut services = vec![service(plan, w, labels.clone())];
        if w.kind == Kind::StatefulSet {
            services.push(governing_service(plan, w, labels.clone()));
        }
        folder.add("service.yaml", to_yaml(&services));
    }
}

fn service(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> Service {
    Service {
        metadata: meta(plan, &w.name, labels),
        spec: Some(ServiceSpec {
            type_: Some(w.service_type.clone()),
            selector: Some(selector_labels(plan, &w.name)),
            ports: Some(service_ports(w)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every container port, on the same port number; a Service reached from outside the cluster
/// (not ClusterIP) also listens on the host ports compose publishes (`"8080:80"`: 8080 → 80).
fn service_ports(w: &Workload) -> Vec<ServicePort> {
    let mut ports: Vec<ServicePort> = protocol_ports(w)
        .map(|(p, protocol)| ServicePort {
            name: Some(port_name(p, protocol)),
            port: i32::from(p),
            target_port: Some(IntOrString::Int(i32::from(p))),
            protocol: Some(protocol.into()),
            ..Default::default()
        })
        .collect();
    if w.service_type != "ClusterIP" {
        for (container, host, protocol) in &w.published {
            let Some(host) = host.filter(|h| h != container) else { continue };
            let taken = ports.iter().any(|p| p.port == i32::from(host) && p.protocol.as_deref() == Some(*protocol));
            if !taken {
                ports.push(ServicePort {
                    name: Some(format!("pub-{}-{host}", protocol.to_ascii_lowercase())),
                    port: i32::from(host),
                    target_port: Some(IntOrString::Int(i32::from(*container))),
                    protocol: Some((*protocol).into()),
                    ..Default::default()
                });
            }
        }
    }
    ports
}

/// The headless Service that governs a StatefulSet (stable pod names `<name>-0.<name>-headless`);
/// clients keep using the ordinary Service.
fn governing_service(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> Service {
    let mut svc = service(plan, w, labels);
    svc.metadata.name = Some(governing_service_name(w));
    if let Some(spec) = svc.spec.as_mut() {
        spec.type_ = Some("ClusterIP".into());
        spec.cluster_ip = Some("None".into());
    }
    svc
}

pub(super) fn governing_service_name(w: &Workload) -> String {
    let base: String = w.name.chars().take(63 - "-headless".len()).collect();
    format!("{}-headless", base.trim_end_matches('-'))
}

/// Every container port with its protocol: TCP ones first.
pub(super) fn protocol_ports(w: &Workload) -> impl Iterator<Item = (u16, &'static str)> + '_ {
    w.ports.iter().map(|p| (*p, "TCP")).chain(w.udp_ports.iter().map(|p| (*p, "UDP")))
}

pub(super) fn port_name(p: u16, protocol: &str) -> String {
    match (p, protocol) {
        (80, "TCP") => "http".into(),
        (443, "TCP") => "https".into(),
        _ => format!("{}-{p}", protocol.to_ascii_lowercase()),
    }
}
