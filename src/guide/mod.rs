//! The guide: `k8s/README.md`, the operator guide that ships inside the generated tree, and
//! `GENERATED.md`, the record of how the tree was made ([`provenance`]).
//!
//! The README is built from [`Facts`] about the tree that was just generated, read from the plan
//! ([`Facts::from_plan`]), so every command it shows names objects that really exist: pods of
//! StatefulSets are `<name>-0`, `deployment/<name>` is only used for Deployments, backup commands
//! only appear for the workloads they apply to, and so on. The output is deterministic (no
//! timestamps, no absolute paths, no hash-map ordering) and ends with exactly one newline.
//!
//! The facts become a `View` (lists, names and commands, in the guide's language where the rules
//! give both; one module per chapter), which `templates/readme.en.md.j2` or
//! `templates/readme.ja.md.j2` renders: the templates hold every sentence. What the guide knows of
//! an application (its workloads' titles, purposes, layers and backups, its entry point, example
//! workloads and traffic paths) comes from the rules' `guide:` (mappings/dify.yaml); this module
//! names no service.

mod facts;
pub mod provenance;
mod template;
mod view;

pub use facts::{
    ClaimFacts, EgressFacts, Facts, OperationsView, PodSecurityView, PublicUrlFacts, RouteFacts, SecretFacts,
    SecurityFacts, SecurityFinding, StorageFacts, WorkloadFacts,
};

use template::{environment, normalize, TEMPLATE_EN, TEMPLATE_JA};
use view::View;

/// Language of the rendered guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

/// Renders the guide for `facts` in `lang`.
pub fn render(facts: &Facts, lang: Lang) -> String {
    let view = View::new(facts, lang);
    let (name, source) = match lang {
        Lang::En => ("readme.en.md.j2", TEMPLATE_EN),
        Lang::Ja => ("readme.ja.md.j2", TEMPLATE_JA),
    };
    let text = environment()
        .template_from_named_str(name, source)
        .and_then(|t| t.render(&view))
        .unwrap_or_else(|e| panic!("the guide's template {name} does not render: {e:#}"));
    normalize(&text)
}

#[cfg(test)]
mod tests;
