//! `compose2dify secrets DIR`: the secret files or the cluster's Secrets, and where each value came from.

use crate::cli::messages::*;
use compose2dify::commands::secrets;
use compose2dify::error::Error;
use compose2dify::rules::{self, Preset};
use compose2dify::tree::layout;
use std::path::Path;
use std::process::ExitCode;

/// A compose install's `.env` for `--from-env`, read with the Dify rules' pairs and published
/// defaults.
pub(crate) fn read_env(path: &Path) -> Result<compose2dify::commands::secret_env::EnvValues, Error> {
    let rules = rules::load(Preset::Dify, None)?;
    compose2dify::commands::secret_env::read(path, &rules.secrets.pairs, &rules.secrets.public_values)
}

/// Where this run's values came from, by name (never a value).
pub(crate) fn say_origins(
    origins: &secrets::Origins,
    env: Option<&compose2dify::commands::secret_env::EnvValues>,
    out: &Messages,
) {
    let list = |names: &[String]| names.join(", ");
    if !origins.cluster.is_empty() {
        out.say(&format!("from the cluster: {}", list(&origins.cluster)));
    }
    if let Some(env) = env {
        if !origins.env.is_empty() {
            out.say(&format!("from {}: {}", env.file.display(), list(&origins.env)));
        }
    }
    if !origins.chosen.is_empty() {
        out.say(&format!("from --set: {}", list(&origins.chosen)));
    }
    if !origins.generated.is_empty() {
        let why = match env {
            Some(env) => format!(" ({} leaves them unset, empty or at a published default)", env.file.display()),
            None => String::new(),
        };
        out.say(&format!("generated{why}: {}", list(&origins.generated)));
    }
    if let Some(env) = env {
        let empty: Vec<&str> = env.empty.iter().filter(|k| origins.generated.contains(k)).map(String::as_str).collect();
        if !empty.is_empty() {
            // Dify 1.14.1's api keeps a SECRET_KEY left empty in its storage, as .dify_secret_key
            // (api/configs/secret_key.py, GENERATED_SECRET_KEY_FILENAME).
            let stored = if empty.contains(&"SECRET_KEY") {
                " (Dify 1.14.1 and later keep an empty SECRET_KEY's generated key in the storage folder, volumes/app/storage/.dify_secret_key)"
            } else {
                ""
            };
            out.labelled(
                "note",
                "36",
                &format!(
                    "{} leaves {} empty, so they were generated: if the install made its own value{stored}, put it into the secret files before the first start",
                    env.file.display(),
                    empty.join(", ")
                ),
            );
        }
    }
}

/// Entry point of `compose2dify secrets DIR`.
pub(crate) fn secrets_command(dir: &Path, sources: secrets::Sources, out: &Messages) -> Result<ExitCode, Error> {
    if let Some(recipients) = secrets::sops_recipients(dir) {
        out.say(&format!(
            "secrets: encrypted to the age recipients {} records: {}",
            dir.join(layout::GENERATED).display(),
            recipients.join(", ")
        ));
    }
    let report = secrets::setup_from(dir, &sources)?;
    for p in &report.resealed {
        out.say(&format!("sealed again to the recipients: {}", p.display()));
    }
    if !report.reseal_needed.is_empty() {
        out.labelled(
            "warning",
            "33",
            &format!(
                "{} file(s) are encrypted to other age recipients than the tree names (one was added or removed), e.g. {}: run again with --age-identity FILE (or SOPS_AGE_KEY_FILE) to seal them to the new set",
                report.reseal_needed.len(),
                report.reseal_needed[0].display()
            ),
        );
    }
    for p in &report.kept {
        out.say(&format!("kept    {}", p.display()));
    }
    for p in &report.created {
        out.say(&format!("created {}", p.display()));
    }
    for (p, keys) in &report.added {
        out.say(&format!("added   {}: {}", p.display(), keys.join(", ")));
    }
    say_origins(&report.origins, sources.env.as_ref(), out);
    if !report.differ_from_cluster.is_empty() {
        out.labelled(
            "warning",
            "33",
            &format!(
                "the secret.yaml files here keep values that differ from the cluster's for: {} (applying them changes the live passwords; remove those files and run again with --from-cluster to take the cluster's)",
                report.differ_from_cluster.join(", ")
            ),
        );
    }
    for (p, keys) in &report.stale {
        out.labelled(
            "note",
            "36",
            &format!(
                "{} keeps keys its .example no longer has (remove them when done): {}",
                p.display(),
                keys.join(", ")
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
