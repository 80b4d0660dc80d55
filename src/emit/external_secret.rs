//! The ExternalSecret (external-secrets.io/v1) that stands in for a Secret in `--secrets
//! external-secrets` mode. k8s-openapi has no custom resources, so its few fields are typed here.
//!
//! Every `CHANGE_ME_<VAR>` placeholder of the Secret becomes one remote key `<prefix><VAR>`, so keys
//! that must agree (they share a placeholder) read the same remote value; the Secret's keys are
//! rendered from a template, so a value that embeds a secret (`redis://:PASSWORD@redis:6379/1`)
//! keeps its shape.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::placeholders::{tokens, PREFIX};
use crate::rules::SecretSource;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecret {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: Spec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub refresh_interval: &'static str,
    pub secret_store_ref: StoreRef,
    pub target: Target,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Data>,
}

#[derive(Debug, Serialize)]
pub struct StoreRef {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub name: String,
    pub creation_policy: &'static str,
    pub template: Template,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub engine_version: &'static str,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

#[derive(Debug, Serialize)]
pub struct RemoteRef {
    pub key: String,
}

/// The ExternalSecret that makes the Secret `metadata.name` with these settings (values with
/// placeholders); `None` unless the source is a store.
pub fn for_secret(
    metadata: ObjectMeta,
    settings: &BTreeMap<String, String>,
    source: &SecretSource,
) -> Option<ExternalSecret> {
    let SecretSource::ExternalSecrets { store, store_kind, prefix } = source else { return None };
    let mut variables: Vec<String> = Vec::new();
    let mut template = BTreeMap::new();
    for (key, value) in settings {
        let mut rendered = escape_template(value);
        for token in tokens(value) {
            let variable = token.trim_start_matches(PREFIX).to_string();
            rendered = rendered.replace(&token, &format!("{{{{ .{variable} }}}}"));
            if !variables.contains(&variable) {
                variables.push(variable);
            }
        }
        template.insert(key.clone(), rendered);
    }
    variables.sort();
    let target = metadata.name.clone().unwrap_or_default();
    Some(ExternalSecret {
        api_version: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata,
        spec: Spec {
            refresh_interval: "1h",
            secret_store_ref: StoreRef { kind: store_kind.clone(), name: store.clone() },
            target: Target {
                name: target,
                creation_policy: "Owner",
                template: Template { engine_version: "v2", data: template },
            },
            data: variables
                .into_iter()
                .map(|v| Data { remote_ref: RemoteRef { key: format!("{prefix}{v}") }, secret_key: v })
                .collect(),
        },
    })
}

/// A literal value inside a Go template: `{{` would start an action.
fn escape_template(value: &str) -> String {
    if value.contains("{{") {
        value.replace("{{", "{{ \"{{\" }}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_remote_keys_and_template_fields() {
        let source = SecretSource::ExternalSecrets {
            store: "vault".into(),
            store_kind: "SecretStore".into(),
            prefix: "dify/".into(),
        };
        let settings = BTreeMap::from([
            ("DB_PASSWORD".to_string(), "CHANGE_ME_DB_PASSWORD".to_string()),
            ("BROKER".to_string(), "redis://:CHANGE_ME_REDIS_PASSWORD@redis:6379/1".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("ODD".to_string(), "a{{b".to_string()),
        ]);
        let meta = ObjectMeta { name: Some("api-secret".into()), ..Default::default() };
        let es = for_secret(meta, &settings, &source).unwrap();
        assert_eq!(es.spec.target.name, "api-secret");
        assert_eq!(es.spec.target.template.data["BROKER"], "redis://:{{ .REDIS_PASSWORD }}@redis:6379/1");
        assert_eq!(es.spec.target.template.data["EMPTY"], "");
        assert_eq!(es.spec.target.template.data["ODD"], "a{{ \"{{\" }}b");
        let keys: Vec<&str> = es.spec.data.iter().map(|d| d.remote_ref.key.as_str()).collect();
        assert_eq!(keys, ["dify/DB_PASSWORD", "dify/REDIS_PASSWORD"]);
        assert!(for_secret(ObjectMeta::default(), &settings, &SecretSource::Files).is_none());
    }
}
