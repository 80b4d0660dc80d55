//! The main command's flags checked and turned into what the library takes: read options, rule choices.

use crate::cli::{args::*, messages::*};
use compose2dify::error::Error;
use compose2dify::read::upstream;
use compose2dify::rules::{self};
use std::io::Read;
use std::path::PathBuf;

/// The `--secrets` choice, checked: a store is named for `external-secrets`, and only then.
pub(crate) fn secret_source(args: &GenerateArgs) -> Result<rules::SecretSource, Error> {
    let store = args.secret_store.as_deref();
    match (args.secrets.as_str(), store) {
        ("external-secrets", None) => Err(Error::usage(
            "--secrets external-secrets needs the store the ExternalSecrets read from",
            "name it: --secret-store vault (and --secret-store-kind ClusterSecretStore for a cluster-wide one)",
        )),
        ("external-secrets", Some(name)) if !compose2dify::names::is_dns_label(name) => Err(Error::usage(
            format!("--secret-store `{name}` is not a DNS label (lower-case letters, digits and `-`, at most 63)"),
            "pass the store's metadata.name, e.g. --secret-store vault-backend",
        )),
        ("external-secrets", Some(name)) => Ok(rules::SecretSource::ExternalSecrets {
            store: name.to_string(),
            store_kind: args.secret_store_kind.clone(),
            prefix: args.secret_prefix.clone(),
        }),
        (mode, Some(_)) => Err(Error::usage(
            format!("--secret-store is only read with --secrets external-secrets, not with --secrets {mode}"),
            "add --secrets external-secrets, or drop --secret-store",
        )),
        ("sops", None) if args.age.is_empty() => Err(Error::usage(
            "--secrets sops needs the age recipients the files are encrypted to",
            "name them: --age age1… (repeatable: your GitOps controller's key and each person's who edits them)",
        )),
        ("sops", None) => {
            for r in &args.age {
                compose2dify::commands::sops::recipient(r).map_err(|e| {
                    Error::usage(
                        format!("--age `{}` is not an age recipient: {e}", compose2dify::text::escape_hidden(r)),
                        "pass a public key as age-keygen prints it (age1…)",
                    )
                })?;
            }
            Ok(rules::SecretSource::Sops { recipients: args.age.clone() })
        }
        (mode, None) if !args.age.is_empty() => Err(Error::usage(
            format!("--age is only read with --secrets sops, not with --secrets {mode}"),
            "add --secrets sops, or drop --age",
        )),
        ("external", None) => Ok(rules::SecretSource::External),
        _ => Ok(rules::SecretSource::Files),
    }
}

/// The compose file the rules are for, as an error's help names it (`Dify's
/// docker/docker-compose.yaml`); none for the generic preset.
pub(crate) fn expected_compose(rules: &rules::Rules) -> Option<String> {
    match (&rules.guide.product, &rules.guide.compose_file) {
        (Some(product), Some(file)) => Some(format!("{product}'s {file}")),
        (Some(product), None) => Some(format!("{product}'s compose file")),
        _ => None,
    }
}

/// What to read: the compose files (the first, or standard input, and those merged over it), the
/// env file, `--set`s and profiles.
pub(crate) fn read_options(args: &mut GenerateArgs) -> Result<upstream::Options, Error> {
    let mut files =
        if args.files.is_empty() { std::mem::take(&mut args.compose) } else { std::mem::take(&mut args.files) };
    if files.is_empty() {
        return Err(Error::usage(
            "no compose file given",
            "run `compose2dify path/to/docker/docker-compose.yaml -o k8s`",
        ));
    }
    let compose = files.remove(0);
    if files.iter().any(|f| f.as_os_str() == "-") || (compose.as_os_str() == "-" && !files.is_empty()) {
        return Err(Error::usage(
            "`-` (standard input) can only be the one compose file",
            "write the piped file to disk to merge it with others",
        ));
    }
    let mut set = Vec::new();
    for item in &args.set {
        let (k, v) = item
            .split_once('=')
            .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| {
                Error::usage(format!("--set `{item}` is not KEY=VALUE"), "write it as --set VECTOR_STORE=qdrant")
            })?;
        set.push((k.to_string(), v.to_string()));
    }
    let stdin = if compose.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
            Error::usage(format!("cannot read the compose file from standard input: {e}"), "pipe a compose file in")
        })?;
        Some(bytes)
    } else {
        None
    };
    let compose = if stdin.is_some() { PathBuf::from("<stdin>") } else { compose };
    Ok(upstream::Options {
        compose,
        more: files,
        find_override: !args.no_override,
        env_file: args.env_file.take(),
        allow_read: std::mem::take(&mut args.allow_read),
        set,
        derived: Vec::new(),
        profiles: (!args.profiles.is_empty()).then(|| std::mem::take(&mut args.profiles)),
        stdin,
        expected: None,
        checkout_files: Default::default(),
    })
}

/// `--gateway [NAMESPACE/]NAME` and the flags that go with it; the route's host name is that of
/// `--public-url`, else `--ingress-host` (none for an IP address: the route then matches any host).
pub(crate) fn gateway_choice(args: &mut GenerateArgs) -> Option<rules::GatewayRule> {
    let gateway = args.gateway.take()?;
    let (namespace, name) = match gateway.split_once('/') {
        Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
        None => (None, gateway),
    };
    let from_url = args.public_url.as_deref().and_then(|u| u.split_once("://")).map(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_ascii_lowercase()
    });
    let hostname = from_url
        .or_else(|| args.ingress_host.clone())
        .filter(|h| compose2dify::names::is_dns_subdomain(h) && h.parse::<std::net::Ipv4Addr>().is_err());
    let sources = std::mem::take(&mut args.gateway_sources);
    // A data plane outside the cluster comes from its addresses, not from a namespace.
    let data_plane_namespace =
        args.gateway_namespace.take().or_else(|| namespace.clone().filter(|_| sources.is_empty()));
    Some(rules::GatewayRule {
        name,
        namespace,
        section: args.gateway_section.take(),
        class: args.gateway_class.take(),
        tls_secret: args.gateway_tls_secret.take(),
        data_plane_namespace,
        sources,
        hostname,
    })
}

/// Whether a CIDR's address has bits set past its prefix (`10.0.0.1/8`).
pub(crate) fn has_host_bits(cidr: &str) -> bool {
    let Some((address, bits)) = cidr.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u32>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if bits <= 32 => u32::from(a).checked_shl(bits).unwrap_or(0) != 0,
        Ok(std::net::IpAddr::V6(a)) if bits <= 128 => u128::from(a).checked_shl(bits).unwrap_or(0) != 0,
        _ => false,
    }
}

/// `--ingress-annotation KEY=VALUE`s.
pub(crate) fn ingress_annotations(args: &GenerateArgs) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut annotations = std::collections::BTreeMap::new();
    for item in &args.ingress_annotations {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::usage(
                format!("--ingress-annotation `{item}` is not KEY=VALUE"),
                "write it as --ingress-annotation nginx.ingress.kubernetes.io/proxy-body-size=100m",
            )
        })?;
        annotations.insert(k.to_string(), v.to_string());
    }
    Ok(annotations)
}

/// `--service-account-annotation WORKLOAD:KEY=VALUE`, split: (workload, key, value).
pub(crate) fn service_account_annotations(args: &GenerateArgs) -> Result<Vec<(String, String, String)>, Error> {
    args.service_account_annotations
        .iter()
        .map(|item| {
            item.split_once(':')
                .and_then(|(w, kv)| kv.split_once('=').map(|(k, v)| (w.to_string(), k.to_string(), v.to_string())))
                .filter(|(w, k, _)| !w.is_empty() && !k.is_empty())
                .ok_or_else(|| {
                    Error::usage(
                        format!("--service-account-annotation `{item}` is not WORKLOAD:KEY=VALUE"),
                        "write it as --service-account-annotation api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify",
                    )
                })
        })
        .collect()
}

/// The project, read once with the public URL's settings (when `--public-url` or `--ingress-host`
/// gives one) and the rules' in-cluster addresses (`internal_url`): the reader sets each where the
/// release has the setting and no `--set` names it. Without a public URL, a note when a
/// browser-facing setting points at localhost.
pub(crate) fn read_with_public_url(
    args: &GenerateArgs,
    mut opts: upstream::Options,
    rules: &rules::Rules,
    out: &Messages,
) -> Result<compose2dify::read::project::Project, Error> {
    let scheme = if args.ingress_tls_secret.is_some() { "https" } else { "http" };
    let public_url = args.public_url.clone().or_else(|| args.ingress_host.as_ref().map(|h| format!("{scheme}://{h}")));
    // A URL that is not one is refused once the inputs are read, after the warning that the rules
    // have no use for it.
    let (public, bad_url) = match public_url.as_deref().map(|url| rules.public_settings(url)) {
        Some(Err(e)) => (Vec::new(), Some(e)),
        Some(Ok(settings)) => (settings, None),
        None => (Vec::new(), None),
    };
    opts.derived = public;
    opts.derived.extend(rules.internal_url.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut project = upstream::load(&opts)?;
    if public_url.is_some() && rules.public_url.is_empty() {
        out.labelled(
            "warning",
            "33",
            "--public-url changes nothing: the rules name no public-URL settings (`public_url` in a --mappings file)",
        );
    }
    if let Some(e) = bad_url {
        return Err(e);
    }
    let localhost =
        || rules.public_url.keys().find(|k| project.env.get(*k).is_some_and(|v| v.contains("://localhost")));
    if let Some(key) = public_url.is_none().then(localhost).flatten().cloned() {
        project.notes.push(format!(
            "{key} and other browser-facing settings point at localhost; pass --public-url https://<your domain> (see the tree's README, Public URL)"
        ));
    }
    Ok(project)
}
