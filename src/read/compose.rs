//! The compose model: services as compose means them, after merge keys, interpolation and env files.
//! Built from the generic YAML tree; every key is either read here or listed in `unread` so the
//! rules can ignore it with a reason or the tool can warn about it.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use yaml_serde::Value;

use crate::read::yaml::{kind_of, scalar_string};

/// A container setting and the variable its value came from (for secret pairing and reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    /// The variable the value traces to: `${DB_PASSWORD:-x}` → `DB_PASSWORD`; an env-file line `K=v` → `K`.
    pub origin: String,
    /// Read through `env_file` from the project's env source (`.env`): the whole settings file.
    pub from_env_source: bool,
    /// Read through `env_file` (any env file), not set by the service's own `environment:`.
    pub from_env_file: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `command: ["a", "b"]`.
    Exec(Vec<String>),
}

impl Command {
    pub fn argv(&self) -> &[String] {
        match self {
            Command::Exec(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub container: u16,
    /// The host port as written (`8080`, a range `8000-8002`); none or empty: a random one.
    pub published: Option<String>,
    pub protocol: String,
    /// From `ports:` (published on the host), not `expose:`.
    pub publish: bool,
    /// The host address it is published on (`127.0.0.1`: the host alone can reach it).
    pub host_ip: Option<String>,
}

impl Port {
    /// Published where other machines can reach it (not on a loopback address).
    pub fn reachable_from_outside(&self) -> bool {
        self.publish
            && !self.host_ip.as_deref().is_some_and(|ip| {
                let ip = ip.trim_start_matches('[').trim_end_matches(']');
                ip.starts_with("127.") || ip == "::1" || ip == "localhost"
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A path on the host, relative to the compose file's folder as written (`./nginx/ssl`).
    Bind(String),
    /// A named volume of the top-level `volumes:`.
    Volume(String),
    /// `- /data` alone: storage that lives as long as the container.
    Anonymous,
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub condition: String,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthTest {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Option<HealthTest>,
    pub interval: Option<u32>,
    pub timeout: Option<u32>,
    pub retries: Option<u32>,
    pub start_period: Option<u32>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    pub has_build: bool,
    /// Only `build:`: the image is named after the service and must be built and pushed.
    pub build_only: bool,
    pub profiles: Vec<String>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    /// env_file entries first (in order), then `environment`; later wins, first position kept.
    pub environment: IndexMap<String, Setting>,
    pub ports: Vec<Port>,
    pub expose: Vec<u16>,
    pub volumes: Vec<Mount>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    /// Network name → aliases. A service with no `networks:` is on `default`.
    pub networks: BTreeMap<String, Vec<String>>,
    pub network_mode: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub container_name: Option<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    /// `stdin_open` and `tty`: the container keeps stdin open / gets a terminal.
    pub stdin_open: bool,
    pub tty: bool,
    /// `group_add`: supplementary groups, as written (ids or names).
    pub group_add: Vec<String>,
    pub tmpfs: Vec<String>,
    /// `deploy.replicas` (or the older `scale`).
    pub replicas: Option<i32>,
    /// `restart` (`no`, `always`, `on-failure`, `unless-stopped`), or `deploy.restart_policy`'s
    /// condition in the same words (`none` → `no`, `any` → `always`).
    pub restart: Option<String>,
    /// `on-failure:N` or `deploy.restart_policy.max_attempts`.
    pub max_attempts: Option<i32>,
    /// `deploy.mode: global`: one container per node.
    pub global: bool,
    /// `deploy.placement.constraints` as written (`node.labels.zone == a`).
    pub constraints: Vec<String>,
    /// `deploy.placement.preferences[].spread` (`node.labels.zone`).
    pub spread: Vec<String>,
    /// `deploy.update_config`: `parallelism` and `order` (`stop-first`, `start-first`).
    pub update_parallelism: Option<i32>,
    pub update_order: Option<String>,
    /// `links`: (service, the alias it is reached by).
    pub links: Vec<(String, String)>,
    /// `deploy.resources` (and the older `mem_limit`, `mem_reservation`, `cpus`) as Kubernetes
    /// quantities: reservations are requests, limits are limits; keys `cpu` and `memory`.
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    /// Keys of the service this model does not read (for the rules to ignore or the tool to warn).
    pub unread: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub internal: bool,
    pub external: bool,
}

/// One problem with a value, reported with the service and key it sits at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    /// Text to search for in the source to point at the line.
    pub needle: String,
    pub message: String,
    pub help: String,
}

/// The settings of one env file: `(key, value, origin)` in file order.
pub type EnvEntries = Vec<(String, String, String)>;

/// What reading needs from outside: interpolation of a string and the entries of an env file.
pub trait Context {
    fn interpolate(&mut self, raw: &str, path: &str) -> Result<(String, Option<String>), Problem>;
    /// The settings of an env file as `(key, value, origin)`; `None` when it is optional and missing.
    fn env_file(&mut self, path: &str, required: bool, at: &str) -> Result<Option<EnvEntries>, Problem>;
    /// Whether an `env_file` entry names the project's env source (`.env` beside the compose file,
    /// read from its `.example` when missing, or the `--env-file`).
    fn is_env_source(&self, _path: &str) -> bool {
        false
    }
    /// The value of a variable of the env source (`.env`, `--env-file`, `--set`), for an
    /// `environment` entry that names only its key (`- SESSION_SECRET`, `SESSION_SECRET:`), as
    /// compose takes it; `None` when unset (compose then leaves the setting out). `at` names the entry.
    fn variable(&mut self, _key: &str, _at: &str) -> Option<String> {
        None
    }
}

/// Keys of a service that the model reads.
pub const READ_KEYS: &[&str] = &[
    "image",
    "build",
    "profiles",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "depends_on",
    "healthcheck",
    "networks",
    "network_mode",
    "user",
    "working_dir",
    "hostname",
    "container_name",
    "cap_add",
    "cap_drop",
    "privileged",
    "read_only",
    "tmpfs",
    "restart",
    "stdin_open",
    "tty",
    "group_add",
    "deploy",
    "links",
    "scale",
    "mem_limit",
    "mem_reservation",
    "cpus",
];

pub struct Reader<'c, C: Context> {
    pub ctx: &'c mut C,
}

impl<C: Context> Reader<'_, C> {
    fn s(&mut self, value: &Value, path: &str) -> Result<String, Problem> {
        let raw = scalar_string(value)
            .ok_or_else(|| problem(path, "", format!("expected a string, found {}", kind_of(value))))?;
        Ok(self.ctx.interpolate(&raw, path)?.0)
    }

    fn list(&mut self, value: &Value, path: &str) -> Result<Vec<String>, Problem> {
        match value {
            Value::Sequence(items) => {
                items.iter().enumerate().map(|(i, v)| self.s(v, &format!("{path}[{i}]"))).collect()
            }
            Value::Null => Ok(Vec::new()),
            other => Ok(vec![self.s(other, path)?]),
        }
    }

    fn flag(&mut self, value: &Value, path: &str) -> Result<bool, Problem> {
        let text = self.s(value, path)?;
        parse_bool(&text).ok_or_else(|| problem(path, &text, format!("`{text}` is not a boolean")))
    }

    fn command(&mut self, value: &Value, path: &str) -> Result<Option<Command>, Problem> {
        match value {
            Value::Null => Ok(None),
            Value::Sequence(_) => Ok(Some(Command::Exec(self.list(value, path)?))),
            other => {
                let text = self.s(other, path)?;
                let argv = shell_words::split(&text)
                    .map_err(|e| problem(path, &text, format!("cannot split the command into words: {e}")))?;
                Ok(Some(Command::Exec(argv)))
            }
        }
    }

    /// Read one service mapping.
    pub fn service(&mut self, name: &str, value: &Value) -> Result<Service, Problem> {
        let map = match value {
            Value::Mapping(m) => m,
            Value::Null => return Ok(Service { name: name.to_string(), ..Service::default() }),
            other => return Err(problem(name, name, format!("service `{name}` is {}, not a mapping", kind_of(other)))),
        };
        let mut svc = Service { name: name.to_string(), ..Service::default() };
        let mut env_files: Vec<(String, String, String, bool)> = Vec::new();
        let mut environment: Vec<(String, Setting)> = Vec::new();
        for (key, v) in map {
            let Some(key) = key.as_str() else { continue };
            let path = format!("services.{name}.{key}");
            match key {
                "image" => svc.image = Some(self.s(v, &path)?),
                "build" => svc.has_build = true,
                "profiles" => svc.profiles = self.list(v, &path)?,
                "command" => svc.command = self.command(v, &path)?,
                "entrypoint" => svc.entrypoint = self.command(v, &path)?,
                "env_file" => env_files = self.env_files(v, &path)?,
                "environment" => environment = self.environment(v, &path)?,
                "ports" => svc.ports = self.ports(v, &path)?,
                "expose" => self.expose(v, &path, &mut svc)?,
                "volumes" => svc.volumes = self.volumes(v, &path, &mut svc.unread)?,
                "links" => {
                    for link in self.list(v, &path)? {
                        let (target, alias) = link.split_once(':').unwrap_or((&link, &link));
                        svc.links.push((target.to_string(), alias.to_string()));
                    }
                }
                "scale" => {
                    let text = self.s(v, &path)?;
                    let n = text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
                    let n = n.ok_or_else(|| problem(&path, &text, format!("scale `{text}` is not a count")))?;
                    svc.replicas.get_or_insert(n);
                }
                "depends_on" => svc.depends_on = self.depends_on(v, &path)?,
                "healthcheck" => svc.healthcheck = Some(self.healthcheck(v, &path)?),
                "networks" => svc.networks = self.networks(v, &path)?,
                "network_mode" => svc.network_mode = Some(self.s(v, &path)?),
                "user" => svc.user = Some(self.s(v, &path)?),
                "working_dir" => svc.working_dir = Some(self.s(v, &path)?),
                "hostname" => svc.hostname = Some(self.s(v, &path)?),
                "container_name" => svc.container_name = Some(self.s(v, &path)?),
                "cap_add" => svc.cap_add = self.list(v, &path)?,
                "cap_drop" => svc.cap_drop = self.list(v, &path)?,
                "privileged" => svc.privileged = self.flag(v, &path)?,
                "read_only" => svc.read_only = self.flag(v, &path)?,
                "tmpfs" => svc.tmpfs = self.list(v, &path)?,
                "restart" => self.restart(v, &path, &mut svc)?,
                "stdin_open" => svc.stdin_open = self.flag(v, &path)?,
                "tty" => svc.tty = self.flag(v, &path)?,
                "group_add" => svc.group_add = self.list(v, &path)?,
                "deploy" => self.deploy(v, &path, &mut svc)?,
                "mem_limit" => {
                    let q = memory(&self.s(v, &path)?, &path)?;
                    svc.limits.entry("memory".into()).or_insert(q);
                }
                "mem_reservation" => {
                    let q = memory(&self.s(v, &path)?, &path)?;
                    svc.requests.entry("memory".into()).or_insert(q);
                }
                "cpus" => {
                    let q = cpu(&self.s(v, &path)?, &path)?;
                    svc.limits.entry("cpu".into()).or_insert(q);
                }
                // Extension fields are for tools and anchors; compose itself ignores them.
                other if other.starts_with("x-") => {}
                other => {
                    // Still interpolated, so an unset `${X:?}` anywhere in the file is refused.
                    self.check_strings(v, &path)?;
                    svc.unread.push(other.to_string());
                }
            }
        }
        for (key, value, origin, from_env_source) in env_files {
            // A setting is inherited only when the env source alone gives it: a later `.env` entry
            // that overrides the service's own env file keeps the setting the service's own.
            let own_before = svc.environment.get(&key).is_some_and(|s| !s.from_env_source);
            let from_env_source = from_env_source && !own_before;
            svc.environment.insert(key, Setting { value, origin, from_env_source, from_env_file: true });
        }
        for (key, setting) in environment {
            svc.environment.insert(key, setting);
        }
        // Grown one setting at a time, the map holds up to twice the room it needs, in every service.
        svc.environment.shrink_to_fit();
        if !map.contains_key("networks") && svc.network_mode.is_none() {
            svc.networks.insert("default".to_string(), Vec::new());
        }
        Ok(svc)
    }

    /// `expose`: TCP ports the Service carries; other protocols kept with theirs, so the plan can
    /// tell them apart from TCP.
    fn expose(&mut self, v: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        for (i, item) in self.list(v, path)?.into_iter().enumerate() {
            let (number, protocol) = item.split_once('/').unwrap_or((&item, "tcp"));
            let numbers = port_range(number, &format!("{path}[{i}]"))?;
            if protocol.eq_ignore_ascii_case("tcp") {
                svc.expose.extend(numbers);
            } else {
                // Kept with its protocol, so the plan can tell it apart from TCP.
                let port = |container| Port {
                    container,
                    published: None,
                    protocol: protocol.to_string(),
                    publish: false,
                    host_ip: None,
                };
                svc.ports.extend(numbers.into_iter().map(port));
            }
        }
        Ok(())
    }

    /// `restart`: `no`, `always`, `on-failure[:N]` or `unless-stopped`.
    fn restart(&mut self, v: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        let text = self.s(v, path)?;
        let (word, attempts) = text.split_once(':').unwrap_or((&text, ""));
        let word = word.trim();
        if !matches!(word, "no" | "always" | "on-failure" | "unless-stopped") {
            return Err(problem(
                path,
                &text,
                format!("restart `{text}` is not one of no, always, on-failure[:N], unless-stopped"),
            ));
        }
        if !attempts.is_empty() {
            let n = attempts.trim().parse::<i32>().ok().filter(|n| *n >= 0 && word == "on-failure");
            let n = n.ok_or_else(|| {
                problem(path, &text, format!("restart `{text}`: only on-failure takes a count, like on-failure:3"))
            })?;
            svc.max_attempts.get_or_insert(n);
        }
        svc.restart.get_or_insert(word.to_string());
        Ok(())
    }

    /// `deploy`: replicas, resources, mode, restart policy, placement and update order. Keys with no
    /// Kubernetes counterpart go to `unread` as `deploy.<key>`, so they are ignored with a reason
    /// or warned about by name.
    fn deploy(&mut self, value: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        self.check_strings(value, path)?;
        let Value::Mapping(map) = value else { return Ok(()) };
        for (key, v) in map {
            let Some(key) = key.as_str() else { continue };
            let at = format!("{path}.{key}");
            match key {
                "mode" => match self.s(v, &at)?.as_str() {
                    "global" => svc.global = true,
                    "replicated" => {}
                    other => svc.unread.push(format!("deploy.mode: {other}")),
                },
                "replicas" => {
                    let text = self.s(v, &at)?;
                    let n = text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
                    svc.replicas =
                        Some(n.ok_or_else(|| problem(&at, &text, format!("replicas `{text}` is not a count")))?);
                }
                "resources" => self.resources(v, &at, svc)?,
                "restart_policy" => {
                    let Value::Mapping(m) = v else { continue };
                    for (k, x) in m {
                        let k = k.as_str().unwrap_or_default();
                        let at = format!("{at}.{k}");
                        match k {
                            "condition" => {
                                let text = self.s(x, &at)?;
                                let word = match text.as_str() {
                                    "none" => "no",
                                    "on-failure" => "on-failure",
                                    "any" => "always",
                                    _ => {
                                        return Err(problem(
                                            &at,
                                            &text,
                                            format!("restart condition `{text}` is not one of none, on-failure, any"),
                                        ))
                                    }
                                };
                                svc.restart = Some(word.to_string());
                            }
                            "max_attempts" => {
                                let text = self.s(x, &at)?;
                                let n = text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
                                svc.max_attempts = Some(n.ok_or_else(|| {
                                    problem(&at, &text, format!("max_attempts `{text}` is not a count"))
                                })?);
                            }
                            other => svc.unread.push(format!("deploy.restart_policy.{other}")),
                        }
                    }
                }
                "placement" => {
                    let Value::Mapping(m) = v else { continue };
                    for (k, x) in m {
                        let k = k.as_str().unwrap_or_default();
                        let at = format!("{at}.{k}");
                        match k {
                            "constraints" => svc.constraints = self.list(x, &at)?,
                            "preferences" => {
                                for (i, p) in x.as_sequence().into_iter().flatten().enumerate() {
                                    match p.get("spread") {
                                        Some(spread) => svc.spread.push(self.s(spread, &format!("{at}[{i}]"))?),
                                        None => svc.unread.push("deploy.placement.preferences".into()),
                                    }
                                }
                            }
                            other => svc.unread.push(format!("deploy.placement.{other}")),
                        }
                    }
                }
                "update_config" => {
                    let Value::Mapping(m) = v else { continue };
                    for (k, x) in m {
                        let k = k.as_str().unwrap_or_default();
                        let at = format!("{at}.{k}");
                        match k {
                            "parallelism" => {
                                let text = self.s(x, &at)?;
                                let n = text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
                                svc.update_parallelism = Some(n.ok_or_else(|| {
                                    problem(&at, &text, format!("parallelism `{text}` is not a count"))
                                })?);
                            }
                            "order" => {
                                let text = self.s(x, &at)?;
                                if !matches!(text.as_str(), "stop-first" | "start-first") {
                                    return Err(problem(
                                        &at,
                                        &text,
                                        format!("update order `{text}` is not stop-first or start-first"),
                                    ));
                                }
                                svc.update_order = Some(text);
                            }
                            other => svc.unread.push(format!("deploy.update_config.{other}")),
                        }
                    }
                }
                other => svc.unread.push(format!("deploy.{other}")),
            }
        }
        Ok(())
    }

    /// `deploy.resources`: reservations are requests, limits are limits.
    fn resources(&mut self, resources: &Value, path: &str, svc: &mut Service) -> Result<(), Problem> {
        for (section, out) in [("limits", &mut svc.limits), ("reservations", &mut svc.requests)] {
            let Some(block) = resources.get(section) else { continue };
            let at = format!("{path}.{section}");
            if let Some(c) = block.get("cpus") {
                out.insert("cpu".into(), cpu(&self.s(c, &at)?, &at)?);
            }
            if let Some(m) = block.get("memory") {
                out.insert("memory".into(), memory(&self.s(m, &at)?, &at)?);
            }
            if let Value::Mapping(m) = block {
                for k in m.keys().filter_map(Value::as_str).filter(|k| !matches!(*k, "cpus" | "memory")) {
                    svc.unread.push(format!("deploy.resources.{section}.{k}"));
                }
            }
        }
        Ok(())
    }

    fn check_strings(&mut self, value: &Value, path: &str) -> Result<(), Problem> {
        match value {
            Value::String(s) => self.ctx.interpolate(s, path).map(|_| ()),
            Value::Sequence(items) => items.iter().try_for_each(|v| self.check_strings(v, path)),
            Value::Mapping(m) => m.values().try_for_each(|v| self.check_strings(v, path)),
            _ => Ok(()),
        }
    }

    fn env_files(&mut self, value: &Value, path: &str) -> Result<Vec<(String, String, String, bool)>, Problem> {
        let items: Vec<&Value> = match value {
            Value::Sequence(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("{path}[{i}]");
            let (file, required) = match item {
                Value::Mapping(m) => {
                    let file = m.get("path").ok_or_else(|| problem(&at, "", "env_file entry has no `path`"))?;
                    let file = self.s(file, &at)?;
                    let required = match m.get("required") {
                        Some(r) => self.flag(r, &at)?,
                        None => true,
                    };
                    (file, required)
                }
                other => (self.s(other, &at)?, true),
            };
            let from_env_source = self.ctx.is_env_source(&file);
            if let Some(entries) = self.ctx.env_file(&file, required, &at)? {
                out.extend(entries.into_iter().map(|(k, v, o)| (k, v, o, from_env_source)));
            }
        }
        Ok(out)
    }

    fn environment(&mut self, value: &Value, path: &str) -> Result<Vec<(String, Setting)>, Problem> {
        let mut out = Vec::new();
        match value {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let key = scalar_string(k).unwrap_or_default();
                    if v.is_null() {
                        // Compose takes it from its environment: here the pinned env source.
                        if let Some(value) = self.ctx.variable(&key, &format!("{path}.{key}")) {
                            out.push((
                                key.clone(),
                                Setting { value, origin: key, from_env_source: false, from_env_file: false },
                            ));
                        }
                        continue;
                    }
                    let raw = scalar_string(v)
                        .ok_or_else(|| problem(path, &key, format!("`{key}` is {}, not a string", kind_of(v))))?;
                    // The setting's own path only for a problem: formatting it for every setting of
                    // every service costs more than interpolating.
                    let (value, sole) = self.ctx.interpolate(&raw, path).map_err(|p| at_key(p, path, &key))?;
                    let origin = sole.unwrap_or_else(|| key.clone());
                    out.push((key, Setting { value, origin, from_env_source: false, from_env_file: false }));
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let raw = scalar_string(item).unwrap_or_default();
                    let Some((key, raw_value)) = raw.split_once('=') else {
                        let key = raw.trim().to_string();
                        if let Some(value) =
                            self.ctx.variable(&key, &format!("{path}.{key}")).filter(|_| !key.is_empty())
                        {
                            out.push((
                                key.clone(),
                                Setting { value, origin: key, from_env_source: false, from_env_file: false },
                            ));
                        }
                        continue;
                    };
                    let (value, sole) = self.ctx.interpolate(raw_value, path).map_err(|p| at_key(p, path, key))?;
                    let origin = sole.unwrap_or_else(|| key.to_string());
                    out.push((
                        key.to_string(),
                        Setting { value, origin, from_env_source: false, from_env_file: false },
                    ));
                }
            }
            Value::Null => {}
            other => return Err(problem(path, "environment", format!("environment is {}", kind_of(other)))),
        }
        Ok(out)
    }

    fn ports(&mut self, value: &Value, path: &str) -> Result<Vec<Port>, Problem> {
        let Value::Sequence(items) = value else {
            return Err(problem(path, "ports", format!("ports is {}, not a list", kind_of(value))));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(m) = item {
                let target = m.get("target").ok_or_else(|| problem(&at, "target", "port has no `target`"))?;
                let raw = scalar_string(target).unwrap_or_default();
                let target = self.s(target, &at)?;
                let published = m.get("published").map(|p| self.s(p, &at)).transpose()?;
                if let Some(host) = published.as_deref().filter(|h| !h.trim().is_empty()) {
                    port_range(host, &at)?;
                }
                let host_ip = m.get("host_ip").map(|p| self.s(p, &at)).transpose()?;
                let protocol = m.get("protocol").map(|p| self.s(p, &at)).transpose()?.unwrap_or_else(|| "tcp".into());
                for container in port_range(&target, &at).map_err(|e| unset_hint(e, &raw))? {
                    out.push(Port {
                        container,
                        published: published.clone(),
                        protocol: protocol.clone(),
                        publish: true,
                        host_ip: host_ip.clone(),
                    });
                }
                continue;
            }
            let raw = scalar_string(item).unwrap_or_default();
            let text = self.s(item, &at)?;
            let (spec, protocol) = match text.rsplit_once('/') {
                Some((spec, proto)) => (spec.to_string(), proto.to_string()),
                None => (text.clone(), "tcp".to_string()),
            };
            // [ip:][host:]container; an IPv6 address is in brackets (`[::1]:8080:80`).
            let (host_ip, rest) = match spec.strip_prefix('[').and_then(|r| r.split_once("]:")) {
                Some((ip, rest)) => (Some(ip.to_string()), rest.to_string()),
                None => (None, spec.clone()),
            };
            let parts: Vec<&str> = rest.split(':').collect();
            let (host_ip, published, container) = match parts.as_slice() {
                [container] => (host_ip, None, *container),
                [host, container] => (host_ip, Some(host.to_string()), *container),
                [ip @ .., host, container] => (Some(ip.join(":")), Some(host.to_string()), *container),
                [] => (host_ip, None, ""),
            };
            if let Some(host) = published.as_deref().filter(|h| !h.is_empty()) {
                port_range(host, &at).map_err(|e| unset_hint(e, &raw))?;
            }
            for port in port_range(container, &at).map_err(|e| unset_hint(e, &raw))? {
                out.push(Port {
                    container: port,
                    published: published.clone(),
                    protocol: protocol.clone(),
                    publish: true,
                    host_ip: host_ip.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Mounts; a long-syntax type with no Kubernetes counterpart (`npipe`, `cluster`, `image`) is
    /// left out and listed in `unread`, so it is warned about.
    fn volumes(&mut self, value: &Value, path: &str, unread: &mut Vec<String>) -> Result<Vec<Mount>, Problem> {
        let Value::Sequence(items) = value else {
            return Err(problem(path, "volumes", format!("volumes is {}, not a list", kind_of(value))));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(m) = item {
                let kind = m.get("type").map(|t| self.s(t, &at)).transpose()?.unwrap_or_else(|| "volume".into());
                let target = m.get("target").ok_or_else(|| problem(&at, "target", "volume has no `target`"))?;
                let target = self.s(target, &at)?;
                let source = m.get("source").map(|s| self.s(s, &at)).transpose()?;
                let read_only = match m.get("read_only") {
                    Some(r) => self.flag(r, &at)?,
                    None => false,
                };
                let source = match (kind.as_str(), source) {
                    ("bind", Some(s)) => MountSource::Bind(s),
                    ("tmpfs", _) => MountSource::Tmpfs,
                    ("volume", Some(s)) if !s.is_empty() => MountSource::Volume(s),
                    ("volume", _) => MountSource::Anonymous,
                    (other, _) => {
                        unread.push(format!("volumes (type {other} at {target})"));
                        continue;
                    }
                };
                out.push(Mount { source, target, read_only });
                continue;
            }
            let text = self.s(item, &at)?;
            // A Windows host path (`C:\data:/data`, `D:/x:/x:ro`) keeps its drive's colon.
            let drive = windows_drive(&text);
            let mut parts: Vec<&str> = text[drive.len()..].split(':').collect();
            let first = format!("{drive}{}", parts[0]);
            parts[0] = &first;
            // A Windows container path (`C:\data:D:\config:rw`, a Windows container) keeps its too.
            let joined;
            if parts.len() > 2
                && parts[1].len() == 1
                && !windows_drive(&format!("{}:{}", parts[1], parts[2])).is_empty()
            {
                joined = format!("{}:{}", parts[1], parts[2]);
                parts.splice(1..3, [joined.as_str()]);
            }
            let mount = match parts.as_slice() {
                [target] if drive.is_empty() => {
                    Mount { source: MountSource::Anonymous, target: target.to_string(), read_only: false }
                }
                [_] => {
                    return Err(problem(
                        &at,
                        &text,
                        format!("`{text}` names a Windows host path but no container path"),
                    ))
                }
                [source, target, rest @ ..] => {
                    let read_only = rest.iter().any(|m| m.split(',').any(|o| o == "ro"));
                    let source = if is_host_path(source) {
                        MountSource::Bind(source.to_string())
                    } else {
                        MountSource::Volume(source.to_string())
                    };
                    Mount { source, target: target.to_string(), read_only }
                }
                [] => continue,
            };
            out.push(mount);
        }
        Ok(out)
    }

    fn depends_on(&mut self, value: &Value, path: &str) -> Result<Vec<Dependency>, Problem> {
        let mut out = Vec::new();
        match value {
            Value::Sequence(_) => {
                for service in self.list(value, path)? {
                    out.push(Dependency { service, condition: "service_started".into(), required: true });
                }
            }
            Value::Mapping(m) => {
                for (k, v) in m {
                    let service = scalar_string(k).unwrap_or_default();
                    let at = format!("{path}.{service}");
                    let condition = v.get("condition").map(|c| self.s(c, &at)).transpose()?;
                    let required = match v.get("required") {
                        Some(r) => self.flag(r, &at)?,
                        None => true,
                    };
                    out.push(Dependency {
                        service,
                        condition: condition.unwrap_or_else(|| "service_started".into()),
                        required,
                    });
                }
            }
            _ => {}
        }
        Ok(out)
    }

    fn healthcheck(&mut self, value: &Value, path: &str) -> Result<Healthcheck, Problem> {
        let mut hc = Healthcheck {
            test: None,
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
            disabled: false,
        };
        let Value::Mapping(m) = value else { return Ok(hc) };
        for (k, v) in m {
            let key = k.as_str().unwrap_or_default();
            let at = format!("{path}.{key}");
            match key {
                "test" => {
                    hc.test = match v {
                        Value::Sequence(_) => {
                            let argv = self.list(v, &at)?;
                            match argv.split_first() {
                                Some((first, rest)) if first == "CMD" => Some(HealthTest::Exec(rest.to_vec())),
                                Some((first, rest)) if first == "CMD-SHELL" => Some(HealthTest::Shell(rest.join(" "))),
                                Some((first, _)) if first == "NONE" => {
                                    hc.disabled = true;
                                    None
                                }
                                Some(_) => Some(HealthTest::Exec(argv)),
                                None => None,
                            }
                        }
                        other => Some(HealthTest::Shell(self.s(other, &at)?)),
                    }
                }
                "interval" => hc.interval = Some(duration(&self.s(v, &at)?, &at)?),
                "timeout" => hc.timeout = Some(duration(&self.s(v, &at)?, &at)?),
                "start_period" => hc.start_period = Some(duration(&self.s(v, &at)?, &at)?),
                "retries" => {
                    let text = self.s(v, &at)?;
                    hc.retries = Some(
                        text.parse().map_err(|_| problem(&at, &text, format!("retries `{text}` is not a number")))?,
                    );
                }
                "disable" => hc.disabled = self.flag(v, &at)?,
                _ => {}
            }
        }
        Ok(hc)
    }

    fn networks(&mut self, value: &Value, path: &str) -> Result<BTreeMap<String, Vec<String>>, Problem> {
        let mut out = BTreeMap::new();
        match value {
            Value::Sequence(_) => {
                for n in self.list(value, path)? {
                    out.insert(n, Vec::new());
                }
            }
            Value::Mapping(m) => {
                for (k, v) in m {
                    let name = scalar_string(k).unwrap_or_default();
                    let aliases = match v.get("aliases") {
                        Some(a) => self.list(a, &format!("{path}.{name}.aliases"))?,
                        None => Vec::new(),
                    };
                    out.insert(name, aliases);
                }
            }
            _ => {}
        }
        Ok(out)
    }
}

/// A problem found at `path` moved to the key under it that holds the value (`….environment.KEY`).
fn at_key(mut p: Problem, path: &str, key: &str) -> Problem {
    if p.path == path {
        p.path = format!("{path}.{key}");
    }
    p
}

pub fn problem(path: &str, needle: &str, message: impl Into<String>) -> Problem {
    Problem { path: path.to_string(), needle: needle.to_string(), message: message.into(), help: String::new() }
}

fn is_host_path(source: &str) -> bool {
    source.starts_with('.')
        || source.starts_with('/')
        || source.starts_with('~')
        || source.contains('/')
        || !windows_drive(source).is_empty()
}

/// `C:` of a Windows path (`C:\data`, `c:/data`), else empty.
fn windows_drive(text: &str) -> &str {
    let b = text.as_bytes();
    if b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/') {
        &text[..2]
    } else {
        ""
    }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

/// A port problem whose text came from variables (`${APP_PORT}`): name them, since an empty or
/// wrong port is most often an unset variable.
fn unset_hint(mut p: Problem, raw: &str) -> Problem {
    let mut names: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let braced = rest.starts_with('{');
        let body = if braced { &rest[1..] } else { rest };
        let name: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if !names.is_empty() {
        let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        p.message = if p.message.starts_with("invalid port ``") {
            format!("empty port in `{raw}`: {list} is unset or empty")
        } else {
            format!("{} in `{raw}`, from {list}", p.message)
        };
        p.help = format!("set {list} in the env file (.env or --env-file) or with --set, or fix `{raw}`");
        if p.needle.is_empty() {
            p.needle = raw.to_string();
        }
    }
    p
}

/// `8080` or a range `3000-3002`; each number must be a port (1–65535).
fn port_range(text: &str, path: &str) -> Result<Vec<u16>, Problem> {
    let one = |t: &str| -> Result<u16, Problem> {
        let t = t.trim();
        match t.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(Problem {
                path: path.to_string(),
                needle: t.to_string(),
                message: format!("invalid port `{t}` (a port is a number from 1 to 65535)"),
                help: "fix the port, or the variable that sets it".to_string(),
            }),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if b < a || b - a > 1000 {
                return Err(problem(path, text, format!("invalid port range `{text}`")));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![one(text)?]),
    }
}

/// Compose CPUs (`0.5`, `2`) as a Kubernetes quantity (`500m`, `2`).
fn cpu(text: &str, path: &str) -> Result<String, Problem> {
    let n: f64 = text.trim().parse().map_err(|_| problem(path, text, format!("cpus `{text}` is not a number")))?;
    if !n.is_finite() || n <= 0.0 || n > 1e6 {
        return Err(problem(path, text, format!("cpus `{text}` is not a positive number")));
    }
    let milli = (n * 1000.0).round().max(1.0) as u64;
    Ok(if milli.is_multiple_of(1000) { (milli / 1000).to_string() } else { format!("{milli}m") })
}

/// A compose byte size (`512m`, `1g`, `256MB`, `1024`) as a Kubernetes quantity (`512Mi`, `1Gi`).
fn memory(text: &str, path: &str) -> Result<String, Problem> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || problem(path, text, format!("`{text}` is not a size (like 512m or 1g)"));
    let digits = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let suffix = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => "",
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        "t" => "Ti",
        _ => return Err(bad()),
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(format!("{n}{suffix}")),
        _ => {
            // Fractions (`1.5g`) in the next unit down.
            let f: f64 = number.parse().map_err(|_| bad())?;
            let (lower, factor) = match suffix {
                "Ti" => ("Gi", 1024.0),
                "Gi" => ("Mi", 1024.0),
                "Mi" => ("Ki", 1024.0),
                _ => ("", 1024.0),
            };
            let n = (f * factor).round() as u64;
            if !f.is_finite() || f <= 0.0 || n == 0 {
                return Err(bad());
            }
            Ok(format!("{n}{lower}"))
        }
    }
}

/// A compose duration (`1m30s`, `500ms`, `30s`) in whole seconds, at least 1.
pub fn duration(text: &str, path: &str) -> Result<u32, Problem> {
    let bad = || problem(path, text, format!("`{text}` is not a duration (like 30s or 1m30s)"));
    let text = text.trim();
    let mut total_ms: u64 = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: f64 = number.parse().map_err(|_| bad())?;
        let factor = match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            _ => return Err(bad()),
        };
        total_ms += (n * factor) as u64;
        number.clear();
    }
    if !number.is_empty() {
        let n: f64 = number.parse().map_err(|_| bad())?;
        total_ms += (n * 1000.0) as u64;
    }
    Ok(total_ms.div_ceil(1000).clamp(1, u32::MAX as u64) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s", "x").unwrap(), 30);
        assert_eq!(duration("1m30s", "x").unwrap(), 90);
        assert_eq!(duration("500ms", "x").unwrap(), 1);
        assert_eq!(duration("5", "x").unwrap(), 5);
        assert!(duration("soon", "x").is_err());
    }

    #[test]
    fn ports_and_ranges() {
        assert_eq!(port_range("80", "p").unwrap(), vec![80]);
        assert_eq!(port_range("3000-3002", "p").unwrap(), vec![3000, 3001, 3002]);
        let e = port_range("70000", "p").unwrap_err();
        assert!(e.message.contains("70000"));
        assert!(port_range("0", "p").is_err());
    }

    #[test]
    fn resource_quantities() {
        assert_eq!(cpu("0.5", "p").unwrap(), "500m");
        assert_eq!(cpu("2", "p").unwrap(), "2");
        assert!(cpu("-1", "p").is_err());
        assert_eq!(memory("512M", "p").unwrap(), "512Mi");
        assert_eq!(memory("1g", "p").unwrap(), "1Gi");
        assert_eq!(memory("256mb", "p").unwrap(), "256Mi");
        assert_eq!(memory("1.5g", "p").unwrap(), "1536Mi");
        assert_eq!(memory("1048576", "p").unwrap(), "1048576");
        assert!(memory("lots", "p").is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
