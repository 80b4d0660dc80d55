//! Unit tests of the plan passes on small inputs built in code, as kompose tests its transformer on
//! a hand-built service config (`newServiceConfig()`) rather than on a whole run: a compose
//! `Service` and `Project` made here, and rules from a few lines of YAML layered over the generic
//! preset the way `--mappings FILE` layers a user's file. One file per pass.

use crate::choices::Choices;
use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::read::compose::{Dependency, Mount, MountSource, Network, Port, Service, Setting};
use crate::read::project::Project;
use crate::rules::{Preset, Rules};
use crate::warning::Warning;

use super::{Ctx, Plan};

mod entry;
mod files;
mod findings;
mod flows;
mod pod;
mod pod_security;
mod probes;
mod select;
mod settings;
mod storage;
mod workload;

/// A compose service running `image` on compose's default network, with nothing else set; the
/// tests set what they look at with struct update syntax or the helpers below.
pub(super) fn service(name: &str, image: &str) -> Service {
    Service {
        name: name.to_string(),
        image: Some(image.to_string()),
        networks: BTreeMap::from([("default".to_string(), Vec::new())]),
        ..Service::default()
    }
}

/// A service's `environment:` as written in it (each setting traces to its own name).
pub(super) fn env(pairs: &[(&str, &str)]) -> IndexMap<String, Setting> {
    pairs
        .iter()
        .map(|(k, v)| {
            let setting =
                Setting { value: v.to_string(), origin: k.to_string(), from_env_source: false, from_env_file: false };
            (k.to_string(), setting)
        })
        .collect()
}

/// `- SOURCE:TARGET`: a bind mount of `source` as written (`./conf`).
pub(super) fn bind(source: &str, target: &str) -> Mount {
    Mount { source: MountSource::Bind(source.to_string()), target: target.to_string(), read_only: false }
}

/// `- NAME:TARGET`: a named volume.
pub(super) fn volume(name: &str, target: &str) -> Mount {
    Mount { source: MountSource::Volume(name.to_string()), target: target.to_string(), read_only: false }
}

/// A container port of `ports:` (published on the host when `published` is given) or `expose:`.
pub(super) fn port(container: u16, protocol: &str, published: Option<&str>) -> Port {
    Port {
        container,
        published: published.map(str::to_string),
        protocol: protocol.to_string(),
        publish: published.is_some(),
        host_ip: None,
    }
}

/// `depends_on: {SERVICE: {condition: CONDITION}}`.
pub(super) fn depends_on(service: &str, condition: &str) -> Dependency {
    Dependency { service: service.to_string(), condition: condition.to_string(), required: true }
}

/// A project of `services` in this order, on compose's default network, with no env source and no
/// files beside it; a service is active when it names no profile.
pub(super) fn project(services: Vec<Service>) -> Project {
    Project {
        compose_name: "compose.yaml".to_string(),
        merged: Vec::new(),
        found_override: false,
        active: services.iter().filter(|s| s.profiles.is_empty()).map(|s| s.name.clone()).collect(),
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        profiles: Vec::new(),
        networks: BTreeMap::from([("default".to_string(), Network::default())]),
        unread_top: Vec::new(),
        env: IndexMap::new(),
        host_paths: BTreeMap::new(),
        inputs: BTreeMap::new(),
        unread_places: BTreeMap::new(),
        notes: Vec::new(),
        checkout: BTreeMap::new(),
        warnings: Vec::new(),
    }
}

/// The generic preset with `yaml` layered over it, as `--mappings FILE` layers a user's rules (an
/// empty text: the preset alone).
pub(super) fn rules(yaml: &str) -> Rules {
    if yaml.is_empty() {
        return crate::rules::load(Preset::Generic, None).expect("the generic rules load");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rules.yaml");
    std::fs::write(&file, yaml).expect("write the rules");
    crate::rules::load(Preset::Generic, Some(&file)).unwrap_or_else(|e| panic!("the rules load: {e}"))
}

/// The context the workload passes read, built as `plan` builds it (the selection and settings
/// passes over `project`), given to `f` with the warnings said so far.
pub(super) fn with_ctx<T>(project: &Project, rules: &Rules, f: impl FnOnce(&Ctx, &mut Vec<Warning>) -> T) -> T {
    let mut warnings = Vec::new();
    let sel = super::select::select(project, rules, &mut warnings).expect("the selection pass");
    let settings = super::settings::settings(project, rules, &sel, &mut warnings).expect("the settings pass");
    let choices = Choices::default();
    let run = super::Run::new(&choices, rules, rules);
    let ctx = Ctx::new(project, rules, &run, &sel, &settings);
    f(&ctx, &mut warnings)
}

/// The whole plan of `project` under `rules`.
pub(super) fn plan(project: &Project, rules: &Rules) -> Plan {
    super::plan(project, rules, &Choices::default()).unwrap_or_else(|e| panic!("the plan: {e}"))
}

/// Whether a warning's text contains `needle`.
pub(super) fn said(warnings: &[Warning], needle: &str) -> bool {
    warnings.iter().any(|w| w.text.contains(needle))
}
