//! The Gateway API objects (gateway.networking.k8s.io/v1) of `--gateway`: the HTTPRoute to the
//! entry point's Service and, with `--gateway-class`, the Gateway it attaches to. k8s-openapi has no
//! Gateway API types, so the few fields written are typed here (standard channel only: nothing
//! implementation-specific).
//!
//! No ReferenceGrant is written: the route lives in the app's namespace beside the Service it sends
//! to, and a created Gateway's certificate Secret is in that namespace too. A Gateway in another
//! namespace admits the route through its listener's `allowedRoutes`, which its owner sets.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::folder::Folder;
use super::meta::meta;
use super::yaml_text::to_yaml;
use crate::plan::{Plan, Route, Workload};

pub const API_VERSION: &str = "gateway.networking.k8s.io/v1";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: RouteSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    pub parent_refs: Vec<ParentRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    pub rules: Vec<RouteRule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    pub matches: Vec<RouteMatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<BackendRef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub timeouts: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct RouteMatch {
    pub path: PathMatch,
}

#[derive(Debug, Serialize)]
pub struct PathMatch {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub request_redirect: Redirect,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redirect {
    pub scheme: &'static str,
    pub status_code: u16,
}

#[derive(Debug, Serialize)]
pub struct BackendRef {
    pub name: String,
    pub port: u16,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: GatewaySpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    pub gateway_class_name: String,
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Serialize)]
pub struct Listener {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub port: u16,
    pub protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTls {
    pub mode: &'static str,
    pub certificate_refs: Vec<SecretRef>,
}

#[derive(Debug, Serialize)]
pub struct SecretRef {
    pub kind: &'static str,
    pub name: String,
}

/// The listener a route attaches to: the one asked for, else `https` of a created Gateway with a
/// certificate (its `http` listener only redirects), else every listener.
fn section(route: &Route) -> Option<String> {
    let g = &route.gateway;
    g.section.clone().or_else(|| (g.class.is_some() && g.tls_secret.is_some()).then(|| "https".to_string()))
}

fn parent(route: &Route, section_name: Option<String>) -> ParentRef {
    ParentRef { name: route.gateway.name.clone(), namespace: route.gateway.namespace.clone(), section_name }
}

/// The route of `metadata.name` to the Service `service`: every path (the entry point routes
/// them itself, as upstream's nginx does), with the release's timeouts. A created Gateway with a
/// certificate also gets `<name>-https-redirect`, which sends plain HTTP to HTTPS.
pub fn http_routes(metadata: ObjectMeta, route: &Route, service: &str) -> Vec<HttpRoute> {
    let hostnames: Vec<String> = route.gateway.hostname.iter().cloned().collect();
    let every_path = || vec![RouteMatch { path: PathMatch { type_: "PathPrefix", value: "/".into() } }];
    let mut out = Vec::new();
    let g = &route.gateway;
    if g.class.is_some() && g.tls_secret.is_some() && g.section.is_none() {
        let name = format!("{}-https-redirect", metadata.name.as_deref().unwrap_or_default());
        out.push(HttpRoute {
            api_version: API_VERSION,
            kind: "HTTPRoute",
            metadata: ObjectMeta { name: Some(name), ..metadata.clone() },
            spec: RouteSpec {
                parent_refs: vec![parent(route, Some("http".into()))],
                hostnames: hostnames.clone(),
                rules: vec![RouteRule {
                    matches: every_path(),
                    filters: vec![Filter {
                        type_: "RequestRedirect",
                        request_redirect: Redirect { scheme: "https", status_code: 301 },
                    }],
                    backend_refs: Vec::new(),
                    timeouts: BTreeMap::new(),
                }],
            },
        });
    }
    out.insert(
        0,
        HttpRoute {
            api_version: API_VERSION,
            kind: "HTTPRoute",
            metadata,
            spec: RouteSpec {
                parent_refs: vec![parent(route, section(route))],
                hostnames,
                rules: vec![RouteRule {
                    matches: every_path(),
                    filters: Vec::new(),
                    backend_refs: vec![BackendRef { name: service.to_string(), port: route.port }],
                    timeouts: route.timeouts.clone(),
                }],
            },
        },
    );
    out
}

/// The Gateway of `--gateway-class`: an HTTP listener, and an HTTPS one terminating TLS with
/// `--gateway-tls-secret`; both for the route's host name when it has one. None when attaching to
/// an existing Gateway.
pub fn gateway(metadata: ObjectMeta, route: &Route) -> Option<Gateway> {
    let g = &route.gateway;
    let class = g.class.clone()?;
    let mut listeners =
        vec![Listener { name: "http", hostname: g.hostname.clone(), port: 80, protocol: "HTTP", tls: None }];
    if let Some(secret) = &g.tls_secret {
        listeners.push(Listener {
            name: "https",
            hostname: g.hostname.clone(),
            port: 443,
            protocol: "HTTPS",
            tls: Some(ListenerTls {
                mode: "Terminate",
                certificate_refs: vec![SecretRef { kind: "Secret", name: secret.clone() }],
            }),
        });
    }
    Some(Gateway {
        api_version: API_VERSION,
        kind: "Gateway",
        metadata: ObjectMeta { name: Some(g.name.clone()), ..metadata },
        spec: GatewaySpec { gateway_class_name: class, listeners },
    })
}

/// The workload's HTTPRoute and, when the tree makes one, its Gateway, when it has a route and
/// serves.
pub(super) fn add_routes(plan: &Plan, w: &Workload, labels: &BTreeMap<String, String>, folder: &mut Folder) {
    if let (Some(route), true) = (&w.route, w.serves()) {
        let metadata = meta(plan, &w.name, labels.clone());
        if let Some(gateway) = gateway(metadata.clone(), route) {
            folder.add("gateway.yaml", to_yaml(&[gateway]));
        }
        folder.add("httproute.yaml", to_yaml(&http_routes(metadata, route, &w.name)));
    }
}
