//! The last step of the main job: the refusals that guard a tree on disk, then writing or `--check`ing it.

use crate::cli::{args::*, messages::*};
use compose2dify::error::Error;
use compose2dify::rules::{self};
use compose2dify::tree::layout;
use compose2dify::{commands::secrets, tree::write};
use std::path::Path;
use std::process::ExitCode;

/// `upgrade` refuses a recorded choice that changes nothing; `--strict` refuses any warning.
pub(crate) fn refuse_warnings(plan: &compose2dify::plan::Plan, upgrade: bool, strict: bool) -> Result<(), Error> {
    let dropped: Vec<&str> = plan
        .warnings
        .iter()
        .filter(|w| w.kind == compose2dify::warning::WarningKind::UnusedChoice)
        .map(|w| w.text.as_str())
        .collect();
    if upgrade && !dropped.is_empty() {
        return Err(Error::usage(
            format!("a recorded choice no longer applies to this release: {}", dropped.join("; ")),
            "remove or change that line of the tree's GENERATED.md (## Choices), then run upgrade again",
        ));
    }
    if strict && !plan.warnings.is_empty() {
        return Err(Error::usage(
            format!("{} warning(s) with --strict", plan.warnings.len()),
            "cover the services and keys named above in a rules file (--mappings), or drop --strict",
        ));
    }
    Ok(())
}

/// Refuses to move an image of the tree on disk to an older tag, or from a release to a
/// pre-release. When the release itself moves forward, an image its compose file moves back is
/// upstream's own choice: said, not refused.
pub(crate) fn refuse_downgrade(plan: &compose2dify::plan::Plan, out: &Path, messages: &Messages) -> Result<(), Error> {
    let old = write::images_on_disk(out);
    let mut backwards: Vec<(String, String)> = Vec::new();
    for new in plan.workloads.iter().map(|w| w.image.as_str()) {
        for before in &old {
            if let Some(how) = compose2dify::commands::diff::backwards(Some(before), Some(new)) {
                let line = format!("{before} → {new} ({how})");
                if !backwards.iter().any(|(l, _)| *l == line) {
                    backwards.push((line, new.to_string()));
                }
            }
        }
    }
    if backwards.is_empty() {
        return Ok(());
    }
    // The release's own image (the one whose tag names the release) decides who moved.
    let release_image = plan.workloads.iter().map(|w| w.image.as_str()).find(|i| {
        compose2dify::plan::image_tag(i).is_some() && compose2dify::plan::image_tag(i) == plan.release.as_deref()
    });
    let release_moves_back = release_image.is_none_or(|r| backwards.iter().any(|(_, new)| new == r));
    let lines: Vec<&str> = backwards.iter().map(|(l, _)| l.as_str()).collect();
    if !release_moves_back {
        messages.labelled(
            "warning",
            "33",
            &format!(
                "release {} moves image(s) back itself (its compose file names them): {}; read its release notes before you apply",
                plan.release.as_deref().unwrap_or("?"),
                lines.join(", ")
            ),
        );
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{} would move image(s) to an older tag or to a pre-release: {}; data written by a newer server may not be readable by an older one, and a pre-release may not be upgradable to the next release",
            out.display(),
            lines.join(", ")
        ),
        "check that this is the release you meant; to go there on purpose (say, after restoring a backup made with that release), add --allow-downgrade",
    ))
}

/// Refuses a change the cluster cannot apply in place (with `--check`, says it), naming each object,
/// its field and the steps that make it safe.
pub(crate) fn refuse_recreate(
    tree: &compose2dify::tree::Tree,
    dir: &Path,
    check: bool,
    out: &Messages,
) -> Result<(), Error> {
    let found = compose2dify::tree::immutable::changes(&write::yaml_on_disk(dir), tree);
    if found.is_empty() {
        return Ok(());
    }
    if check {
        for r in &found {
            out.labelled("warning", "33", &format!("Kubernetes cannot change this in place: {r}"));
        }
        return Ok(());
    }
    let lines: Vec<String> = found.iter().map(|r| format!("\n  - {r}")).collect();
    Err(Error::usage(
        format!(
            "{} would change what Kubernetes cannot change in place, so the next apply fails (or a claim starts empty):{}",
            dir.display(),
            lines.concat()
        ),
        "take the steps named for each object, then run again with --allow-recreate; or keep the old value (the flag that set it, or --reset-choices to see the recorded ones)",
    ))
}

/// The tree to standard output (`-o -`), compared with the folder (`--check`: exit 1 when out of
/// date), or written into it.
pub(crate) fn deliver(
    tree: &compose2dify::tree::Tree,
    args: &GenerateArgs,
    workloads: usize,
    out: &Messages,
) -> Result<ExitCode, Error> {
    if args.output.as_os_str() == "-" {
        if args.check {
            return Err(Error::usage(
                "--check compares with a folder, not with `-o -`",
                "pass the tree's folder to -o",
            ));
        }
        let objects = tree.objects();
        // A config file may hold a token its pod fills at start; only a Secret's are left to the user.
        let placeholders: usize = objects
            .split("\n---\n")
            .filter(|doc| doc.lines().any(|l| l == "kind: Secret"))
            .map(|doc| compose2dify::placeholders::tokens(doc).len())
            .sum();
        if placeholders > 0 {
            out.labelled(
                "warning",
                "33",
                &format!(
                    "the printed Secrets hold {} (CHANGE_ME_…), not secrets: write a tree with -o DIR and fill it with `compose2dify secrets DIR`, or replace them before you apply",
                    plural(placeholders, "placeholder")
                ),
            );
        }
        print_out(&objects)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        return Ok(match write::check(tree, &args.output) {
            None => {
                out.say(&format!("{} is up to date", args.output.display()));
                ExitCode::SUCCESS
            }
            Some(diff) => {
                print_out(&diff)?;
                out.say(&format!("{} is out of date: re-run without --check to update it", args.output.display()));
                ExitCode::from(1)
            }
        });
    }
    let outcome = write::write(tree, &args.output)?;
    out.say(&format!(
        "wrote {}: {}, {} changed, {} unchanged, {} removed",
        args.output.display(),
        plural(workloads, "workload"),
        plural(outcome.written, "file"),
        outcome.unchanged,
        outcome.removed.len()
    ));
    for file in &outcome.changed {
        out.detail(&format!("wrote   {file}"));
    }
    for r in &outcome.removed {
        out.say(&format!("removed {r}"));
    }
    for line in &outcome.ignored {
        out.labelled(
            "warning",
            "33",
            &format!(
                "{} names {}, which compose2dify never writes: the line is ignored (remove it)",
                write::MANIFEST,
                compose2dify::text::escape_hidden(line)
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the Secrets come from, said on the first write (the choice matters before anyone commits),
/// and the step still to take on every write that leaves one.
pub(crate) fn say_secret_step(
    source: &rules::SecretSource,
    tree: &compose2dify::tree::Tree,
    dir: &Path,
    first_run: bool,
    out: &Messages,
) {
    let none_yet = secrets::no_secret_files(dir);
    let missing = tree
        .files
        .keys()
        .filter_map(|f| f.strip_suffix(".example"))
        .filter(|f| f.ends_with(layout::SECRET_FILE) && !dir.join(f).exists())
        .count();
    let dir = compose2dify::error::display_path(dir);
    let next = match source {
        rules::SecretSource::Files => {
            if first_run {
                out.labelled(
                    "secrets",
                    "36",
                    "this tree keeps its Secrets in secret.yaml files that git ignores (--secrets files, the default): whoever applies the tree keeps them, and a fresh clone cannot build without them. For a team or GitOps, choose where they live now: --secrets external (created in the cluster), external-secrets (a store) or sops (encrypted in git) — see the tree's README, Secrets",
                );
            }
            if none_yet {
                format!(
                    "choose where the Secrets' values come from: `compose2dify secrets {dir} --new` (a first install), `--from-cluster` (a clone of an installed tree) or `--from-env docker/.env` (moving from Docker Compose)"
                )
            } else if missing > 0 {
                format!(
                    "`compose2dify secrets {dir}` adds the {} this tree still lacks (the values of the others are kept)",
                    plural(missing, "secret.yaml file")
                )
            } else {
                return;
            }
        }
        rules::SecretSource::Sops { .. } if none_yet => format!(
            "write the encrypted secret files: `compose2dify secrets {dir} --new` (a first install; --from-cluster or --from-env docker/.env otherwise), commit the secret.sops.yaml files, and give Flux the age key (see the tree's README, Secrets)"
        ),
        rules::SecretSource::External if first_run => format!(
            "make the Secrets in the cluster before the first apply: `compose2dify secrets {dir} --apply` (add --from-env docker/.env when moving from Docker Compose)"
        ),
        rules::SecretSource::ExternalSecrets { store, .. } if first_run => {
            format!("put every remote key the tree's README lists (Secrets) into the store `{store}` before the first apply")
        }
        _ => return,
    };
    out.labelled("next", "36", &next);
}
