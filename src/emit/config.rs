//! The settings and files of the tree: ConfigMaps (the shared one in `base/`, a workload's `-config`
//! and `-files`) and Secrets, as `--secrets` wants them (a template beside the operator's
//! `secret.yaml`, or an ExternalSecret).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde::Serialize;

// A family beside this one: the ExternalSecret stands in for the Secret in a store's mode.
use super::external_secret;
use super::folder::Folder;
use super::meta::{meta, part_of_labels};
use super::yaml_text::to_yaml;
use crate::placeholders::MAX_LENGTH;
use crate::plan::{Plan, Workload};
use crate::rules::SecretSource;
use crate::tree::layout::{CONFIG_MAP_FILE, EXTERNAL_SECRET_FILE, SECRET_FILE, SECRET_TEMPLATE, SOPS_FILE};

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

/// The ConfigMap of the settings every workload that uses the shared ones reads.
pub(super) fn add_shared_config_map(plan: &Plan, folder: &mut Folder) {
    let config = ConfigMapOf {
        metadata: meta(plan, &plan.config_map, part_of_labels(plan)),
        data: Some(&plan.shared_config),
        binary_data: None,
    };
    folder.add(CONFIG_MAP_FILE, to_yaml(&[config]));
}

/// The workload's `-config` (settings) and `-files` (config files, text and binary) ConfigMaps.
pub(super) fn add_config_maps(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
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
        folder.add(CONFIG_MAP_FILE, to_yaml(&maps));
    }
}

/// A Secret of the tree, as `--secrets` wants it: a template for `secret.yaml` (files, listed), a
/// template only (external: created in the cluster, not listed) or an ExternalSecret (listed).
pub(super) fn add_secret(
    plan: &Plan,
    name: &str,
    labels: BTreeMap<String, String>,
    data: &BTreeMap<String, String>,
    folder: &mut Folder,
) {
    let metadata = meta(plan, name, labels);
    if let Some(external) = external_secret::for_secret(metadata.clone(), data, &plan.secret_source) {
        folder.add(EXTERNAL_SECRET_FILE, to_yaml(&[external]));
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
        metadata.annotations.get_or_insert_with(BTreeMap::new).insert(MAX_LENGTH.into(), limits.join(" "));
    }
    let template = SecretOf { metadata, string_data: data, type_: "Opaque" };
    folder.write(SECRET_TEMPLATE, to_yaml(&[template]));
    match plan.secret_source {
        SecretSource::Files => folder.list(SECRET_FILE),
        SecretSource::Sops { .. } => folder.list(SOPS_FILE),
        _ => {}
    }
}
