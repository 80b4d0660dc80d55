//! What compose files and services name besides themselves: a file's top-level `include`, a
//! service's `extends`, and the top-level configs and secrets a service uses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use super::inputs::Inputs;
use crate::error::{display_path, Error, Result};
use crate::hash::sha256;
use crate::read::paths::{normalize, relative_name};
use crate::read::{merge, yaml};
use crate::warning::{Warning, WarningKind};

/// Deepest chain of `include` files and of `extends`.
const MAX_DEPTH: usize = 16;

/// Top-level `include:`: each file is read relative to the file naming it, its own includes first;
/// its services, volumes, networks, configs and secrets join this file's, with relative paths
/// rebased to the main compose folder. A service defined twice is refused, as compose does.
pub(super) fn include(
    top: &mut Mapping,
    file: &Path,
    main_dir: &Path,
    depth: usize,
    inputs: &mut Inputs,
    origins: &mut HashMap<String, (PathBuf, String)>,
) -> Result<()> {
    let Some(list) = top.remove("include") else { return Ok(()) };
    if depth >= MAX_DEPTH {
        return Err(Error::file(
            file,
            format!("`include` nests deeper than {MAX_DEPTH} files"),
            "a file includes itself, directly or through others; remove the cycle",
        ));
    }
    let bad = || {
        Error::file(
            file,
            "`include` entries are paths or mappings with `path:`",
            "write `include: [other/compose.yaml]`",
        )
    };
    let items = match list {
        Value::Sequence(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    for item in items {
        let paths: Vec<String> = match item.get("path").unwrap_or(&item) {
            Value::String(p) => vec![p.clone()],
            Value::Sequence(ps) => {
                ps.iter().map(|p| p.as_str().map(str::to_string).ok_or_else(bad)).collect::<Result<_>>()?
            }
            _ => return Err(bad()),
        };
        for p in paths {
            let path = normalize(&dir.join(&p));
            let text = inputs.text(&path, "included compose file")?;
            inputs.insert(relative_name(main_dir, &path), sha256(text.as_bytes()));
            let mut included = match yaml::parse(&path, &text, "compose file")? {
                Value::Mapping(m) => m,
                other => {
                    return Err(Error::file(
                        &path,
                        format!("the included file is {}, not a mapping", yaml::kind_of(&other)),
                        "include a compose file",
                    ))
                }
            };
            include(&mut included, &path, main_dir, depth + 1, inputs, origins)?;
            let prefix = folder_of(main_dir, &path);
            for section in ["services", "volumes", "networks", "configs", "secrets"] {
                let Some(Value::Mapping(entries)) = included.remove(section) else { continue };
                let target = top.entry(Value::from(section)).or_insert_with(|| Value::Mapping(Mapping::new()));
                let Value::Mapping(target) = target else { continue };
                for (name, mut value) in entries {
                    if target.contains_key(&name) {
                        if section == "services" {
                            // The first definition: an earlier included file, else the file naming this one.
                            let shown = yaml::scalar_string(&name).unwrap_or_default();
                            let first = origins.get(&shown).map_or(file, |(p, _)| p.as_path());
                            let message = format!("service `{shown}` is also defined by {}", display_path(first));
                            let help = "rename one of them; compose refuses the same service twice";
                            return Err(match yaml::locate(&text, "services", &format!("{shown}:")) {
                                Some((line, col)) => Error::at(&path, &text, line, col, message, help),
                                None => Error::file(&path, message, help),
                            });
                        }
                        continue;
                    }
                    if let Value::Mapping(m) = &mut value {
                        if section == "services" {
                            merge::rebase_service(m, &prefix);
                        } else if let Some(Value::String(f)) = m.get_mut("file") {
                            *f = merge::rebase(&prefix, f);
                        }
                    }
                    if section == "services" {
                        let shown = yaml::scalar_string(&name).unwrap_or_default();
                        origins.entry(shown).or_insert_with(|| (path.clone(), text.clone()));
                    }
                    target.insert(name, value);
                }
            }
        }
    }
    Ok(())
}

/// The folder of `path`, relative to the main compose folder (empty when it is that folder).
fn folder_of(main_dir: &Path, path: &Path) -> PathBuf {
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (parent, main) = (normalize(&parent), normalize(main_dir));
    match parent.strip_prefix(&main) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => parent,
    }
}

/// Resolve every service's `extends` (same file, or `file:` relative to the main folder).
pub(super) fn extends(services: &mut Mapping, file: &Path, main_dir: &Path, inputs: &mut Inputs) -> Result<()> {
    if !services.values().any(|v| v.get("extends").is_some()) {
        return Ok(()); // nothing to resolve: no copy of every service
    }
    let snapshot = services.clone();
    for (name, value) in services.iter_mut() {
        if value.get("extends").is_some() {
            *value = extended(name, &snapshot, file, main_dir, Path::new(""), &mut Vec::new(), inputs)?;
        }
    }
    Ok(())
}

/// One service with its `extends` chain merged in, paths rebased from folder `prefix`. `chain`
/// holds the services being extended on the way here, to refuse a cycle.
fn extended(
    name: &Value,
    services: &Mapping,
    file: &Path,
    main_dir: &Path,
    prefix: &Path,
    chain: &mut Vec<(PathBuf, String)>,
    inputs: &mut Inputs,
) -> Result<Value> {
    let shown = yaml::scalar_string(name).unwrap_or_default();
    let Some(value) = services.get(name) else {
        return Err(Error::file(
            file,
            format!("`extends` names service `{shown}`, which this file does not define"),
            "name a service of the file given in `extends.file` (or of this file)",
        ));
    };
    let Value::Mapping(svc) = value else { return Ok(value.clone()) };
    let mut svc = svc.clone();
    let ext = svc.remove("extends");
    merge::rebase_service(&mut svc, prefix);
    let Some(ext) = ext else { return Ok(Value::Mapping(svc)) };
    let link = (file.to_path_buf(), shown.clone());
    if chain.contains(&link) || chain.len() >= MAX_DEPTH {
        let names: Vec<&str> = chain.iter().map(|(_, n)| n.as_str()).chain([shown.as_str()]).collect();
        return Err(Error::file(
            file,
            format!("`extends` goes round in a cycle: {}", names.join(" → ")),
            "a service cannot extend itself, directly or through others; remove one `extends`",
        ));
    }
    chain.push(link);
    let (base_name, base_file) = match &ext {
        Value::String(s) => (Value::from(s.as_str()), None),
        Value::Mapping(m) => match m.get("service") {
            Some(Value::String(s)) => {
                (Value::from(s.as_str()), m.get("file").and_then(Value::as_str).map(str::to_string))
            }
            _ => {
                return Err(Error::file(
                    file,
                    format!("`extends` of service `{shown}` has no `service:`"),
                    "write `extends: {service: NAME, file: FILE}`",
                ))
            }
        },
        other => {
            return Err(Error::file(
                file,
                format!("`extends` of service `{shown}` is {}", yaml::kind_of(other)),
                "write `extends: NAME` or `extends: {service: NAME, file: FILE}`",
            ))
        }
    };
    let base = match base_file {
        None => extended(&base_name, services, file, main_dir, prefix, chain, inputs)?,
        Some(f) => {
            let path = normalize(&main_dir.join(prefix).join(&f));
            let text = inputs.text(&path, "compose file named by `extends`")?;
            inputs.insert(relative_name(main_dir, &path), sha256(text.as_bytes()));
            let other = yaml::parse(&path, &text, "compose file")?;
            let Some(Value::Mapping(other_services)) = other.get("services") else {
                return Err(Error::file(
                    &path,
                    "the file named by `extends` has no `services:`",
                    "name a compose file with services",
                ));
            };
            let other_prefix = folder_of(main_dir, &path);
            extended(&base_name, other_services, &path, main_dir, &other_prefix, chain, inputs)?
        }
    };
    chain.pop();
    let Value::Mapping(base) = base else { return Ok(Value::Mapping(svc)) };
    Ok(Value::Mapping(merge::merge_service(&base, &svc)))
}

/// Service `configs:` with a top-level `file:` become read-only bind mounts of that file (then
/// ConfigMaps, like any bind-mounted file). `secrets:` are never copied into the tree: each one is
/// a warning saying where the workload expects it.
pub(super) fn configs_and_secrets(services: &mut Mapping, top: &Mapping, warnings: &mut Vec<Warning>) {
    let empty = Mapping::new();
    let configs = top.get("configs").and_then(Value::as_mapping).unwrap_or(&empty);
    for (name, svc) in services.iter_mut() {
        let name = yaml::scalar_string(name).unwrap_or_default();
        let Value::Mapping(svc) = svc else { continue };
        let refs = |v: Option<Value>| -> Vec<(String, Option<String>)> {
            let items = match v {
                Some(Value::Sequence(items)) => items,
                _ => Vec::new(),
            };
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some((s.clone(), None)),
                    Value::Mapping(m) => Some((
                        m.get("source").and_then(yaml::scalar_string)?,
                        m.get("target").and_then(yaml::scalar_string),
                    )),
                    _ => None,
                })
                .collect()
        };
        for (source, target) in refs(svc.remove("configs")) {
            let target = target.unwrap_or_else(|| format!("/{source}"));
            match configs.get(source.as_str()).and_then(|c| c.get("file")).and_then(Value::as_str) {
                Some(file) => {
                    let mut mount = Mapping::new();
                    mount.insert("type".into(), "bind".into());
                    mount.insert("source".into(), file.into());
                    mount.insert("target".into(), target.into());
                    mount.insert("read_only".into(), true.into());
                    match svc.entry("volumes".into()).or_insert_with(|| Value::Sequence(Vec::new())) {
                        Value::Sequence(v) => v.push(Value::Mapping(mount)),
                        _ => warnings.push(Warning::new(WarningKind::Config, format!("service `{name}`: config `{source}` is not mounted (`volumes` is not a list)")).service(&name)),
                    }
                }
                None => warnings.push(Warning::new(WarningKind::Config, format!(
                    "service `{name}` uses config `{source}`, which has no `file:` beside the compose file; mount it at {target} with an overlay"
                )).service(&name)),
            }
        }
        for (source, target) in refs(svc.remove("secrets")) {
            let target = match target {
                Some(t) if t.starts_with('/') => t,
                Some(t) => format!("/run/secrets/{t}"),
                None => format!("/run/secrets/{source}"),
            };
            warnings.push(Warning::new(WarningKind::Config, format!(
                "service `{name}` uses secret `{source}`, whose value is never copied into the tree; create a Secret and mount it at {target} with an overlay"
            )).service(&name));
        }
    }
}
