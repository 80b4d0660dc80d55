//! The compose model: services as compose means them, after merge keys, interpolation and env files.
//! Built from the generic YAML tree; every key is either read here or listed in `unread` so the
//! rules can ignore it with a reason or the tool can warn about it.
//!
//! `Reader::service` reads a service key by key; the keys that take more than a line are read by
//! area: `environment` (env files and settings), `ports` (ports and `expose`), `mounts`
//! (`volumes`), `deploy` (replicas, restart, resources, placement, updates) and `health`
//! (`healthcheck` and its durations).

mod deploy;
mod environment;
mod health;
mod mounts;
mod ports;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use yaml_serde::Value;

use crate::read::yaml::{kind_of, scalar_string};
use deploy::{cpu, memory};
pub use health::duration;

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

    /// A count (`3`): a whole number, not negative; `what` names it in the problem.
    fn count(&mut self, value: &Value, path: &str, what: &str) -> Result<i32, Problem> {
        let text = self.s(value, path)?;
        let n = text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
        n.ok_or_else(|| problem(path, &text, format!("{what} `{text}` is not a count")))
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
                    let n = self.count(v, &path, "scale")?;
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

    fn check_strings(&mut self, value: &Value, path: &str) -> Result<(), Problem> {
        match value {
            Value::String(s) => self.ctx.interpolate(s, path).map(|_| ()),
            Value::Sequence(items) => items.iter().try_for_each(|v| self.check_strings(v, path)),
            Value::Mapping(m) => m.values().try_for_each(|v| self.check_strings(v, path)),
            _ => Ok(()),
        }
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

pub fn problem(path: &str, needle: &str, message: impl Into<String>) -> Problem {
    Problem { path: path.to_string(), needle: needle.to_string(), message: message.into(), help: String::new() }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
