//! What every container of the tree carries: where its settings come from, its resources, its
//! security context and its probes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, EnvFromSource, ExecAction, HTTPGetAction, Probe as K8sProbe,
    ResourceRequirements, SeccompProfile, SecretEnvSource, SecurityContext, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::plan::{Plan, ProbeAction, Workload};

/// The ConfigMaps and Secrets the containers read all their settings from.
pub(super) fn env_from(plan: &Plan, w: &Workload) -> Option<Vec<EnvFromSource>> {
    let mut env_from = Vec::new();
    let cm = |name: String| EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource { name, ..Default::default() }),
        ..Default::default()
    };
    let sec = |name: String| EnvFromSource {
        secret_ref: Some(SecretEnvSource { name, ..Default::default() }),
        ..Default::default()
    };
    if w.uses_shared {
        env_from.push(cm(plan.config_map.clone()));
    }
    if !w.config.is_empty() {
        env_from.push(cm(format!("{}-config", w.name)));
    }
    if w.uses_shared && !plan.shared_secrets.is_empty() {
        env_from.push(sec(plan.shared_secret.clone()));
    }
    if !w.secrets.is_empty() {
        env_from.push(sec(format!("{}-secret", w.name)));
    }
    (!env_from.is_empty()).then_some(env_from)
}

pub(super) fn resources(w: &Workload) -> ResourceRequirements {
    ResourceRequirements {
        requests: quantity_map(&w.resources.requests),
        limits: quantity_map(&w.resources.limits),
        ..Default::default()
    }
}

fn quantity_map(m: &BTreeMap<String, String>) -> Option<BTreeMap<String, Quantity>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect())
}

pub(super) fn container_security(w: &Workload) -> SecurityContext {
    security_context(&w.security)
}

pub(super) fn security_context(s: &crate::rules::Security) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: s.allow_privilege_escalation,
        capabilities: Some(Capabilities {
            add: s.add_capabilities.clone().filter(|a| !a.is_empty()),
            drop: s.drop_capabilities.clone(),
        }),
        read_only_root_filesystem: s.read_only_root,
        privileged: s.privileged,
        run_as_non_root: s.run_as_non_root,
        run_as_user: s.run_as_user,
        run_as_group: s.run_as_group,
        seccomp_profile: s.seccomp.clone().map(|t| SeccompProfile { type_: t, ..Default::default() }),
        ..Default::default()
    }
}

pub(super) fn probe(w: &Workload, startup: bool) -> K8sProbe {
    probe_with(w, &w.probe.action, startup)
}

/// A probe of the workload's timings that runs `action`.
pub(super) fn probe_with(w: &Workload, action: &ProbeAction, startup: bool) -> K8sProbe {
    let p = &w.probe;
    let mut probe = K8sProbe {
        period_seconds: Some(p.period_seconds),
        timeout_seconds: Some(p.timeout_seconds),
        failure_threshold: Some(p.failure_threshold),
        ..Default::default()
    };
    match action {
        ProbeAction::Http { path, port } => {
            probe.http_get = Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::Int(i32::from(*port)),
                ..Default::default()
            })
        }
        ProbeAction::Tcp(port) => {
            probe.tcp_socket = Some(TCPSocketAction { port: IntOrString::Int(i32::from(*port)), ..Default::default() })
        }
        ProbeAction::Exec(argv) => probe.exec = Some(ExecAction { command: Some(argv.clone()) }),
    }
    if let (true, Some((period, failures))) = (startup, p.startup) {
        probe.period_seconds = Some(period);
        probe.failure_threshold = Some(failures);
    }
    probe
}
