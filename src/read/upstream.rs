//! Reading Dify's `docker/` folder as it is: the compose file, the pinned env source (`.env`, else
//! `.env.example`, or `--env-file`), the env files services name, and the files they bind-mount.
//! This is the only module that reads input files.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use yaml_serde::{Mapping, Value};

use crate::error::{display_path, Error, Result};
use crate::hash::sha256;
use crate::read::compose::{self, Context, EnvEntries, MountSource, Network, Problem, Reader, Service};
use crate::read::dotenv;
use crate::read::interpolate::{self, InterpolationError};
use crate::read::paths::{file_name, normalize, relative_name};
pub use crate::read::project::{HostPath, Project};
use crate::read::scope::{self, ReadScope, Refusal, MAX_TEXT_BYTES};
use crate::warning::{Warning, WarningKind};
use crate::{names, read::merge, read::yaml};

/// Input files read so far, with the SHA-256 of their contents, and the folders reads are
/// confined to.
struct Inputs {
    hashes: BTreeMap<String, String>,
    scope: ReadScope,
}

impl Inputs {
    fn insert(&mut self, name: String, hash: String) {
        self.hashes.insert(name, hash);
    }

    /// A text file named by another input: inside the scope, a regular file, bounded.
    fn text(&self, path: &Path, what: &str) -> Result<String> {
        let bytes = self.scope.read(path, MAX_TEXT_BYTES).map_err(|r| refused(path, what, &r))?;
        checked_text(path, bytes, what)
    }
}

/// The refusal of a read, naming the file.
fn refused(path: &Path, what: &str, r: &Refusal) -> Error {
    let help = match r {
        Refusal::Missing | Refusal::Io(_) | Refusal::NotRegular(_) => format!("{}; pass a readable {what}", r.help()),
        _ => r.help().to_string(),
    };
    Error::file(path, r.to_string(), help)
}

/// What the user chose on the command line about the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The first compose file; its folder is the folder every relative path is read from.
    pub compose: PathBuf,
    /// Compose files merged over it, in order (`a.yaml b.yaml`, `-f a.yaml -f b.yaml`).
    pub more: Vec<PathBuf>,
    /// With no `more`, merge the override file beside `compose` (`compose.override.yaml` …), as
    /// `docker compose` does in that folder. The command line sets it unless `--no-override`.
    pub find_override: bool,
    pub env_file: Option<PathBuf>,
    /// `--set KEY=VALUE`: replaces the value in the env source (before anything is interpolated)
    /// and in every env file a service reads.
    pub set: Vec<(String, String)>,
    /// Settings the rules derive (the public URL's, the in-cluster addresses): each is set as a
    /// `--set` is, but only where the release has the setting (its env source, or a service's
    /// settings) and no `--set` names it.
    pub derived: Vec<(String, String)>,
    /// `--profile`: replaces `COMPOSE_PROFILES` when given.
    pub profiles: Option<Vec<String>>,
    /// The compose file's bytes when they come from standard input (`-`); `compose` then only
    /// names it, and its folder is the current one.
    pub stdin: Option<Vec<u8>>,
    /// What the compose file should be, for the help of an error about it (`Dify's
    /// docker/docker-compose.yaml`, from the rules' `guide:`); none: any compose file.
    pub expected: Option<String>,
    /// Files of the application's own repository that tell its images' facts (`api/Dockerfile`),
    /// read from the folder above the compose folder when it is a checkout of it (a Dify checkout:
    /// `docker/` beside `api/` and `web/`).
    pub checkout_files: BTreeSet<String>,
    /// `--allow-read`: folders outside the compose file's folder that files may be read from.
    pub allow_read: Vec<PathBuf>,
}

/// Read the compose file and everything it names.
pub fn load(opts: &Options) -> Result<Project> {
    let compose_path = &opts.compose;
    let dir = compose_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut inputs = Inputs { hashes: BTreeMap::new(), scope: ReadScope::new(&dir, &opts.allow_read) };
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let mut files = read_compose_files(opts, &mut inputs)?;
    if let Some(text) = override_not_read(opts, &inputs.scope).filter(|_| !files.found_override) {
        warnings.push(Warning::new(WarningKind::Config, text));
    }
    let env = read_env_source(opts, &dir, &mut inputs)?;
    let mut services_value = take_services(&mut files.top, compose_path, &mut notes)?;
    extends(&mut services_value, compose_path, &dir, &mut inputs)?;
    configs_and_secrets(&mut services_value, &files.top, &mut warnings);
    let mut ctx = Loader {
        dir: dir.clone(),
        env: &env.values,
        env_source: env.path.clone(),
        overrides: &env.overrides,
        cache: HashMap::new(),
        interpolated: HashMap::new(),
        expanded: 0,
        inputs: &mut inputs,
        examples_read: Vec::new(),
        known: HashSet::new(),
        unset: Vec::new(),
    };
    let (services, unread_places) = read_services(&files, compose_path, services_value, &mut ctx, &mut warnings)?;
    if let Some(again) = derived_beyond_env_source(opts, &env.source_keys, &services) {
        return load(&again);
    }
    unused_settings(opts, &ctx, &env.source_keys, &mut warnings, &mut notes);
    let (profiles, active) = active_profiles(opts, &env.values, &services, compose_path)?;
    active_warnings(&services, &active, &mut warnings);
    let host_paths = read_host_paths(&dir, &services, &active, &mut inputs, &mut warnings)?;
    let checkout =
        if opts.stdin.is_some() { BTreeMap::new() } else { read_checkout(&dir, &opts.checkout_files, &mut inputs) };
    Ok(Project {
        checkout,
        compose_name: file_name(compose_path),
        merged: files.merged,
        found_override: files.found_override,
        services,
        active,
        profiles,
        networks: networks(&files.top),
        unread_top: unread_top(&files.top),
        env: env.values,
        host_paths,
        inputs: inputs.hashes,
        notes,
        warnings,
        unread_places,
    })
}

/// Largest source file read from a checkout (a Dockerfile, a version file).
const MAX_CHECKOUT_FILE: u64 = 1 << 20;

/// The checkout files that exist above the compose folder, by their path in the repository: only
/// regular files (no symlink), each at most `MAX_CHECKOUT_FILE`; recorded as inputs (`../api/Dockerfile`).
fn read_checkout(dir: &Path, files: &BTreeSet<String>, inputs: &mut Inputs) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if files.is_empty() {
        return out;
    }
    let here = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Some(root) = std::fs::canonicalize(here).ok().and_then(|d| d.parent().map(Path::to_path_buf)) else {
        return out;
    };
    for file in files {
        if file.split('/').any(|part| part == ".." || part == "." || part.is_empty()) {
            continue;
        }
        // No symlink on the way (a linked `api/` folder leads anywhere), only a regular file,
        // opened without blocking, at most MAX_CHECKOUT_FILE.
        if scope::symlink_on_the_way(&root, file).is_some() {
            continue;
        }
        if let Ok(text) = scope::read_tree_text(&root.join(file), MAX_CHECKOUT_FILE) {
            inputs.insert(format!("../{file}"), sha256(text.as_bytes()));
            out.insert(file.clone(), text);
        }
    }
    out
}

/// The compose files read and merged: the first one's text and folder, the merged top-level
/// mapping, and where each service was written.
struct ComposeFiles {
    text: String,
    top: Mapping,
    /// Where each included service was written, so problems in it point into that file.
    origins: HashMap<String, (PathBuf, String)>,
    /// Each later file with the services it names, so a problem points into the file that set it.
    later: Vec<(PathBuf, String, HashSet<String>)>,
    /// The later files, named relative to the first one's folder.
    merged: Vec<String>,
    found_override: bool,
}

impl ComposeFiles {
    /// The latest file that names service `name` and holds the value at `path`, else where the
    /// service was defined.
    fn written_in<'a>(&'a self, compose_path: &'a Path, name: &str, path: &str, needle: &str) -> (&'a Path, &'a str) {
        let first =
            self.origins.get(name).map_or((compose_path, self.text.as_str()), |(p, t)| (p.as_path(), t.as_str()));
        self.later
            .iter()
            .rev()
            .filter(|(_, _, named)| named.contains(name))
            .map(|(p, t, _)| (p.as_path(), t.as_str()))
            .find(|(_, t)| yaml::holds(t, path, needle))
            .unwrap_or(first)
    }
}

/// The compose file (or standard input), its `include`s, and the files merged over it in order
/// (named, or the override file beside it); their relative paths are read from the first file's
/// folder, as compose reads them.
fn read_compose_files(opts: &Options, inputs: &mut Inputs) -> Result<ComposeFiles> {
    let compose_path = &opts.compose;
    let expected = opts.expected.as_deref().unwrap_or("a compose file (compose.yaml, docker-compose.yml)");
    let text = match &opts.stdin {
        Some(bytes) => checked_text(compose_path, bytes.clone(), "compose file")?,
        None => read_named(compose_path, "compose file").map_err(|e| match compose_path.is_file() {
            true => e,
            false => e.with_help(format!("check the path; pass {expected}")),
        })?,
    };
    let dir = compose_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = yaml::parse(compose_path, &text, "compose file")?;
    let mut top = compose_mapping(compose_path, root, &format!("pass {expected}"))?;

    inputs.insert(file_name(compose_path), sha256(text.as_bytes()));
    let mut origins: HashMap<String, (PathBuf, String)> = HashMap::new();
    include(&mut top, compose_path, &dir, 0, inputs, &mut origins)?;

    // Later compose files, merged in order; their relative paths are read from the first file's
    // folder, as compose reads them.
    let mut more = opts.more.clone();
    let found_override = match override_beside(opts, &inputs.scope) {
        Some(path) => {
            more.push(path);
            true
        }
        None => false,
    };
    let mut later: Vec<(PathBuf, String, HashSet<String>)> = Vec::new();
    let mut merged = Vec::new();
    for path in &more {
        let text = read_named(path, "compose file")?;
        merged.push(relative_name(&dir, path));
        inputs.insert(relative_name(&dir, path), sha256(text.as_bytes()));
        let mut over = compose_mapping(
            path,
            yaml::parse(path, &text, "compose file")?,
            "pass a compose file to merge over the first one",
        )?;
        include(&mut over, path, &dir, 0, inputs, &mut origins)?;
        let named = match over.get("services") {
            Some(Value::Mapping(m)) => m.keys().filter_map(yaml::scalar_string).collect(),
            _ => HashSet::new(),
        };
        merge::merge_file(&mut top, over);
        later.push((path.clone(), text, named));
    }
    let mut top_value = Value::Mapping(top);
    merge::strip_tags(&mut top_value);
    let Value::Mapping(top) = top_value else { unreachable!("a mapping stays a mapping") };
    Ok(ComposeFiles { text, top, origins, later, merged, found_override })
}

/// The env source, pinned: its values after `--set` (which also adds variables it lacks), the keys
/// it sets itself, and the `--set`s.
struct EnvSource {
    path: Option<PathBuf>,
    values: IndexMap<String, String>,
    source_keys: HashSet<String>,
    overrides: HashMap<String, String>,
}

fn read_env_source(opts: &Options, dir: &Path, inputs: &mut Inputs) -> Result<EnvSource> {
    let (env_path, env_text) = env_source(opts, dir, inputs)?;
    let mut entries = Vec::new();
    if let (Some(path), Some(text)) = (&env_path, &env_text) {
        inputs.insert(relative_name(dir, path), sha256(text.as_bytes()));
        entries = dotenv::parse(text).map_err(|e| {
            Error::at(path, text, e.line, e.column, format!("invalid env file: {}", e.reason), "fix this line")
        })?;
    }
    // The derived settings the env source has, then the `--set`s.
    let has = |k: &String| entries.iter().any(|e| &e.key == k) && !opts.set.iter().any(|(s, _)| s == k);
    let overrides: HashMap<String, String> =
        opts.derived.iter().filter(|(k, _)| has(k)).chain(&opts.set).cloned().collect();
    let mut env = IndexMap::new();
    if let (Some(path), Some(text)) = (&env_path, &env_text) {
        let expanded = dotenv::expand(&entries, &|k| overrides.get(k).cloned(), &|_| None)
            .map_err(|(line, e)| interpolation_error(path, text, Some(line), &e))?;
        for (k, v, _) in expanded {
            env.insert(k, v);
        }
    }
    let source_keys: HashSet<String> = env.keys().cloned().collect();
    for (k, v) in &opts.set {
        env.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(EnvSource { path: env_path, values: env, source_keys, overrides })
}

/// The options to read again with, when a derived setting the env source lacks is one of a
/// service's settings (its `environment`, or an env file it reads): every derived setting the
/// release has then becomes a `--set` before the user's, as it must be known before anything is
/// interpolated. None when the env source holds every derived setting the release has (the one
/// read stands).
fn derived_beyond_env_source(
    opts: &Options,
    source_keys: &HashSet<String>,
    services: &IndexMap<String, Service>,
) -> Option<Options> {
    let given = |k: &String| opts.set.iter().any(|(s, _)| s == k);
    let in_services = |k: &String| services.values().any(|s| s.environment.contains_key(k));
    if !opts.derived.iter().any(|(k, _)| !source_keys.contains(k) && !given(k) && in_services(k)) {
        return None;
    }
    let known = opts.derived.iter().filter(|(k, _)| (source_keys.contains(k) || in_services(k)) && !given(k));
    Some(Options { set: known.chain(&opts.set).cloned().collect(), derived: Vec::new(), ..opts.clone() })
}

/// The services' mapping, taken out of the top level (not copied: they are most of the file), or
/// the top level itself of a legacy version 1 file.
fn take_services(top: &mut Mapping, compose_path: &Path, notes: &mut Vec<String>) -> Result<Mapping> {
    let services_value = match top.get_mut("services").map(std::mem::take) {
        Some(Value::Mapping(m)) => m,
        Some(other) => {
            return Err(Error::file(
                compose_path,
                format!("`services` is {}, not a mapping", yaml::kind_of(&other)),
                "list the services under `services:`",
            ))
        }
        // Legacy v1 files: services at the top level, each with an image or build.
        None if !top.is_empty() && top.iter().all(|(k, v)| is_legacy_service(k, v)) => {
            notes.push(format!(
                "{} is a legacy version 1 file (services at the top level, no `services:`); read as if they were under `services:`",
                file_name(compose_path)
            ));
            top.clone()
        }
        None => {
            return Err(Error::file(
                compose_path,
                "the file has no `services:`",
                "pass a compose file that defines services",
            ))
        }
    };
    if services_value.is_empty() {
        return Err(Error::file(compose_path, "`services:` is empty", "pass a compose file that defines services"));
    }
    Ok(services_value)
}

/// Where each service key not read is written: (service, key) → place.
type Places = BTreeMap<(String, String), crate::error::Location>;

/// Every service read from its generic tree (freed as it goes), with where each key not read is
/// written; link aliases added; `depends_on` naming no service said.
fn read_services(
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

/// What the settings leave unsaid: `environment` entries with no value anywhere, `--set`s nothing
/// uses (with the closest name), and env files read from their `.example`.
fn unused_settings(
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
fn networks(top: &Mapping) -> BTreeMap<String, Network> {
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
fn unread_top(top: &Mapping) -> Vec<String> {
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
fn active_profiles(
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
fn active_warnings(services: &IndexMap<String, Service>, active: &BTreeSet<String>, warnings: &mut Vec<Warning>) {
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

/// Each bind-mount source of an active service, read once however many services mount it.
fn read_host_paths(
    dir: &Path,
    services: &IndexMap<String, Service>,
    active: &BTreeSet<String>,
    inputs: &mut Inputs,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, HostPath>> {
    let mut host_paths = BTreeMap::new();
    for svc in services.values().filter(|s| active.contains(&s.name)) {
        for m in &svc.volumes {
            if let MountSource::Bind(src) = &m.source {
                if !host_paths.contains_key(src) {
                    let hp = read_host_path(dir, src, inputs, warnings)?;
                    host_paths.insert(src.clone(), hp);
                }
            }
        }
    }
    Ok(host_paths)
}

/// A compose file's document as its top-level mapping, else the refusal naming what it is.
fn compose_mapping(path: &Path, document: Value, help: &str) -> Result<Mapping> {
    match document {
        Value::Mapping(m) => Ok(m),
        other => Err(Error::file(
            path,
            format!("the document is {}, not a mapping with `services:`", yaml::kind_of(&other)),
            help,
        )),
    }
}

/// Override files `docker compose` merges over the compose file of their folder, in its order of
/// preference (compose-go's `DefaultOverrideFileNames`).
const OVERRIDE_NAMES: &[&str] =
    &["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"];

/// The override file beside a single compose file read from disk, when asked to look for one.
fn override_beside(opts: &Options, scope: &ReadScope) -> Option<PathBuf> {
    if !opts.find_override || !opts.more.is_empty() || opts.stdin.is_some() {
        return None;
    }
    let dir = opts.compose.parent().map(Path::to_path_buf).unwrap_or_default();
    OVERRIDE_NAMES.iter().map(|n| dir.join(n)).find(|p| scope.is_file(p) && normalize(p) != normalize(&opts.compose))
}

/// An override file beside the compose file that is not read (a symlink out of the project, not a
/// regular file): said, since `docker compose` would merge it.
fn override_not_read(opts: &Options, scope: &ReadScope) -> Option<String> {
    if !opts.find_override || !opts.more.is_empty() || opts.stdin.is_some() {
        return None;
    }
    let dir = opts.compose.parent().map(Path::to_path_buf).unwrap_or_default();
    OVERRIDE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.symlink_metadata().is_ok() && !scope.is_file(p))
        .map(|p| format!("{} is not read (not a regular file inside the project, or a link out of it), so it is not merged as `docker compose` would merge it", p.display()))
}

/// Deepest chain of `include` files and of `extends`.
const MAX_DEPTH: usize = 16;

/// Top-level `include:`: each file is read relative to the file naming it, its own includes first;
/// its services, volumes, networks, configs and secrets join this file's, with relative paths
/// rebased to the main compose folder. A service defined twice is refused, as compose does.
fn include(
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
fn extends(services: &mut Mapping, file: &Path, main_dir: &Path, inputs: &mut Inputs) -> Result<()> {
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
fn configs_and_secrets(services: &mut Mapping, top: &Mapping, warnings: &mut Vec<Warning>) {
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

fn is_legacy_service(key: &Value, value: &Value) -> bool {
    key.as_str().is_some_and(|k| !k.starts_with("x-"))
        && matches!(value, Value::Mapping(m) if m.contains_key("image") || m.contains_key("build"))
}

fn env_source(opts: &Options, dir: &Path, inputs: &Inputs) -> Result<(Option<PathBuf>, Option<String>)> {
    if let Some(path) = &opts.env_file {
        return Ok((Some(path.clone()), Some(read_named(path, "env file")?)));
    }
    for name in [".env", ".env.example"] {
        let path = dir.join(name);
        // A symlink or a FIFO there is read, and refused with its reason.
        if path.symlink_metadata().is_ok() {
            let text = inputs.text(&path, "env file")?;
            return Ok((Some(path), Some(text)));
        }
    }
    Ok((None, None))
}

struct Loader<'a> {
    dir: PathBuf,
    env: &'a IndexMap<String, String>,
    env_source: Option<PathBuf>,
    overrides: &'a HashMap<String, String>,
    cache: HashMap<PathBuf, Option<EnvEntries>>,
    /// Interpolated strings: a shared env block merged into every service repeats the same ones.
    interpolated: HashMap<String, (String, Option<String>)>,
    /// Bytes of interpolated values handed out so far.
    expanded: usize,
    inputs: &'a mut Inputs,
    /// Env files read from their `.example` because the file itself is missing.
    examples_read: Vec<String>,
    /// Every variable a compose string refers to and every key of an env file read: what `--set`
    /// can change.
    known: HashSet<String>,
    /// `environment` entries that name only a key the env source does not set: (service path, key).
    unset: Vec<(String, String)>,
}

/// Largest sum of the compose file's strings after interpolation: a file that repeats a large
/// variable a million times is refused before it fills the memory.
const MAX_INTERPOLATED_BYTES: usize = 64 << 20;

impl Loader<'_> {
    /// An interpolated value, refused once the file's values together pass the limit.
    fn bounded(
        &self,
        value: (String, Option<String>),
        path: &str,
        raw: &str,
    ) -> std::result::Result<(String, Option<String>), Problem> {
        if let Some(c) = crate::text::first_refused(&value.0) {
            return Err(Problem {
                path: path.to_string(),
                needle: raw.chars().take_while(|c| !crate::text::refused_by_kubectl(*c)).collect(),
                message: format!(
                    "the value holds the control character {c}, which kubectl and kustomize refuse in any YAML"
                ),
                help: "remove the character (or the variable's) from the value".to_string(),
            });
        }
        if self.expanded <= MAX_INTERPOLATED_BYTES {
            return Ok(value);
        }
        Err(Problem {
            path: path.to_string(),
            needle: raw.to_string(),
            message: format!(
                "the compose file's values, with variables put in, pass {MAX_INTERPOLATED_BYTES} bytes here"
            ),
            help: "a value repeated this often is not configuration; write fewer, smaller values".to_string(),
        })
    }
}

impl Context for Loader<'_> {
    fn variable(&mut self, key: &str, at: &str) -> Option<String> {
        self.known.insert(key.to_string());
        let value = self.env.get(key).cloned();
        if value.is_none() {
            self.unset.push((at.to_string(), key.to_string()));
        }
        value
    }

    fn interpolate(&mut self, raw: &str, path: &str) -> std::result::Result<(String, Option<String>), Problem> {
        if let Some(done) = self.interpolated.get(raw) {
            self.expanded += done.0.len();
            return self.bounded(done.clone(), path, raw);
        }
        let env = self.env;
        match interpolate::interpolate(raw, &|k| env.get(k).cloned()) {
            Ok(i) => {
                self.expanded += i.value.len();
                self.known.extend(i.vars.iter().cloned());
                self.interpolated.insert(raw.to_string(), (i.value.clone(), i.sole_var.clone()));
                self.bounded((i.value, i.sole_var), path, raw)
            }
            Err(e) => Err(Problem {
                path: path.to_string(),
                needle: raw.to_string(),
                message: interpolation_message(&e),
                help: interpolation_help(&e),
            }),
        }
    }

    fn is_env_source(&self, file: &str) -> bool {
        let path = normalize(&self.dir.join(file));
        let example = PathBuf::from(format!("{}.example", path.display()));
        let default = normalize(&self.dir.join(".env"));
        path == default || self.env_source.as_ref().is_some_and(|s| [&path, &example].contains(&&normalize(s)))
    }

    fn env_file(
        &mut self,
        file: &str,
        required: bool,
        at: &str,
    ) -> std::result::Result<Option<Vec<(String, String, String)>>, Problem> {
        let path = normalize(&self.dir.join(file));
        if let Some(cached) = self.cache.get(&path) {
            return Ok(cached.clone());
        }
        let example = PathBuf::from(format!("{}.example", path.display()));
        // Whatever stands there is read (and a symlink out of the project, a FIFO refused).
        let chosen = if path.symlink_metadata().is_ok() {
            Some(path.clone())
        } else if example.symlink_metadata().is_ok() {
            self.examples_read.push(file.to_string());
            Some(example)
        } else if required {
            return Err(Problem {
                path: at.to_string(),
                needle: file.to_string(),
                message: format!("env file `{file}` does not exist (nor `{file}.example`)"),
                help: "create it, or mark the entry `required: false`".to_string(),
            });
        } else {
            None
        };
        let result = match chosen {
            None => None,
            Some(p) => {
                let refusal = |message: String, help: &str| Problem {
                    path: at.to_string(),
                    needle: file.to_string(),
                    message,
                    help: help.to_string(),
                };
                let bytes = self
                    .inputs
                    .scope
                    .read(&p, MAX_TEXT_BYTES)
                    .map_err(|r| refusal(format!("env file `{}` {r}", p.display()), r.help()))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    refusal(format!("env file `{}` is not UTF-8 text", p.display()), "make the file UTF-8 text")
                })?;
                self.inputs.insert(relative_name(&self.dir, &p), sha256(text.as_bytes()));
                let entries = dotenv::parse(&text).map_err(|e| Problem {
                    path: at.to_string(),
                    needle: file.to_string(),
                    message: format!(
                        "{}:{}:{}: invalid env file: {}",
                        relative_name(&self.dir, &p),
                        e.line,
                        e.column,
                        e.reason
                    ),
                    help: "fix this line of the env file".to_string(),
                })?;
                self.known.extend(entries.iter().map(|e| e.key.clone()));
                // `--set` edits the setting in every env file that has it (so it reaches settings that
                // newer releases keep in `envs/**`), and adds it to the env source.
                let is_source = self.env_source.as_ref().is_some_and(|s| normalize(s) == normalize(&p));
                let overrides = self.overrides;
                let env = self.env;
                let over = |k: &str| overrides.get(k).cloned();
                let expanded =
                    dotenv::expand(&entries, &over, &|k| env.get(k).cloned()).map_err(|(line, e)| Problem {
                        path: at.to_string(),
                        needle: file.to_string(),
                        message: format!("{}:{line}: {}", relative_name(&self.dir, &p), interpolation_message(&e)),
                        help: interpolation_help(&e),
                    })?;
                if let Some((k, c)) =
                    expanded.iter().find_map(|(k, v, _)| crate::text::first_refused(v).map(|c| (k, c)))
                {
                    let line = entries.iter().find(|e| &e.key == k).map_or(1, |e| e.line);
                    return Err(refusal(
                        format!("{}:{line}: the value of `{k}` holds the control character {c}, which kubectl and kustomize refuse in any YAML", relative_name(&self.dir, &p)),
                        "remove the character from the value",
                    ));
                }
                let mut out: Vec<(String, String, String)> =
                    expanded.into_iter().map(|(k, v, sole)| (k.clone(), v, sole.unwrap_or(k))).collect();
                if is_source {
                    for (k, v) in overrides {
                        if !out.iter().any(|(key, _, _)| key == k) {
                            out.push((k.clone(), v.clone(), k.clone()));
                        }
                    }
                    out.sort_by_key(|(k, _, _)| !entries.iter().any(|e| &e.key == k));
                }
                Some(out)
            }
        };
        self.cache.insert(path, result.clone());
        Ok(result)
    }
}

fn interpolation_message(e: &InterpolationError) -> String {
    match e {
        InterpolationError::Required { var, message, .. } if message.is_empty() => {
            format!("required variable `{var}` is not set")
        }
        InterpolationError::Required { var, message, .. } => format!("required variable `{var}` is not set: {message}"),
        InterpolationError::Syntax { reason, .. } => format!("invalid interpolation: {reason}"),
        InterpolationError::TooLong { var, limit } => {
            format!("the value of `{var}` grows past {limit} bytes as variables are put in")
        }
    }
}

fn interpolation_help(e: &InterpolationError) -> String {
    match e {
        InterpolationError::Required { var, .. } => format!("set it in the env file, or pass --set {var}=VALUE"),
        InterpolationError::Syntax { .. } => "write `$$` for a literal dollar sign".to_string(),
        InterpolationError::TooLong { .. } => {
            "values that repeat each other again and again are not configuration; write the value itself".to_string()
        }
    }
}

fn interpolation_error(path: &Path, text: &str, line: Option<usize>, e: &InterpolationError) -> Error {
    match line {
        Some(line) => Error::at(path, text, line, 1, interpolation_message(e), interpolation_help(e)),
        None => Error::file(path, interpolation_message(e), interpolation_help(e)),
    }
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

/// Largest file that is not text we put in a ConfigMap's `binaryData`: an object holds at most 1 MiB,
/// and the API server stores binary data as base64 (4/3 of its size).
const MAX_BINARY_BYTES: usize = 700 * 1024;

/// Largest bind-mounted file, or folder of files, put in a ConfigMap (an object holds at most 1 MiB,
/// its metadata included); checked before the read.
const MAX_CONFIG_BYTES: u64 = 1000 * 1024;

/// Files under a bind-mounted folder that we read at most (a data folder is not configuration).
const MAX_DIR_FILES: usize = 64;

/// Folders below a bind-mounted folder that we descend at most.
const MAX_DIR_DEPTH: usize = 16;

fn read_host_path(dir: &Path, src: &str, inputs: &mut Inputs, warnings: &mut Vec<Warning>) -> Result<HostPath> {
    if src.starts_with('/') || src.starts_with('~') {
        return Ok(HostPath::Missing); // outside the upstream tree: never read the local disk
    }
    let unread = |warnings: &mut Vec<Warning>, why: String| {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!("`{src}` {why}: it is not read and becomes an empty claim; mount it with an overlay"),
        ));
        Ok(HostPath::Unread)
    };
    let real = match inputs.scope.resolve(&dir.join(src)) {
        Ok(real) => real,
        Err(Refusal::Missing) => return Ok(HostPath::Missing),
        Err(r) => return unread(warnings, r.to_string()),
    };
    if real.is_dir() {
        return Ok(read_host_dir(dir, src, &real, inputs, warnings));
    }
    let bytes = match scope::read_named(&real, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(Refusal::TooLarge(size, _)) => {
            return unread(warnings, format!("is {size} bytes, too large for a ConfigMap (at most {MAX_CONFIG_BYTES})"))
        }
        Err(r) => return unread(warnings, r.to_string()),
    };
    inputs.insert(relative_name(dir, &dir.join(src)), sha256(&bytes));
    Ok(match String::from_utf8(bytes) {
        // Text kubectl would refuse in a ConfigMap's data goes byte for byte into binaryData.
        Ok(text) if crate::text::first_refused(&text).is_some() && text.len() <= MAX_BINARY_BYTES => {
            HostPath::Binary(text.into_bytes())
        }
        Ok(text) if crate::text::first_refused(&text).is_some() => {
            return unread(
                warnings,
                format!("holds characters kubectl refuses and, at {} bytes, is too large for binaryData", text.len()),
            )
        }
        Ok(text) => HostPath::File(text),
        Err(e) if e.as_bytes().len() <= MAX_BINARY_BYTES => HostPath::Binary(e.into_bytes()),
        Err(e) => {
            return unread(
                warnings,
                format!(
                    "is not text and, at {} bytes, too large for a ConfigMap (at most {MAX_BINARY_BYTES})",
                    e.as_bytes().len()
                ),
            )
        }
    })
}

/// A bind-mounted folder's text files, or nothing (data) when it holds too many or too much.
fn read_host_dir(dir: &Path, src: &str, real: &Path, inputs: &mut Inputs, warnings: &mut Vec<Warning>) -> HostPath {
    let mut folder = Folder::default();
    folder.collect(&inputs.scope, real, real, 0);
    if folder.files.len() > MAX_DIR_FILES || folder.bytes > MAX_CONFIG_BYTES {
        warnings.push(Warning::new(WarningKind::Storage, format!(
            "folder `{src}` holds more than {MAX_DIR_FILES} files or {MAX_CONFIG_BYTES} bytes, so it is taken for data: an empty claim; copy its files in yourself"
        )));
        folder.files.clear();
    } else if let Some(first) = folder.binary.first() {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!(
                "folder `{src}`: {} file(s) that are not text (first: {first}) are left out of its ConfigMap",
                folder.binary.len()
            ),
        ));
    }
    if let Some(first) = folder.skipped.first() {
        warnings.push(Warning::new(
            WarningKind::Storage,
            format!(
                "folder `{src}`: {} entries are not read (first: {first}): symlinked folders, files outside the project, FIFOs and devices",
                folder.skipped.len()
            ),
        ));
    }
    for (name, text) in &folder.files {
        inputs.insert(relative_name(dir, &dir.join(src).join(name)), sha256(text.as_bytes()));
    }
    HostPath::Dir(folder.files)
}

/// What a bind-mounted folder holds, read without following a symlinked folder (a loop cannot
/// spin) and never past the limits.
#[derive(Default)]
struct Folder {
    /// Text files, named relative to the folder.
    files: BTreeMap<String, String>,
    /// Files that are not UTF-8 text.
    binary: Vec<String>,
    /// Entries not read: symlinked folders, refused symlinks, special files.
    skipped: Vec<String>,
    bytes: u64,
}

impl Folder {
    /// The entries below `dir` (names relative to `root`), stopping one file past `MAX_DIR_FILES`
    /// or one byte past `MAX_CONFIG_BYTES`.
    fn collect(&mut self, scope: &ReadScope, root: &Path, dir: &Path, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if self.files.len() > MAX_DIR_FILES || self.bytes > MAX_CONFIG_BYTES {
                return;
            }
            let name = p.strip_prefix(root).map(|r| r.to_string_lossy().replace('\\', "/")).unwrap_or_default();
            let Ok(meta) = p.symlink_metadata() else { continue };
            if meta.is_dir() && depth < MAX_DIR_DEPTH {
                self.collect(scope, root, &p, depth + 1);
                continue;
            }
            // A symlink is read only when it is a file inside the scope.
            let real = match scope.resolve(&p) {
                Ok(real) if real.is_file() => real,
                _ => {
                    self.skipped.push(name);
                    continue;
                }
            };
            match scope::read_named(&real, MAX_CONFIG_BYTES - self.bytes.min(MAX_CONFIG_BYTES)) {
                Ok(bytes) => {
                    self.bytes += bytes.len() as u64;
                    match String::from_utf8(bytes) {
                        Ok(text) if crate::text::first_refused(&text).is_some() => self.binary.push(name),
                        Ok(text) if name != ".gitkeep" => drop(self.files.insert(name, text)),
                        Ok(_) => {}
                        Err(_) => self.binary.push(name),
                    }
                }
                Err(Refusal::TooLarge(..)) => self.bytes = MAX_CONFIG_BYTES + 1,
                Err(_) => self.skipped.push(name),
            }
        }
    }
}

/// A text file named on the command line: anywhere but a system folder, a regular file, bounded.
fn read_named(path: &Path, what: &str) -> Result<String> {
    let bytes = scope::read_named(path, MAX_TEXT_BYTES).map_err(|r| refused(path, what, &r))?;
    checked_text(path, bytes, what)
}

/// Input bytes as text: refused when too large or not UTF-8.
fn checked_text(path: &Path, bytes: Vec<u8>, what: &str) -> Result<String> {
    if bytes.len() > yaml::MAX_INPUT_BYTES {
        return Err(Error::file(
            path,
            format!("file is larger than {} bytes", yaml::MAX_INPUT_BYTES),
            format!("pass the {what} itself"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            format!("pass the {what}, not a binary file"),
        )
    })
}
