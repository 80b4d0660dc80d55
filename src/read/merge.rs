//! Compose's merge rules, for `extends` (a service over its base), `include` (files brought in
//! from elsewhere) and several compose files (`a.yaml b.yaml`, an override file beside the main one),
//! on the generic YAML tree: mappings merge key by key, lists that add up (ports, volumes, env files
//! …) are joined, everything else is replaced; `!reset` removes what the earlier file set and
//! `!override` replaces it whole (https://docs.docker.com/reference/compose-file/merge/). Also
//! rebasing the relative paths of a service read from another folder, so every path is relative to
//! the main compose file.

use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use crate::read::paths::normalize;

/// Lists that compose joins when merging, rather than replacing.
const JOINED: &[&str] = &[
    "ports",
    "expose",
    "volumes",
    "env_file",
    "cap_add",
    "cap_drop",
    "dns",
    "dns_search",
    "devices",
    "tmpfs",
    "security_opt",
    "external_links",
    "links",
    "configs",
    "secrets",
    "profiles",
    "volumes_from",
    "group_add",
];

/// Keys that hold `KEY=VALUE` lists or mappings, merged as mappings.
const KEYED: &[&str] = &["environment", "labels", "sysctls", "extra_hosts", "annotations", "depends_on"];

/// What a later file says of a key: merge with the earlier value, remove it, or replace it whole.
enum Say<'a> {
    Merge(&'a Value),
    Reset,
    Override(&'a Value),
}

fn say(value: &Value) -> Say<'_> {
    match value {
        Value::Tagged(t) if t.tag == "reset" => Say::Reset,
        Value::Tagged(t) if t.tag == "override" => Say::Override(&t.value),
        other => Say::Merge(other),
    }
}

/// Remove the merge tags left in a value: `!reset` entries go, `!override` values stay as they are.
/// A file's own tags mean nothing once nothing earlier is left to merge with.
pub fn strip_tags(value: &mut Value) {
    match value {
        Value::Mapping(m) => {
            m.retain(|_, v| !matches!(say(v), Say::Reset));
            for v in m.values_mut() {
                strip_tags(v);
            }
        }
        Value::Sequence(items) => {
            items.retain(|v| !matches!(say(v), Say::Reset));
            items.iter_mut().for_each(strip_tags);
        }
        Value::Tagged(t) if t.tag == "override" => {
            let mut inner = std::mem::take(&mut t.value);
            strip_tags(&mut inner);
            *value = inner;
        }
        _ => {}
    }
}

/// A later compose file's top level merged onto the earlier ones': services service by service
/// (as `merge_service`), every other section key by key.
pub fn merge_file(base: &mut Mapping, over: Mapping) {
    for (k, v) in over {
        let value = match (k.as_str(), base.get(&k), say(&v)) {
            (_, _, Say::Reset) => {
                base.remove(&k);
                continue;
            }
            (_, _, Say::Override(v)) => v.clone(),
            (Some("services"), Some(Value::Mapping(old)), Say::Merge(Value::Mapping(new))) => {
                let mut services = old.clone();
                for (name, svc) in new {
                    let merged = match (services.get(name), say(svc)) {
                        (_, Say::Reset) => {
                            services.remove(name);
                            continue;
                        }
                        (Some(Value::Mapping(a)), Say::Merge(Value::Mapping(b))) => Value::Mapping(merge_service(a, b)),
                        (_, Say::Override(v) | Say::Merge(v)) => v.clone(),
                    };
                    services.insert(name.clone(), merged);
                }
                Value::Mapping(services)
            }
            (_, Some(Value::Mapping(old)), Say::Merge(Value::Mapping(new))) => Value::Mapping(merge_maps(old, new)),
            (_, _, Say::Merge(v)) => v.clone(),
        };
        base.insert(k, value);
    }
}

/// `over` (the extending service, or the service in a later file) merged onto `base`.
pub fn merge_service(base: &Mapping, over: &Mapping) -> Mapping {
    let mut out = base.clone();
    for (k, v) in over {
        let key = k.as_str().unwrap_or_default();
        let v = match say(v) {
            Say::Reset => {
                out.remove(k);
                continue;
            }
            Say::Override(v) => {
                out.insert(k.clone(), v.clone());
                continue;
            }
            Say::Merge(v) => v,
        };
        let merged = match out.get(k) {
            None => v.clone(),
            Some(old) if KEYED.contains(&key) => Value::Mapping(merge_maps(&as_map(old), &as_map(v))),
            // `networks: [a]` and `networks: {a: {aliases: [x]}}` name the same attachments; a bare
            // name in the later file keeps what the earlier one said of that network.
            Some(old) if key == "networks" => {
                let mut nets = as_map(old);
                for (name, cfg) in as_map(v) {
                    match (nets.get(&name), &cfg) {
                        (Some(_), Value::Null) => {}
                        (Some(Value::Mapping(a)), Value::Mapping(b)) => {
                            let m = merge_maps(a, b);
                            nets.insert(name, Value::Mapping(m));
                        }
                        _ => {
                            nets.insert(name, cfg);
                        }
                    }
                }
                Value::Mapping(nets)
            }
            Some(Value::Sequence(old)) if JOINED.contains(&key) => {
                let new = match v {
                    Value::Sequence(items) => items.clone(),
                    Value::Null => Vec::new(),
                    other => vec![other.clone()],
                };
                Value::Sequence(join(key, old, &new))
            }
            Some(Value::Mapping(old)) => match v {
                Value::Mapping(new) => Value::Mapping(merge_maps(old, new)),
                other => other.clone(),
            },
            Some(_) => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

fn merge_maps(base: &Mapping, over: &Mapping) -> Mapping {
    let mut out = base.clone();
    for (k, v) in over {
        let merged = match (out.get(k), say(v)) {
            (_, Say::Reset) => {
                out.remove(k);
                continue;
            }
            (_, Say::Override(v)) => v.clone(),
            (Some(Value::Mapping(old)), Say::Merge(Value::Mapping(new))) => Value::Mapping(merge_maps(old, new)),
            (_, Say::Merge(v)) => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

/// `[A=1, B]` or `[db, cache]` as a mapping (`{A: "1", B: null}`, `{db: {}, cache: {}}`).
fn as_map(value: &Value) -> Mapping {
    match value {
        Value::Mapping(m) => m.clone(),
        Value::Sequence(items) => items
            .iter()
            .filter_map(|item| {
                let text = crate::read::yaml::scalar_string(item)?;
                Some(match text.split_once('=') {
                    Some((k, v)) => (Value::from(k), Value::from(v)),
                    None => (Value::from(text), Value::Null),
                })
            })
            .collect(),
        _ => Mapping::new(),
    }
}

/// Joined lists: later entries replace earlier ones with the same target (volumes) or the same
/// text; the rest keep their order.
fn join(key: &str, old: &[Value], new: &[Value]) -> Vec<Value> {
    let identity = |v: &Value| -> String {
        if key == "volumes" {
            match v {
                Value::Mapping(m) => m.get("target").and_then(crate::read::yaml::scalar_string).unwrap_or_default(),
                other => {
                    let text = crate::read::yaml::scalar_string(other).unwrap_or_default();
                    let parts: Vec<&str> = text.split(':').collect();
                    parts.get(1).or(parts.first()).map(|s| s.to_string()).unwrap_or_default()
                }
            }
        } else {
            yaml_serde::to_string(v).unwrap_or_default()
        }
    };
    let mut out: Vec<Value> = old.iter().filter(|o| !new.iter().any(|n| identity(n) == identity(o))).cloned().collect();
    out.extend(new.iter().cloned());
    out
}

/// Make the relative paths of a service written in folder `prefix` (relative to the main compose
/// folder) relative to the main compose folder.
pub fn rebase_service(service: &mut Mapping, prefix: &Path) {
    if prefix.as_os_str().is_empty() {
        return;
    }
    if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
        for v in volumes {
            match v {
                Value::String(text) => {
                    if let Some((source, rest)) = text.split_once(':') {
                        if source.starts_with('.') {
                            *text = format!("{}:{rest}", rebase(prefix, source));
                        }
                    }
                }
                Value::Mapping(m) => {
                    let bind = m.get("type").and_then(Value::as_str) == Some("bind");
                    if let Some(Value::String(source)) = m.get_mut("source") {
                        if bind && !source.starts_with('/') && !source.starts_with('~') {
                            *source = rebase(prefix, source);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    match service.get_mut("env_file") {
        Some(Value::String(path)) => *path = rebase(prefix, path),
        Some(Value::Sequence(items)) => {
            for item in items {
                match item {
                    Value::String(path) => *path = rebase(prefix, path),
                    Value::Mapping(m) => {
                        if let Some(Value::String(path)) = m.get_mut("path") {
                            *path = rebase(prefix, path);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Mapping(ext)) = service.get_mut("extends") {
        if let Some(Value::String(file)) = ext.get_mut("file") {
            *file = rebase(prefix, file);
        }
    }
}

/// `./conf/a.ini` written in `sub/` → `./sub/conf/a.ini`. Absolute paths stay as they are.
pub fn rebase(prefix: &Path, path: &str) -> String {
    if path.starts_with('/') || path.starts_with('~') || path.contains("${") {
        return path.to_string();
    }
    let joined: PathBuf = normalize(&prefix.join(path));
    let text = joined.to_string_lossy().replace('\\', "/");
    if text.starts_with("..") {
        text
    } else {
        format!("./{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Mapping {
        yaml_serde::from_str(text).unwrap()
    }

    #[test]
    fn extending_merges_maps_joins_lists_and_replaces_the_rest() {
        let base = map("image: a\ncommand: [x]\nenvironment: [A=1, B=2]\nports: ['80']\nvolumes: ['./a:/data', 'v:/cache']\nhealthcheck: {test: [CMD, a], interval: 5s}\n");
        let over = map(
            "command: y\nenvironment: {B: 3}\nports: ['443']\nvolumes: ['./b:/data']\nhealthcheck: {test: [CMD, b]}\n",
        );
        let m = merge_service(&base, &over);
        assert_eq!(m["image"], Value::from("a"));
        assert_eq!(m["command"], Value::from("y"));
        assert_eq!(m["environment"]["A"], Value::from("1"));
        assert_eq!(m["environment"]["B"], Value::from(3));
        assert_eq!(m["ports"], yaml_serde::from_str::<Value>("['80', '443']").unwrap());
        assert_eq!(m["volumes"], yaml_serde::from_str::<Value>("['v:/cache', './b:/data']").unwrap());
        assert_eq!(m["healthcheck"]["interval"], Value::from("5s"));
        assert_eq!(m["healthcheck"]["test"][1], Value::from("b"));
    }

    #[test]
    fn a_later_file_merges_resets_and_overrides() {
        let mut base = map("services:\n  a: {image: x, ports: ['80'], environment: {A: '1', B: '2'}, networks: {front: {aliases: [web]}}}\n  b: {image: y}\nvolumes: {data: {driver: local}}\nx-note: 1\n");
        let over = map("services:\n  a: {ports: ['443'], environment: {B: !reset null}, networks: [front, back], healthcheck: !override {test: [CMD, t]}}\n  b: !reset\n  c: {image: z}\nvolumes: {data: {name: kept}}\nx-note: !reset\n");
        merge_file(&mut base, over);
        let mut top = Value::Mapping(base);
        strip_tags(&mut top);
        let a = &top["services"]["a"];
        assert_eq!(a["ports"], yaml_serde::from_str::<Value>("['80', '443']").unwrap());
        assert_eq!(a["environment"]["A"], Value::from("1"));
        assert!(a["environment"].get("B").is_none(), "!reset removes one entry");
        assert_eq!(a["networks"]["front"]["aliases"][0], Value::from("web"), "a bare name keeps the aliases");
        assert!(a["networks"].get("back").is_some());
        assert_eq!(a["healthcheck"]["test"][1], Value::from("t"));
        assert!(top["services"].get("b").is_none(), "!reset removes a service");
        assert_eq!(top["services"]["c"]["image"], Value::from("z"));
        assert_eq!(top["volumes"]["data"]["driver"], Value::from("local"));
        assert_eq!(top["volumes"]["data"]["name"], Value::from("kept"));
        assert!(top.get("x-note").is_none());
    }

    #[test]
    fn tags_of_a_single_file_are_dropped() {
        let mut top: Value =
            yaml_serde::from_str("services:\n  a:\n    image: !override x\n    ports: !reset ['80']\n").unwrap();
        strip_tags(&mut top);
        assert_eq!(top["services"]["a"]["image"], Value::from("x"));
        assert!(top["services"]["a"].get("ports").is_none());
    }

    #[test]
    fn rebasing_moves_relative_paths_only() {
        let mut svc = map("volumes: ['./conf/a.ini:/a', 'data:/d', '/etc/x:/x', {type: bind, source: ../shared, target: /s}]\nenv_file: [./app.env, {path: ../common.env, required: false}]\n");
        rebase_service(&mut svc, Path::new("sub"));
        assert_eq!(svc["volumes"][0], Value::from("./sub/conf/a.ini:/a"));
        assert_eq!(svc["volumes"][1], Value::from("data:/d"));
        assert_eq!(svc["volumes"][2], Value::from("/etc/x:/x"));
        assert_eq!(svc["volumes"][3]["source"], Value::from("./shared"));
        assert_eq!(svc["env_file"][0], Value::from("./sub/app.env"));
        assert_eq!(svc["env_file"][1]["path"], Value::from("./common.env"));
    }
}
