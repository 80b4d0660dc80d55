//! compose2dify: Dify's Docker Compose deployment → a complete kustomize tree.
//!
//! Data flows one way: `upstream` reads the docker/ folder into the `compose` model, `plan` applies
//! the `rules` and makes every decision, `emit` turns the plan into k8s-openapi objects in a `tree`,
//! and `write` puts the tree on disk (or `--check`s it).

pub mod choices;
pub mod commands;
pub mod emit;
pub mod error;
pub mod guide;
pub mod hash;
pub mod names;
pub mod placeholders;
pub mod plan;
pub mod read;
pub mod rules;
pub mod text;
pub mod tree;
pub mod warning;

use crate::choices::Choices;
use crate::guide::{Facts, Lang};
use crate::plan::Plan;
use crate::read::project::Project;
use crate::rules::Rules;
use crate::tree::layout;
use crate::tree::Tree;

pub const SETUP_SECRETS: &str = include_str!("assets/setup-secrets.sh");

/// The tool's version and the commit it was built from (build.rs), as `--version` and GENERATED.md
/// show it.
pub const TOOL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("COMPOSE2DIFY_COMMIT"), ")");

/// Everything the tree depends on besides the inputs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub lang: Lang,
    /// What the command line decides about the run, built and checked once by the caller
    /// (`Choices::check`).
    pub choices: Choices,
    /// The command-line choices the tree was made with (`--set KEY=VALUE`, …, one a line, shell
    /// quoted), recorded in GENERATED.md so `compose2dify upgrade` can make the next release's tree
    /// with exactly them.
    pub recorded: Vec<String>,
}

/// The complete output tree for a project: manifests, README, provenance, scripts.
pub fn generate(project: &Project, rules: &Rules, settings: Settings) -> error::Result<(Plan, Tree)> {
    let plan = plan_with_findings(project, rules, &settings.choices)?;
    let tree = tree_of(&plan, project, rules, settings).bounded()?;
    Ok((plan, tree))
}

/// `generate` for a caller that needs none of the project's services afterwards: they are freed
/// once planned, before the tree is made. They are the bulk of what was read (each service's
/// settings with the anchors they merge); without this a large stack's peak memory is the project,
/// the plan and the tree alive together.
pub fn generate_freeing(project: &mut Project, rules: &Rules, settings: Settings) -> error::Result<(Plan, Tree)> {
    let plan = plan_with_findings(project, rules, &settings.choices)?;
    drop(std::mem::take(&mut project.services));
    let tree = tree_of(&plan, project, rules, settings).bounded()?;
    Ok((plan, tree))
}

fn plan_with_findings(project: &Project, rules: &Rules, choices: &Choices) -> error::Result<Plan> {
    let mut plan = plan::plan(project, rules, choices)?;
    plan.findings = plan::findings::accepted(&plan, rules);
    Ok(plan)
}

/// The tree for a plan: everything `emit` writes, the scripts, the guide and the provenance.
fn tree_of(plan: &Plan, project: &Project, rules: &Rules, settings: Settings) -> Tree {
    let mut tree = Tree::default();
    emit::emit(plan, &mut tree);
    if plan.secret_source == rules::SecretSource::Files {
        tree.add(layout::SETUP_SECRETS_SCRIPT, SETUP_SECRETS);
    }
    tree.add(layout::GITIGNORE, "# Written by compose2dify: secrets made by scripts/setup-secrets.sh stay out of git.\nsecret.yaml\n**/secret.yaml\n# A run cut short leaves its staging folder; the next run removes it.\n.compose2dify-stage-*/\n");
    tree.add(
        layout::README,
        guide::render(&Facts::from_plan(plan, rules, &settings.choices, &settings.recorded), settings.lang),
    );
    tree.add(
        layout::GENERATED,
        guide::provenance::provenance(project, rules, plan, &settings.choices, &settings.recorded, TOOL_VERSION),
    );
    tree
}
