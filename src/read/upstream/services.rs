//! The services of the merged compose file, each read into the compose model (pointing at the file
//! that wrote a value when it is refused); its networks and the keys it leaves; the active
//! profiles; and what the settings leave unsaid.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use indexmap::IndexMap;
use yaml_serde::{Mapping, Value};

use super::compose_files::ComposeFiles;
use super::loader::Loader;
use super::Options;
use crate::error::{Error, Result};
use crate::names;
use crate::read::compose::{self, Network, Problem, Reader, Service};
use crate::read::paths::file_name;
use crate::read::yaml;
use crate::warning::{Warning, WarningKind};

/// Where each service key not read is written: (service, key) → place.
pub(super) type Places = BTreeMap<(String, String), crate::error::Location>;

/// Every service read from its generic tree (freed as it goes), with where each key not read is
/// written; link aliases added; `depends_on` naming no service said.
pub(super) fn read_services(
    files: &ComposeFiles,
    compose_path: &Path,
    services_value: Mapping,
    ctx: &mut Loader,
    warnings: &mut Vec<Warning>,
) -> Result<(IndexMap<String, Service>, Places)> {
    let mut services = IndexMap::new();
    let mut unread_places = BTreeMap::new();
    let written_in = |name: &str, path: &str, needle: &str| files.written_in(compose_path, name, path, needle);
    // Each service's generic tree (its merged anchors expanded) is freed once it is read, so the
    // two forms of the services are not all in memory together.
    for (name, value) in services_value {
        let Some(name) = name.as_str() else { continue };
        // The compose specification's rule for service names (`^[a-zA-Z0-9._-]+$`): a name is
        // written into the tree's guide, commands and object names.
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            let shown = crate::text::code_span(name);
            let p = crate::read::compose::Problem {
                path: "services".into(),
                needle: format!("{}:", name.lines().next().unwrap_or_default()),
                message: format!("the service name {shown} is not one compose accepts"),
                help: "name services with letters, digits, `_`, `.` and `-` only".into(),
            };
            let (path, t) = written_in(name, &p.path, &p.needle);
            return Err(problem_error(path, t, &p));
        }
        let value = &value;
        let mut svc = Reader { ctx }.service(name, value).map_err(|p| {
            let (path, t) = written_in(name, &p.path, &p.needle);
            problem_error(path, t, &p)
        })?;
        for key in &svc.unread {
            // The key itself (`volumes (type npipe …)` names the key `volumes`).
            let at = format!("services.{name}");
            let needle = format!("{}:", key.split(" (").next().unwrap_or(key));
            let (path, t) = written_in(name, &at, &needle);
            if let Some((line, column)) = yaml::locate(t, &at, &needle) {
                let place = crate::error::Location { file: crate::error::display_path(path), line, column };
                unread_places.insert((name.to_string(), key.clone()), place);
            }
        }
        if svc.image.is_none() && svc.has_build {
            svc.image = Some(names::dns_label(name));
            svc.build_only = true;
        }
        services.insert(name.to_string(), svc);
    }
    // A link alias (`links: [db:database]`) names the linked service, like a network alias.
    let links: Vec<(String, String)> = services.values().flat_map(|s| s.links.clone()).collect();
    for (target, alias) in links {
        if let Some(aliases) = services.get_mut(&target).and_then(|t| t.networks.values_mut().next()) {
            if alias != target && !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
    }
    for svc in services.values() {
        for dep in svc.depends_on.iter().filter(|d| !services.contains_key(&d.service)) {
            warnings.push(
                Warning::new(
                    WarningKind::Network,
                    format!("service `{}` depends on `{}`, which is not defined", svc.name, dep.service),
                )
                .service(&svc.name),
            );
        }
    }
    Ok((services, unread_places))
}

/// A problem found while reading a service, pointed at the first line that shows it.
pub fn problem_error(path: &Path, text: &str, p: &Problem) -> Error {
    let message = format!("{}: {}", p.path, p.message);
    let help = if p.help.is_empty() { "fix the value in the compose file".to_string() } else { p.help.clone() };
    match yaml::locate(text, &p.path, &p.needle) {
        Some((line, col)) => Error::at(path, text, line, col, message, help),
        None => Error::file(path, message, help),
    }
}

/// What the settings leave unsaid: `environment` entries with no value anywhere, `--set`s nothing
/// uses (with the closest name), and env files read from their `.example`.
pub(super) fn unused_settings(
    opts: &Options,
    ctx: &Loader,
    source_keys: &HashSet<String>,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<String>,
) {
    for (at, key) in &ctx.unset {
        let service = at.strip_prefix("services.").unwrap_or(at).split('.').next().unwrap_or(at);
        warnings.push(Warning::new(WarningKind::Setting, format!(
            "service `{service}`: `environment` names `{key}` without a value and the env source does not set it, so it is left out, as compose does; set it in .env or pass --set {key}=VALUE"
        )).service(service).key(key));
    }
    for (key, _) in &opts.set {
        if !source_keys.contains(key) && !ctx.known.contains(key) {
            let closest = ctx
                .known
                .iter()
                .chain(source_keys)
                .map(|k| (strsim::levenshtein(k, key), k))
                .filter(|(d, k)| *d <= (k.len() / 3).max(2))
                .min();
            let hint = closest.map(|(_, k)| format!(" (did you mean `{k}`?)")).unwrap_or_default();
            warnings.push(
                Warning::new(
                    WarningKind::UnusedChoice,
                    format!(
                "--set {key}: no env source, env file or compose file uses `{key}`, so it changes nothing{hint}"
            ),
                )
                .key(key),
            );
        }
    }
    if let Some(first) = ctx.examples_read.first() {
        notes.push(format!(
            "{} env file(s) are missing, so their .example was read in their place (first: {first}); copy them without .example to customize",
            ctx.examples_read.len()
        ));
    }
}

/// The top-level networks, with `default`.
pub(super) fn networks(top: &Mapping) -> BTreeMap<String, Network> {
    let mut networks = BTreeMap::new();
    if let Some(Value::Mapping(m)) = top.get("networks") {
        for (k, v) in m {
            let name = yaml::scalar_string(k).unwrap_or_default();
            let flag = |key: &str| {
                v.get(key).and_then(yaml::scalar_string).and_then(|s| compose::parse_bool(&s)).unwrap_or(false)
            };
            networks.insert(name, Network { internal: flag("internal"), external: flag("external") });
        }
    }
    networks.entry("default".to_string()).or_default();
    networks
}

/// Top-level keys that are not translated (besides `x-` extension blocks).
pub(super) fn unread_top(top: &Mapping) -> Vec<String> {
    top.keys()
        .filter_map(Value::as_str)
        .filter(|k| {
            !k.starts_with("x-")
                && !matches!(*k, "services" | "networks" | "volumes" | "version" | "name" | "configs" | "secrets")
        })
        .filter(|_| top.contains_key("services"))
        .map(str::to_string)
        .collect()
}

/// The active profiles (`--profile`, else `COMPOSE_PROFILES`; an unknown `--profile` is refused)
/// and the services they run.
pub(super) fn active_profiles(
    opts: &Options,
    env: &IndexMap<String, String>,
    services: &IndexMap<String, Service>,
    compose_path: &Path,
) -> Result<(Vec<String>, BTreeSet<String>)> {
    let profiles = match &opts.profiles {
        Some(p) => p.clone(),
        None => env
            .get("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
    };
    let from = if opts.profiles.is_some() { "--profile" } else { "COMPOSE_PROFILES" };
    if let Some(bad) = profiles.iter().find(|p| !is_profile_name(p)) {
        return Err(Error::usage(
            format!("profile name {bad:?} (from {from}) is not one compose accepts"),
            "a profile name is letters, digits, `_`, `.` and `-`, starting with a letter or digit, two characters at least",
        ));
    }
    let known_profiles: BTreeSet<&str> =
        services.values().flat_map(|s| s.profiles.iter().map(String::as_str)).collect();
    if let Some(chosen) = &opts.profiles {
        for p in chosen {
            if !known_profiles.contains(p.as_str()) {
                return Err(Error::usage(
                    format!("unknown profile `{p}`: no service of {} has it", file_name(compose_path)),
                    format!("profiles in this file: {}", known_profiles.iter().copied().collect::<Vec<_>>().join(", ")),
                ));
            }
        }
    }
    let active: BTreeSet<String> = services
        .values()
        .filter(|s| s.profiles.is_empty() || s.profiles.iter().any(|p| profiles.contains(p)))
        .map(|s| s.name.clone())
        .collect();
    Ok((profiles, active))
}

/// A profile name as compose validates it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn is_profile_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// What an active service asks for that the cluster does things differently for: the host's
/// network, an image built from source.
pub(super) fn active_warnings(
    services: &IndexMap<String, Service>,
    active: &BTreeSet<String>,
    warnings: &mut Vec<Warning>,
) {
    for svc in services.values().filter(|s| active.contains(&s.name)) {
        if svc.network_mode.as_deref() == Some("host") {
            warnings.push(Warning::new(WarningKind::Network, format!(
                "service `{}` uses the host's network (network_mode: host); here it is on the pod network: set hostNetwork in an overlay if it needs the node's",
                svc.name
            )).service(&svc.name));
        }
    }
    for svc in services.values().filter(|s| s.build_only && active.contains(&s.name)) {
        let image = svc.image.clone().unwrap_or_default();
        warnings.push(Warning::new(WarningKind::Image, format!(
            "service `{}` is built from source (`build:` without `image:`); it runs image `{image}`: build and push it, then `kustomize edit set image {image}=REGISTRY/{image}:TAG`",
            svc.name
        )).service(&svc.name));
    }
}
