//! Plan → Kubernetes objects (k8s-openapi types) → the files of the output tree. Emitters never
//! decide anything; every choice was made in the plan.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec, DeploymentStrategy,
    RollingUpdateDaemonSet, RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, ExecAction, HTTPGetAction, KeyToPath, Namespace, NodeAffinity,
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe as K8sProbe,
    ResourceRequirements, SeccompProfile, Secret, SecretEnvSource, SecurityContext, Service, ServiceAccount,
    ServicePort, ServiceSpec, TCPSocketAction, TopologySpreadConstraint, Volume as K8sVolume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use serde::Serialize;

pub mod external_secret;
pub mod gateway_api;
mod writer;

use crate::plan::{Claim, Job as PlannedJob, OneShot, Plan, ProbeAction, VolumeSource, Workload};
use crate::rules::{IngressRule as IngressChoice, Kind, SecretSource};
use crate::tree::Tree;

pub const MANAGED_BY: &str = "compose2dify";

/// kustomize's Kustomization file (not a Kubernetes API object, so not in k8s-openapi).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: &'static str,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub resources: Vec<String>,
    /// kustomize's image transformer: one entry per image name of the tree, so one place pins a
    /// digest or moves an image to another registry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<KustomizeImage>,
}

/// An entry of a Kustomization's `images:` list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeImage {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Kustomization {
    pub fn new(namespace: Option<&str>, resources: Vec<String>) -> Self {
        Self {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            namespace: namespace.map(str::to_string),
            resources,
            images: Vec::new(),
        }
    }
}

/// The `images:` list of the tree's top Kustomization: every image name with the tag (or digest)
/// it runs (none for an untagged image), which rewrites nothing until an operator changes it. A name that runs with two tags
/// gets no tag (one entry would move both).
pub fn kustomize_images(plan: &Plan) -> Vec<KustomizeImage> {
    let mut out: Vec<KustomizeImage> = Vec::new();
    for image in plan.images_in_tree() {
        let (name, tag, digest) = crate::plan::image_parts(image);
        let entry = KustomizeImage {
            name: name.to_string(),
            // An untagged image stays untagged (`latest` written out would change what kustomize renders).
            new_tag: tag.filter(|_| digest.is_none()).map(str::to_string),
            digest: digest.map(str::to_string),
        };
        match out.iter_mut().find(|e| e.name == entry.name) {
            Some(e) if e.new_tag != entry.new_tag || e.digest != entry.digest => {
                e.new_tag = None;
                e.digest = None;
            }
            Some(_) => {}
            None => out.push(entry),
        }
    }
    out
}

/// A ConfigMap over borrowed data: the fields of k8s-openapi's `ConfigMap` we fill, serialized in
/// its order (apiVersion, kind, binaryData, data, metadata), so a workload's settings and files are
/// written without being copied into an object first.
struct ConfigMapOf<'a> {
    metadata: ObjectMeta,
    data: Option<&'a BTreeMap<String, String>>,
    binary_data: Option<BTreeMap<String, ByteString>>,
}

impl Serialize for ConfigMapOf<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use k8s_openapi::Resource;
        use serde::ser::SerializeStruct;
        let fields = 3 + usize::from(self.binary_data.is_some()) + usize::from(self.data.is_some());
        let mut state = serializer.serialize_struct(ConfigMap::KIND, fields)?;
        state.serialize_field("apiVersion", ConfigMap::API_VERSION)?;
        state.serialize_field("kind", ConfigMap::KIND)?;
        if let Some(value) = &self.binary_data {
            state.serialize_field("binaryData", value)?;
        }
        if let Some(value) = self.data {
            state.serialize_field("data", value)?;
        }
        state.serialize_field("metadata", &self.metadata)?;
        state.end()
    }
}

/// A Secret template over borrowed data, in the order of k8s-openapi's `Secret` (apiVersion, kind,
/// metadata, stringData, type).
struct SecretOf<'a> {
    metadata: ObjectMeta,
    string_data: &'a BTreeMap<String, String>,
    type_: &'a str,
}

impl Serialize for SecretOf<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use k8s_openapi::Resource;
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct(Secret::KIND, 5)?;
        state.serialize_field("apiVersion", Secret::API_VERSION)?;
        state.serialize_field("kind", Secret::KIND)?;
        state.serialize_field("metadata", &self.metadata)?;
        state.serialize_field("stringData", self.string_data)?;
        state.serialize_field("type", self.type_)?;
        state.end()
    }
}

/// The one serializer: every emitted document goes through here. Each is written by the direct
/// writer (`writer`, the same bytes as `yaml_serde`), or by `yaml_serde` when it has a shape the
/// writer leaves to it.
pub fn to_yaml<T: Serialize>(docs: &[T]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let start = out.len();
        if writer::write(doc, &mut out).is_err() {
            out.truncate(start);
            out.push_str(&yaml_serde::to_string(doc).unwrap_or_else(|e| format!("# serialization failed: {e}\n")));
        }
    }
    out
}

/// Several objects of different kinds in one file.
pub fn docs(parts: Vec<String>) -> String {
    parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("---\n")
}

pub fn part_of_labels(plan: &Plan) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/part-of".to_string(), plan.instance.clone()),
        ("app.kubernetes.io/managed-by".to_string(), MANAGED_BY.to_string()),
    ])
}

fn selector_labels(plan: &Plan, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), name.to_string()),
        ("app.kubernetes.io/instance".to_string(), plan.instance.clone()),
    ])
}

fn workload_labels(plan: &Plan, w: &Workload) -> BTreeMap<String, String> {
    let mut l = part_of_labels(plan);
    l.extend(selector_labels(plan, &w.name));
    if let Some(role) = &w.role {
        l.insert("app.kubernetes.io/component".into(), role.clone());
    }
    if let Some(tag) = crate::plan::image_tag(&w.image) {
        let tag: String =
            tag.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(63).collect();
        if !tag.is_empty() {
            l.insert("app.kubernetes.io/version".into(), tag);
        }
    }
    l
}

fn meta(plan: &Plan, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(plan.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

fn quantity_map(m: &BTreeMap<String, String>) -> Option<BTreeMap<String, Quantity>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect())
}

/// Write the whole tree for a plan (except README.md, GENERATED.md and scripts, see `layout`).
pub fn emit(plan: &Plan, tree: &mut Tree) {
    base(plan, tree);
    let mut top = vec!["base".to_string()];
    top.extend(plan.workloads.iter().filter_map(|w| workload_folder(plan, w, tree)));
    let mut kustomization = Kustomization::new(None, top);
    kustomization.images = kustomize_images(plan);
    tree.add("kustomization.yaml", to_yaml(&[kustomization]));
}

/// `base/`: the namespace, the shared ConfigMap, Secret and claims, and the network policies.
fn base(plan: &Plan, tree: &mut Tree) {
    let common = part_of_labels(plan);

    // The Pod Security Standard every pod of the tree meets is enforced; "restricted" is warned
    // and audited, so what keeps a pod from it shows.
    let mut labels = common.clone();
    labels.insert("pod-security.kubernetes.io/enforce".into(), plan.pod_security.name().into());
    labels.insert("pod-security.kubernetes.io/warn".into(), "restricted".into());
    labels.insert("pod-security.kubernetes.io/audit".into(), "restricted".into());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(plan.namespace.clone()),
            labels: Some(labels),
            annotations: retain_annotations(plan),
            ..Default::default()
        },
        ..Default::default()
    };
    tree.add("base/namespace.yaml", to_yaml(&[namespace]));
    let config = ConfigMapOf {
        metadata: meta(plan, &plan.config_map, common.clone()),
        data: Some(&plan.shared_config),
        binary_data: None,
    };
    tree.add("base/configmap.yaml", to_yaml(&[config]));
    let mut base_resources = vec!["namespace.yaml".to_string(), "configmap.yaml".to_string()];
    secret(plan, "base", &plan.shared_secret, common.clone(), &plan.shared_secrets, &mut base_resources, tree);
    if !plan.shared_claims.is_empty() {
        let pvcs: Vec<PersistentVolumeClaim> =
            plan.shared_claims.iter().map(|c| pvc(plan, c, common.clone())).collect();
        tree.add("base/pvc.yaml", to_yaml(&pvcs));
        base_resources.push("pvc.yaml".into());
    }
    tree.add("base/networkpolicy.yaml", to_yaml(&network_policies(plan)));
    base_resources.push("networkpolicy.yaml".into());
    let ns = Some(plan.namespace.as_str());
    tree.add("base/kustomization.yaml", to_yaml(&[Kustomization::new(ns, base_resources)]));
}

/// `services/<name>/`: the workload's controller, claims, Service, Ingress, Jobs, ConfigMaps,
/// Secret and budget; its folder, unless it holds nothing (a container of another's pod with no
/// settings, files or claims of its own).
fn workload_folder(plan: &Plan, w: &Workload, tree: &mut Tree) -> Option<String> {
    let dir = format!("services/{}", w.name);
    let mut resources = Vec::new();
    let labels = workload_labels(plan, w);
    controller(plan, w, &dir, &labels, &mut resources, tree);
    if w.joins.is_none() {
        let account = ServiceAccount {
            metadata: ObjectMeta {
                annotations: (!w.service_account_annotations.is_empty()).then(|| w.service_account_annotations.clone()),
                ..meta(plan, &w.name, labels.clone())
            },
            automount_service_account_token: Some(false),
            ..Default::default()
        };
        tree.add(&format!("{dir}/serviceaccount.yaml"), to_yaml(&[account]));
        resources.push("serviceaccount.yaml".into());
    }
    if let Some(a) = &w.autoscale {
        tree.add(&format!("{dir}/hpa.yaml"), to_yaml(&[autoscaler(plan, w, a, labels.clone())]));
        resources.push("hpa.yaml".into());
    }
    if w.serves() {
        let mut services = vec![service(plan, w, labels.clone())];
        if w.kind == Kind::StatefulSet {
            services.push(governing_service(plan, w, labels.clone()));
        }
        tree.add(&format!("{dir}/service.yaml"), to_yaml(&services));
        resources.push("service.yaml".into());
    }
    if let (Some(rule), false) = (&w.ingress, !w.serves()) {
        tree.add(&format!("{dir}/ingress.yaml"), to_yaml(&[ingress(plan, w, rule, labels.clone())]));
        resources.push("ingress.yaml".into());
    }
    if let (Some(route), true) = (&w.route, w.serves()) {
        let metadata = meta(plan, &w.name, labels.clone());
        if let Some(gateway) = crate::emit::gateway_api::gateway(metadata.clone(), route) {
            tree.add(&format!("{dir}/gateway.yaml"), to_yaml(&[gateway]));
            resources.push("gateway.yaml".into());
        }
        tree.add(
            &format!("{dir}/httproute.yaml"),
            to_yaml(&crate::emit::gateway_api::http_routes(metadata, route, &w.name)),
        );
        resources.push("httproute.yaml".into());
    }
    for j in &w.jobs {
        let file = format!("job-{}.yaml", j.label.strip_prefix(&format!("{}-", w.name)).unwrap_or(&j.label));
        tree.add(&format!("{dir}/{file}"), to_yaml(&[job(plan, w, j)]));
        resources.push(file);
    }
    config_maps(plan, w, &dir, &labels, &mut resources, tree);
    if !w.secrets.is_empty() {
        secret(plan, &dir, &format!("{}-secret", w.name), labels.clone(), &w.secrets, &mut resources, tree);
    }
    if w.disruption_budget {
        let pdb = PodDisruptionBudget {
            metadata: meta(plan, &w.name, labels.clone()),
            spec: Some(PodDisruptionBudgetSpec {
                // One pod at a time, however many the autoscaler runs (minAvailable 1 would let a
                // drain take all but one of six).
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(plan, &w.name)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        tree.add(&format!("{dir}/pdb.yaml"), to_yaml(&[pdb]));
        resources.push("pdb.yaml".into());
    }
    if resources.is_empty() {
        return None;
    }
    resources.sort();
    let ns = Some(plan.namespace.as_str());
    tree.add(&format!("{dir}/kustomization.yaml"), to_yaml(&[Kustomization::new(ns, resources)]));
    Some(dir)
}

/// The workload's controller (StatefulSet, DaemonSet, one-shot Job or Deployment) and its own claims.
fn controller(
    plan: &Plan,
    w: &Workload,
    dir: &str,
    labels: &BTreeMap<String, String>,
    resources: &mut Vec<String>,
    tree: &mut Tree,
) {
    // A container of another workload's pod (network_mode) has only its claims here; a
    // StatefulSet's claims are its templates.
    let (file, object) = match (w.kind, &w.one_shot) {
        _ if w.joins.is_some() => (None, None),
        (Kind::StatefulSet, _) => (Some("statefulset.yaml"), Some(to_yaml(&[statefulset(plan, w, labels.clone())]))),
        (Kind::DaemonSet, _) => (Some("daemonset.yaml"), Some(to_yaml(&[daemonset(plan, w, labels.clone())]))),
        (Kind::Job, Some(o)) => (Some("job.yaml"), Some(to_yaml(&[one_shot(plan, w, o, labels.clone())]))),
        _ => (Some("deployment.yaml"), Some(to_yaml(&[deployment(plan, w, labels.clone())]))),
    };
    if let (Some(file), Some(object)) = (file, object) {
        tree.add(&format!("{dir}/{file}"), object);
        resources.push(file.to_string());
    }
    if w.kind != Kind::StatefulSet && !w.claims.is_empty() {
        let pvcs: Vec<PersistentVolumeClaim> = w.claims.iter().map(|c| pvc(plan, c, labels.clone())).collect();
        tree.add(&format!("{dir}/pvc.yaml"), to_yaml(&pvcs));
        resources.push("pvc.yaml".into());
    }
}

/// The workload's `-config` (settings) and `-files` (config files, text and binary) ConfigMaps.
fn config_maps(
    plan: &Plan,
    w: &Workload,
    dir: &str,
    labels: &BTreeMap<String, String>,
    resources: &mut Vec<String>,
    tree: &mut Tree,
) {
    let mut maps = Vec::new();
    if !w.config.is_empty() {
        maps.push(ConfigMapOf {
            metadata: meta(plan, &format!("{}-config", w.name), labels.clone()),
            data: Some(&w.config),
            binary_data: None,
        });
    }
    if !w.files.is_empty() || !w.binary_files.is_empty() {
        maps.push(ConfigMapOf {
            metadata: meta(plan, &format!("{}-files", w.name), labels.clone()),
            data: (!w.files.is_empty()).then_some(&w.files),
            binary_data: (!w.binary_files.is_empty())
                .then(|| w.binary_files.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect()),
        });
    }
    if !maps.is_empty() {
        tree.add(&format!("{dir}/configmap.yaml"), to_yaml(&maps));
        resources.push("configmap.yaml".into());
    }
}

/// A Secret of the tree, as `--secrets` wants it: a template for `secret.yaml` (files, listed), a
/// template only (external: created in the cluster, not listed) or an ExternalSecret (listed).
fn secret(
    plan: &Plan,
    dir: &str,
    name: &str,
    labels: BTreeMap<String, String>,
    data: &BTreeMap<String, String>,
    resources: &mut Vec<String>,
    tree: &mut Tree,
) {
    let metadata = meta(plan, name, labels);
    if let Some(external) = external_secret::for_secret(metadata.clone(), data, &plan.secret_source) {
        tree.add(&format!("{dir}/external-secret.yaml"), to_yaml(&[external]));
        resources.push("external-secret.yaml".into());
        return;
    }
    // Generators (setup-secrets.sh, `compose2dify secrets`) keep these values short enough.
    let limits: Vec<String> = plan
        .secret_max_length
        .iter()
        .filter(|(token, _)| data.values().any(|v| v.contains(token.as_str())))
        .map(|(token, n)| format!("{token}={n}"))
        .collect();
    let mut metadata = metadata;
    if !limits.is_empty() {
        metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(crate::commands::secrets::MAX_LENGTH.into(), limits.join(" "));
    }
    let template = SecretOf { metadata, string_data: data, type_: "Opaque" };
    tree.add(&format!("{dir}/secret.yaml.example"), to_yaml(&[template]));
    match plan.secret_source {
        SecretSource::Files => resources.push("secret.yaml".into()),
        SecretSource::Sops { .. } => resources.push(crate::commands::secrets::SOPS_FILE.into()),
        _ => {}
    }
}

fn pvc(plan: &Plan, c: &Claim, labels: BTreeMap<String, String>) -> PersistentVolumeClaim {
    let metadata = ObjectMeta { annotations: retain_annotations(plan), ..meta(plan, &c.name, labels) };
    PersistentVolumeClaim { metadata, spec: Some(claim_spec(c)), ..Default::default() }
}

/// The plan's annotations for objects that hold data (the Namespace, every claim).
fn retain_annotations(plan: &Plan) -> Option<BTreeMap<String, String>> {
    (!plan.retain_annotations.is_empty()).then(|| plan.retain_annotations.clone())
}

fn claim_spec(c: &Claim) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec![c.access_mode.clone()]),
        storage_class_name: c.storage_class.clone(),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(c.size.clone()))])),
            ..Default::default()
        }),
        ..Default::default()
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

fn governing_service_name(w: &Workload) -> String {
    let base: String = w.name.chars().take(63 - "-headless".len()).collect();
    format!("{}-headless", base.trim_end_matches('-'))
}

/// Every container port with its protocol: TCP ones first.
fn protocol_ports(w: &Workload) -> impl Iterator<Item = (u16, &'static str)> + '_ {
    w.ports.iter().map(|p| (*p, "TCP")).chain(w.udp_ports.iter().map(|p| (*p, "UDP")))
}

fn port_name(p: u16, protocol: &str) -> String {
    match (p, protocol) {
        (80, "TCP") => "http".into(),
        (443, "TCP") => "https".into(),
        _ => format!("{}-{p}", protocol.to_ascii_lowercase()),
    }
}

fn deployment(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> Deployment {
    Deployment {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(DeploymentSpec {
            // An autoscaled Deployment's count is the autoscaler's: applying the tree again must not
            // reset it.
            replicas: w.autoscale.is_none().then_some(w.replicas),
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            strategy: if w.recreate {
                Some(DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() })
            } else {
                w.rollout.as_ref().map(|(surge, unavailable)| DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(int_or_percent(surge)),
                        max_unavailable: Some(int_or_percent(unavailable)),
                    }),
                })
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A HorizontalPodAutoscaler on the Deployment's average CPU use (of its request).
fn autoscaler(
    plan: &Plan,
    w: &Workload,
    a: &crate::rules::AutoscaleRule,
    labels: BTreeMap<String, String>,
) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: meta(plan, &w.name, labels),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: w.kind.object_kind().into(),
                name: w.name.clone(),
            },
            min_replicas: Some(a.min_replicas),
            max_replicas: a.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(a.cpu_percent),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_or_percent(text: &str) -> IntOrString {
    text.parse::<i32>().map_or_else(|_| IntOrString::String(text.to_string()), IntOrString::Int)
}

/// One pod per node (compose's `deploy.mode: global`).
fn daemonset(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> DaemonSet {
    DaemonSet {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            update_strategy: w.rollout.as_ref().map(|(surge, unavailable)| DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_surge: Some(int_or_percent(surge)),
                    max_unavailable: Some(int_or_percent(unavailable)),
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A one-shot service as a Job: named after its pod (see `OneShot`), no probes.
fn one_shot(plan: &Plan, w: &Workload, o: &OneShot, labels: BTreeMap<String, String>) -> Job {
    Job {
        metadata: meta(plan, &o.object_name, labels.clone()),
        spec: Some(JobSpec {
            backoff_limit: Some(o.backoff_limit),
            template: pod_template(plan, w, labels, None),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Job from the workload's pod: its own pod labels, no probes, no waiting for itself.
fn job(plan: &Plan, w: &Workload, j: &PlannedJob) -> Job {
    let mut labels = workload_labels(plan, w);
    labels.insert("app.kubernetes.io/name".into(), j.label.clone());
    let mut meta = meta(plan, &j.name, labels.clone());
    if let Some(d) = &j.description {
        meta.annotations = Some(BTreeMap::from([("compose2dify/reason".to_string(), d.clone())]));
    }
    Job {
        metadata: meta,
        spec: Some(JobSpec {
            backoff_limit: Some(j.backoff_limit),
            template: pod_template(plan, w, labels, Some(j)),
            ..Default::default()
        }),
        ..Default::default()
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

fn statefulset(plan: &Plan, w: &Workload, labels: BTreeMap<String, String>) -> StatefulSet {
    let templates: Vec<PersistentVolumeClaim> = w
        .claims
        .iter()
        .map(|c| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(c.name.clone()),
                labels: Some(selector_labels(plan, &w.name)),
                annotations: retain_annotations(plan),
                ..Default::default()
            },
            spec: Some(claim_spec(c)),
            ..Default::default()
        })
        .collect();
    StatefulSet {
        metadata: meta(plan, &w.name, labels.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(w.replicas),
            service_name: Some(if w.serves() { governing_service_name(w) } else { w.name.clone() }),
            selector: LabelSelector { match_labels: Some(selector_labels(plan, &w.name)), ..Default::default() },
            template: pod_template(plan, w, labels, None),
            volume_claim_templates: (!templates.is_empty()).then_some(templates),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod of a workload, or of one of its Jobs.
fn pod_template(
    plan: &Plan,
    w: &Workload,
    labels: BTreeMap<String, String>,
    job: Option<&PlannedJob>,
) -> PodTemplateSpec {
    let (mut volumes, mut init_containers, container) = pod_parts(plan, w, job);
    let serves = job.is_none() && w.one_shot.is_none();
    let mut containers = vec![container];
    // Services that share this one's network (compose's network_mode): containers of this pod,
    // each with its own settings, files and mounts; a volume name taken already gets its name first.
    for j in joined(plan, w).filter(|_| job.is_none()) {
        let (vols, inits, mut c) = pod_parts(plan, j, None);
        for mut v in vols {
            if volumes.iter().any(|o: &K8sVolume| o.name == v.name) {
                let renamed: String = format!("{}-{}", j.name, v.name).chars().take(63).collect();
                for m in c.volume_mounts.iter_mut().flatten().filter(|m| m.name == v.name) {
                    m.name = renamed.clone();
                }
                v.name = renamed;
            }
            volumes.push(v);
        }
        init_containers.extend(inits);
        containers.push(c);
    }
    // A Job's template is immutable: it carries no checksum, so re-applying the same release is a no-op.
    let annotations = serves.then(|| BTreeMap::from([("checksum/config".to_string(), w.checksum.clone())]));
    // The workload's own pods spread as the plan says; a Job made from them does not.
    let keys: &[String] = if job.is_none() { &w.spread_over } else { &[] };
    let spread = (!keys.is_empty()).then(|| {
        keys.iter()
            .map(|key| TopologySpreadConstraint {
                max_skew: 1,
                topology_key: key.to_string(),
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(plan, &w.name)),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    });
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels), annotations, ..Default::default() }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(false),
            service_account_name: Some(w.name.clone()),
            enable_service_links: Some(false),
            restart_policy: job
                .map(|_| "OnFailure".to_string())
                .or_else(|| w.one_shot.as_ref().map(|o| o.restart_policy.clone())),
            affinity: node_affinity(w),
            share_process_namespace: w.share_process_namespace.then_some(true),
            topology_spread_constraints: spread,
            init_containers: (!init_containers.is_empty()).then_some(init_containers),
            containers,
            volumes: (!volumes.is_empty()).then_some(volumes),
            hostname: w.hostname.clone().filter(|_| job.is_none()),
            security_context: Some(PodSecurityContext {
                fs_group: w.security.fs_group,
                supplemental_groups: (!w.supplemental_groups.is_empty()).then(|| w.supplemental_groups.clone()),
                seccomp_profile: w.security.seccomp.clone().map(|t| SeccompProfile { type_: t, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// The workloads that run as containers of `w`'s pod (network_mode), in plan order.
fn joined<'a>(plan: &'a Plan, w: &'a Workload) -> impl Iterator<Item = &'a Workload> + 'a {
    plan.workloads.iter().filter(move |j| j.joins.as_deref() == Some(w.name.as_str()))
}

/// Compose's placement constraints: one node selector term, every expression required.
fn node_affinity(w: &Workload) -> Option<Affinity> {
    (!w.node_affinity.is_empty()).then(|| Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(
                        w.node_affinity
                            .iter()
                            .map(|(key, operator, values)| NodeSelectorRequirement {
                                key: key.clone(),
                                operator: operator.clone(),
                                values: (!values.is_empty()).then(|| values.clone()),
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
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

fn resources(w: &Workload) -> ResourceRequirements {
    ResourceRequirements {
        requests: quantity_map(&w.resources.requests),
        limits: quantity_map(&w.resources.limits),
        ..Default::default()
    }
}

fn container_security(w: &Workload) -> SecurityContext {
    security_context(&w.security)
}

fn security_context(s: &crate::rules::Security) -> SecurityContext {
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

fn probe(w: &Workload, startup: bool) -> K8sProbe {
    probe_with(w, &w.probe.action, startup)
}

/// A probe of the workload's timings that runs `action`.
fn probe_with(w: &Workload, action: &ProbeAction, startup: bool) -> K8sProbe {
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

/// Every address but `blocks`: one peer for IPv4 and one for IPv6, each with the blocks of its family.
fn internet_except(blocks: &[String]) -> Vec<NetworkPolicyPeer> {
    [("0.0.0.0/0", false), ("::/0", true)]
        .into_iter()
        .map(|(cidr, v6)| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.into(),
                except: Some(blocks.iter().filter(|b| b.contains(':') == v6).cloned().collect()),
            }),
            ..Default::default()
        })
        .collect()
}

/// Default-deny ingress for the tool's pods, then one policy per allowed flow set, each saying why.
pub fn network_policies(plan: &Plan) -> Vec<NetworkPolicy> {
    let mut out = vec![default_deny(plan)];
    // Who talks to whom, indexed once (in workload order) rather than searched for every target.
    let mut talkers: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for w in &plan.workloads {
        for target in w.talks_to.keys() {
            talkers.entry(target).or_default().push(w);
        }
    }
    for target in plan.workloads.iter().filter(|w| w.serves()) {
        let sources: &[&Workload] = talkers.get(target.name.as_str()).map_or(&[], Vec::as_slice);
        out.extend(ingress_policy(plan, target, sources));
    }
    let by_name: BTreeMap<&str, (usize, &Workload)> =
        plan.workloads.iter().enumerate().map(|(i, w)| (w.name.as_str(), (i, w))).collect();
    for w in plan.workloads.iter().filter(|w| w.egress_only_to.is_some() || w.internet_except.is_some()) {
        out.push(egress_policy(plan, w, &by_name));
        // A Job runs the workload's pod under a label of its own: the same fence, without the
        // workloads it never calls.
        for job in &w.jobs {
            let mut pod = w.clone();
            pod.name = job.label.clone();
            pod.talks_to.retain(|target, _| !job.never_calls.contains(target));
            out.push(egress_policy(plan, &pod, &by_name));
        }
    }
    out
}

/// The annotation that says why a policy exists.
fn reason_of(text: String) -> BTreeMap<String, String> {
    BTreeMap::from([("compose2dify/reason".to_string(), text)])
}

/// The pods of workload `name`.
fn peer(plan: &Plan, name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector { match_labels: Some(selector_labels(plan, name)), ..Default::default() }),
        ..Default::default()
    }
}

/// Every pod of namespace `ns` (by the label the API server sets on every namespace).
fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    let labels = BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())]);
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector { match_labels: Some(labels), ..Default::default() }),
        ..Default::default()
    }
}

/// Every port of a workload's Service, with its protocol.
fn ports_of(w: &Workload) -> Vec<NetworkPolicyPort> {
    protocol_ports(w)
        .map(|(p, protocol)| NetworkPolicyPort {
            port: Some(IntOrString::Int(i32::from(p))),
            protocol: Some(protocol.into()),
            ..Default::default()
        })
        .collect()
}

/// No pod of the tool's accepts traffic unless a policy allows it.
fn default_deny(plan: &Plan) -> NetworkPolicy {
    let mut only_ours = BTreeMap::new();
    only_ours.insert("app.kubernetes.io/part-of".to_string(), plan.instance.clone());
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some("default-deny-ingress".into()),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of("no pod of this app accepts traffic unless a policy below allows it".into())),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(only_ours), ..Default::default() }),
            policy_types: Some(vec!["Ingress".into()]),
            ..Default::default()
        }),
    }
}

/// Who may reach `target` (its Service's pods): anyone on the ports compose publishes, anyone when it
/// is exposed, and the workloads (and their Jobs) that use it; none when nothing does.
fn ingress_policy(plan: &Plan, target: &Workload, sources: &[&Workload]) -> Option<NetworkPolicy> {
    let exposed = target.exposed;
    if sources.is_empty() && !exposed && target.published.is_empty() && target.route.is_none() {
        return None;
    }
    let mut why: Vec<String> = sources.iter().map(|s| format!("{} ({})", s.name, s.talks_to[&target.name])).collect();
    let mut rules = Vec::new();
    if !target.published.is_empty() {
        // The compose file publishes these ports: the stack's entry points, open to anyone
        // (whatever the Service's type); its other ports only to the workloads that use them.
        let ports: Vec<NetworkPolicyPort> = target
            .published
            .iter()
            .map(|(c, _, protocol)| NetworkPolicyPort {
                port: Some(IntOrString::Int(i32::from(*c))),
                protocol: Some((*protocol).into()),
                ..Default::default()
            })
            .collect();
        let list: Vec<String> = target
            .published
            .iter()
            .map(|(c, h, pr)| match h {
                Some(h) => format!("{h}:{c}/{}", pr.to_ascii_lowercase()),
                None => format!("{c}/{}", pr.to_ascii_lowercase()),
            })
            .collect();
        why.insert(0, format!("anyone on the ports compose publishes ({})", list.join(", ")));
        rules.push(NetworkPolicyIngressRule { from: None, ports: Some(ports) });
    } else if exposed {
        let how = match &target.ingress {
            Some(i) => format!("Service type {}, Ingress {}", target.service_type, i.host),
            None => format!("Service type {}", target.service_type),
        };
        why.insert(0, format!("anyone ({how})"));
        rules.push(NetworkPolicyIngressRule { from: None, ports: Some(ports_of(target)) });
    } else if let Some(route) = &target.route {
        let g = &route.gateway;
        let ns = g.data_plane_namespace.clone().or_else(|| g.sources.is_empty().then(|| plan.namespace.clone()));
        let mut from: Vec<NetworkPolicyPeer> = ns.iter().map(|ns| namespace_peer(ns)).collect();
        from.extend(g.sources.iter().map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        }));
        let mut places: Vec<String> = ns.iter().map(|ns| format!("pods in namespace {ns}")).collect();
        places.extend(g.sources.iter().cloned());
        why.insert(0, format!("the data plane of Gateway {} ({})", g.name, places.join(", ")));
        rules.push(NetworkPolicyIngressRule { from: Some(from), ports: Some(ports_of(target)) });
    }
    if (!exposed || !target.published.is_empty()) && !sources.is_empty() {
        rules.push(NetworkPolicyIngressRule {
            from: Some(
                sources
                    .iter()
                    .flat_map(|s| {
                        let jobs = s.jobs.iter().filter(|j| !j.never_calls.contains(&target.name));
                        std::iter::once(s.name.as_str()).chain(jobs.map(|j| j.label.as_str()))
                    })
                    .map(|n| peer(plan, n))
                    .collect(),
            ),
            ports: Some(ports_of(target)),
        });
    }
    Some(NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(format!("allow-ingress-{}", target.name)),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of(format!("{} is reached by: {}", target.name, why.join("; ")))),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(plan, &target.name)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(rules),
            ..Default::default()
        }),
    })
}

/// What `w` may reach: the workloads it uses (on its internal networks only, when it is only on
/// those), DNS, and with the rules' `egress` every address outside the blocks they name.
fn egress_policy(plan: &Plan, w: &Workload, by_name: &BTreeMap<&str, (usize, &Workload)>) -> NetworkPolicy {
    let mut reached: Vec<(usize, &Workload)> = w
        .talks_to
        .keys()
        .filter(|t| w.egress_only_to.as_ref().is_none_or(|members| members.contains(*t)))
        .filter_map(|t| by_name.get(t.as_str()).copied())
        .filter(|(_, m)| m.serves())
        .collect();
    reached.sort_by_key(|(i, _)| *i); // in the plan's order
    let mut egress: Vec<NetworkPolicyEgressRule> = reached
        .iter()
        .map(|(_, m)| NetworkPolicyEgressRule { to: Some(vec![peer(plan, &m.name)]), ports: Some(ports_of(m)) })
        .collect();
    egress.push(NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer { namespace_selector: Some(LabelSelector::default()), ..Default::default() }]),
        ports: Some(vec![
            NetworkPolicyPort { port: Some(IntOrString::Int(53)), protocol: Some("UDP".into()), ..Default::default() },
            NetworkPolicyPort { port: Some(IntOrString::Int(53)), protocol: Some("TCP".into()), ..Default::default() },
        ]),
    });
    let flows: Vec<&str> = reached.iter().map(|(_, m)| m.name.as_str()).collect();
    let flows = if flows.is_empty() { "no workload".to_string() } else { flows.join(", ") };
    let why = match &w.internet_except {
        Some(blocks) => {
            egress.push(NetworkPolicyEgressRule { to: Some(internet_except(blocks)), ports: None });
            let allowed: Vec<NetworkPolicyPeer> = w
                .egress_allowed
                .iter()
                .map(|cidr| NetworkPolicyPeer {
                    ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
                    ..Default::default()
                })
                .collect();
            let also = if allowed.is_empty() {
                String::new()
            } else {
                egress.push(NetworkPolicyEgressRule { to: Some(allowed), ports: None });
                format!("; and {} (--allow-egress)", w.egress_allowed.join(", "))
            };
            format!(
                "{} reaches {flows}, DNS, and addresses outside the cluster except {}{also}",
                w.name,
                blocks.join(", ")
            )
        }
        None => format!(
            "{} is only on internal compose networks ({}): it reaches what it uses there ({flows}) and DNS, nothing else",
            w.name,
            w.networks.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(format!("restrict-egress-{}", w.name)),
            namespace: Some(plan.namespace.clone()),
            labels: Some(part_of_labels(plan)),
            annotations: Some(reason_of(why)),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(plan, &w.name)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(egress),
            ..Default::default()
        }),
    }
}

/// One workload's part of a pod: its volumes, init containers and container.
fn pod_parts(plan: &Plan, w: &Workload, job: Option<&PlannedJob>) -> (Vec<K8sVolume>, Vec<Container>, Container) {
    let (volumes, mounts, mut init_containers) = pod_volumes(w, job);
    // Folded one-shot services run first, on the volume they share with this pod (if it has it).
    init_containers.splice(0..0, folded_containers(w, &volumes));
    let env_from = env_from(plan, w);
    if job.is_none() {
        for (name, argv) in &w.init {
            init_containers.push(Container {
                name: name.clone(),
                image: Some(w.image.clone()),
                command: Some(argv.clone()),
                env_from: env_from.clone(),
                resources: Some(resources(w)),
                security_context: Some(container_security(w)),
                ..Default::default()
            });
        }
    }
    let (command, args) = match job.and_then(|j| j.command.clone()) {
        Some(command) => (Some(command), None),
        None => (w.command.clone(), w.args.clone()),
    };
    let env: Vec<EnvVar> = job
        .iter()
        .flat_map(|j| &j.env)
        .map(|(k, v)| EnvVar { name: k.clone(), value: Some(v.clone()), ..Default::default() })
        .collect();
    let startup = w.probe.startup.map(|_| probe(w, true));
    let liveness = w.probe.liveness.as_ref().map_or_else(|| probe(w, false), |a| probe_with(w, a, false));
    let probe = probe(w, false);
    let serves = job.is_none() && w.one_shot.is_none();
    let container = Container {
        name: job.map_or_else(|| w.name.clone(), |j| j.label.clone()),
        image: Some(w.image.clone()),
        command,
        args,
        ports: Some(
            protocol_ports(w)
                .filter(|_| serves && (w.serves() || w.joins.is_some()))
                .filter(|port| !joined(plan, w).any(|j| protocol_ports(j).any(|q| q == *port)))
                .map(|(p, protocol)| ContainerPort {
                    container_port: i32::from(p),
                    name: Some(port_name(p, protocol)),
                    protocol: Some(protocol.into()),
                    ..Default::default()
                })
                .collect::<Vec<_>>(),
        )
        .filter(|p| !p.is_empty()),
        env: (!env.is_empty()).then_some(env),
        env_from,
        liveness_probe: serves.then_some(liveness),
        readiness_probe: serves.then_some(probe),
        startup_probe: startup.filter(|_| serves),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        resources: Some(resources(w)),
        security_context: Some(container_security(w)),
        working_dir: w.working_dir.clone(),
        stdin: w.stdin.then_some(true),
        tty: w.tty.then_some(true),
        ..Default::default()
    };

    (volumes, init_containers, container)
}

/// The pod's volumes, the main container's mounts, and the init containers that seed claims with
/// config files (StatefulSet claims come from its templates, mounted under the claim's name).
fn pod_volumes(w: &Workload, job: Option<&PlannedJob>) -> (Vec<K8sVolume>, Vec<VolumeMount>, Vec<Container>) {
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
        if !v.seed.is_empty() {
            let seed_volume = format!("{}-seed", v.name);
            volumes.push(files_volume(&seed_volume, w, Some(&v.seed)));
            init_containers.push(Container {
                name: format!("seed-{}", v.name).chars().take(63).collect(),
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
fn folded_containers(w: &Workload, volumes: &[K8sVolume]) -> Vec<Container> {
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

/// The ConfigMaps and Secrets the containers read all their settings from.
fn env_from(plan: &Plan, w: &Workload) -> Option<Vec<EnvFromSource>> {
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
