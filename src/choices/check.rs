//! The choices checked once, before anything is planned, in the order their effects apply: each
//! value's own form (class names, annotation keys, the Gateway, the registry, address ranges), the
//! namespace and cluster domain, then what names a service (`--external`, the way in,
//! `--service-account-annotation`).

use super::Choices;
use crate::error::{Error, Result};
use crate::rules::{GatewayRule, Rules};

impl Choices {
    /// Refuse a choice the cluster or the compose file cannot take. `services` are the compose
    /// file's service names.
    pub fn check(&self, rules: &Rules, services: &[String]) -> Result<()> {
        self.check_form(rules)?;
        self.check_names()?;
        self.external_keys(rules, services)?;
        self.check_way_in(rules)?;
        self.annotation_keys(rules, services)?;
        Ok(())
    }

    /// Each value's own form: class names, annotation keys, the Gateway, the registry, ranges.
    fn check_form(&self, rules: &Rules) -> Result<()> {
        for (flag, class) in
            [("--storage-class", &self.storage_class), ("--rwx-storage-class", &self.rwx_storage_class)]
        {
            if let Some(c) = class.as_deref().filter(|c| !c.is_empty() && !crate::names::is_dns_subdomain(c)) {
                return Err(Error::usage(
                    format!("{flag} `{c}` is not a StorageClass name (a DNS subdomain: lowercase letters, digits, `-` and `.`)"),
                    format!("name a class of `kubectl get storageclass`, or pass {flag} \"\" for the cluster's default class"),
                ));
            }
        }
        if let Some(ingress) = &self.ingress {
            for key in ingress.annotations.keys() {
                if !crate::names::is_qualified_name(key) {
                    return Err(Error::usage(
                        format!("--ingress-annotation `{key}` is not an annotation key (`[prefix/]name`: a DNS subdomain prefix, a name of up to 63 letters, digits, `-`, `_`, `.`)"),
                        "write it as --ingress-annotation nginx.ingress.kubernetes.io/proxy-body-size=100m",
                    ));
                }
            }
        }
        if let Some(gateway) = &self.gateway {
            check_gateway(gateway, self.namespace.as_deref().unwrap_or(&rules.namespace))?;
        }
        if let Some(registry) = self.registry.as_deref().filter(|r| !is_registry(r)) {
            return Err(Error::usage(
                format!("--registry `{registry}` is not a registry host with an optional port and path"),
                "write it as --registry registry.example.com or --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub",
            ));
        }
        for (_, key, _) in &self.service_account_annotations {
            if !crate::names::is_qualified_name(key) {
                return Err(Error::usage(
                    format!("--service-account-annotation key `{key}` is not an annotation key (`[prefix/]name`)"),
                    "write it as --service-account-annotation api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify",
                ));
            }
        }
        for (flag, ranges) in
            [("--cluster-cidr/--service-cidr", &self.cluster_ranges), ("--allow-egress", &self.allowed_ranges)]
        {
            if let Some(bad) = ranges.iter().find(|r| !is_cidr(r)) {
                return Err(Error::usage(
                    format!("{flag} `{bad}` is not an address range in CIDR form"),
                    "write it as 10.100.0.0/16 (IPv4) or fd00::/108 (IPv6)",
                ));
            }
        }
        Ok(())
    }

    /// `--namespace` is a DNS label, `--cluster-domain` DNS labels joined by dots.
    fn check_names(&self) -> Result<()> {
        if let Some(ns) = self.namespace.as_deref().filter(|ns| !crate::names::is_dns_label(ns)) {
            return Err(Error::usage(
                format!("--namespace `{ns}` is not a DNS label"),
                "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
            ));
        }
        if let Some(domain) =
            self.cluster_domain.as_deref().filter(|d| !d.split('.').all(crate::names::is_dns_label) || d.len() > 253)
        {
            return Err(Error::usage(
                format!("--cluster-domain `{domain}` is not a DNS domain"),
                "use DNS labels joined by dots, as the cluster's kubelet --cluster-domain (e.g. cluster.local)",
            ));
        }
        Ok(())
    }
}

/// Refuse names the API server would refuse, and a created Gateway outside the app's namespace
/// `app_namespace` (the tree writes every object there).
fn check_gateway(g: &GatewayRule, app_namespace: &str) -> Result<()> {
    let names = [
        ("--gateway", Some(&g.name), false),
        ("--gateway (namespace)", g.namespace.as_ref(), true),
        ("--gateway-section", g.section.as_ref(), false),
        ("--gateway-class", g.class.as_ref(), false),
        ("--gateway-tls-secret", g.tls_secret.as_ref(), false),
        ("--gateway-namespace", g.data_plane_namespace.as_ref(), true),
    ];
    for (flag, value, label) in names {
        let Some(value) = value else { continue };
        let ok = if label { crate::names::is_dns_label(value) } else { crate::names::is_dns_subdomain(value) };
        if !ok {
            let what = if label { "a DNS label" } else { "a DNS subdomain" };
            return Err(Error::usage(
                format!(
                    "{flag} `{value}` is not {what} (lowercase letters, digits, `-`{})",
                    if label { "" } else { " and `.`" }
                ),
                "write it as --gateway infra/public-gateway (NAMESPACE/NAME), names as `kubectl get` shows them",
            ));
        }
    }
    if let Some(bad) = g.sources.iter().find(|c| !is_cidr(c)) {
        return Err(Error::usage(
            format!("--gateway-source `{bad}` is not an address block (ADDRESS/PREFIX)"),
            "write it as --gateway-source 10.0.0.0/16 (your VPC's CIDR) or --gateway-source 35.191.0.0/16",
        ));
    }
    if g.class.is_none() {
        return Ok(());
    }
    if let Some(ns) = g.namespace.as_deref().filter(|ns| *ns != app_namespace) {
        return Err(Error::usage(
            format!("--gateway-class writes the Gateway into the app's namespace `{app_namespace}`, not `{ns}`"),
            format!(
                "drop the namespace (--gateway {}), or attach to a Gateway in `{ns}` without --gateway-class (a --gateway-class the tree records goes only with --reset-choices)",
                g.name
            ),
        ));
    }
    if let Some(section) = g.section.as_deref().filter(|s| !g.listeners().contains(s)) {
        return Err(Error::usage(
            format!(
                "--gateway-section `{section}` names no listener of the Gateway the tree creates ({})",
                g.listeners().join(", ")
            ),
            "drop --gateway-section (the route attaches to every listener), or name one of those",
        ));
    }
    Ok(())
}

/// Whether `text` is a registry for `--registry`: a host name or IPv4 address, an optional port, and
/// an optional path of lowercase components (`registry.example.com:5000/mirror`).
pub fn is_registry(text: &str) -> bool {
    let (authority, path) = text.split_once('/').unwrap_or((text, ""));
    let (host, port) = authority.rsplit_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
    let host_ok = crate::names::is_dns_subdomain(host) || host.parse::<std::net::Ipv4Addr>().is_ok();
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let path_ok = path.is_empty()
        || path.split('/').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        });
    host_ok && port_ok && path_ok
}

/// Whether `text` is an IPv4 or IPv6 range in CIDR form (`10.0.0.0/8`, `fd00::/8`).
pub fn is_cidr(text: &str) -> bool {
    let Some((address, bits)) = text.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}
