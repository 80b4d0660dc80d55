//! The Ingress of a workload reached through `--ingress`.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::folder::Folder;
use super::meta::meta;
use super::yaml_text::to_yaml;
use crate::plan::{Plan, Workload};
use crate::rules::IngressRule as IngressChoice;

/// The workload's Ingress, when it has one and serves.
pub(super) fn add_ingress(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if let (Some(rule), false) = (&w.ingress, !w.serves()) {
        folder.add("ingress.yaml", to_yaml(&[ingress(plan, w, rule, labels.clone())]));
    }
}

fn ingress(plan: &Plan, w: &Workload, rule: &IngressChoice, labels: BTreeMap<String, String>) -> Ingress {
    let port = rule.port.or_else(|| w.ports.first().copied()).unwrap_or(80);
    let metadata = ObjectMeta {
        annotations: (!rule.annotations.is_empty()).then(|| rule.annotations.clone()),
        ..meta(plan, &w.name, labels)
    };
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: rule.class.clone(),
            tls: rule.tls_secret.as_ref().map(|secret| {
                vec![IngressTLS { hosts: Some(vec![rule.host.clone()]), secret_name: Some(secret.clone()) }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(rule.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: w.name.clone(),
                                port: Some(ServiceBackendPort { number: Some(i32::from(port)), ..Default::default() }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
