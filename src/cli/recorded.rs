//! The command line's side of choices as state: which flags are recorded choices (`NOT_CHOICES`), of
//! which kind, and the run's flags re-parsed with the ones GENERATED.md records (the merge itself is
//! `compose2dify::choices`'s).

use crate::cli::{args::*, messages::*};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use compose2dify::choices::{Change, Choice, Kind as ChoiceKind};
use compose2dify::error::Error;
use compose2dify::tree::layout;
use std::path::{Path, PathBuf};

/// Flags that say how to run, not what the tree is: they are not recorded as choices.
pub(crate) const NOT_CHOICES: &[&str] = &[
    "compose",
    "files",
    "output",
    "check",
    "strict",
    "force",
    "allow_downgrade",
    "allow_recreate",
    "reset_choices",
    "quiet",
    "verbose",
    "help",
    "version",
];

/// `compose2dify -q upgrade …`: -q and -v before a subcommand's name go after it (the main
/// command's own arguments would otherwise take the name for a compose file).
pub(crate) fn globals_after_command(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let global = |a: &std::ffi::OsString| ["-q", "--quiet", "-v", "--verbose"].iter().any(|g| a == g);
    let leading = argv.iter().skip(1).take_while(|a| global(a)).count();
    let named = argv
        .get(1 + leading)
        .and_then(|a| a.to_str())
        .is_some_and(|name| Cli::command().get_subcommands().any(|c| c.get_name() == name));
    if leading > 0 && named {
        let flags: Vec<_> = argv.drain(1..1 + leading).collect();
        argv.splice(2..2, flags);
    }
    argv
}

/// The command line parsed. A flag that needs another (`--ingress-class` needs `--ingress-host`) may
/// lean on a choice the tree records: such a line is parsed loosely here and strictly again once the
/// recorded choices are in (`with_recorded`).
pub(crate) fn parse(argv: &[std::ffi::OsString]) -> Result<ArgMatches, clap::Error> {
    match Cli::command().try_get_matches_from(argv) {
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            match Cli::command().ignore_errors(true).try_get_matches_from(argv) {
                Ok(m) if m.subcommand().is_none() => Ok(m),
                _ => Err(e),
            }
        }
        parsed => parsed,
    }
}

/// Choices that name a file or folder to read. GENERATED.md records them relative to the compose
/// file's folder, so a run from another folder, or `upgrade` to another release's folder, finds them
/// there; a recorded one is replayed only inside that folder (a forged line never reads elsewhere).
pub(crate) const FILE_CHOICES: &[&str] = &["env-file", "mappings", "allow-read"];

/// The folder of the first compose file (the current folder for standard input), as typed.
pub(crate) fn compose_folder(args: &GenerateArgs) -> PathBuf {
    let first = args.compose.first().or(args.files.first()).filter(|p| p.as_os_str() != "-");
    first.and_then(|p| p.parent()).unwrap_or(Path::new("")).to_path_buf()
}

pub(crate) fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    compose2dify::read::paths::normalize(&cwd.join(path))
}

/// A choice as GENERATED.md records it: a file choice relative to the compose file's folder when it
/// is inside it, absolute otherwise.
pub(crate) fn as_recorded(choice: &Choice, home: &Path) -> Choice {
    match &choice.value {
        Some(v) if FILE_CHOICES.contains(&choice.long.as_str()) => {
            let path = absolute(Path::new(v));
            let value = match path.strip_prefix(home) {
                Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => path.to_string_lossy().into_owned(),
            };
            Choice { long: choice.long.clone(), value: Some(value) }
        }
        _ => choice.clone(),
    }
}

/// A recorded choice as a command line gives it (a file choice joined to the compose file's folder
/// as typed, so the inputs are named as the first run named them).
pub(crate) fn as_given(choice: &Choice, folder: &Path) -> Choice {
    match &choice.value {
        Some(v) if FILE_CHOICES.contains(&choice.long.as_str()) => {
            Choice { long: choice.long.clone(), value: Some(folder.join(v).to_string_lossy().into_owned()) }
        }
        _ => choice.clone(),
    }
}

/// A recorded file choice is replayed only when it reads inside the compose file's folder and the
/// file is there: `--allow-read` (which widens what a run reads) and a path outside must be given
/// on the command line again; a file the new release's folder lacks is said, not read elsewhere.
pub(crate) fn replayable(choice: &Choice, home: &Path, generated: &Path) -> Result<(), Error> {
    let Some(value) = choice.value.as_deref().filter(|_| FILE_CHOICES.contains(&choice.long.as_str())) else {
        return Ok(());
    };
    let flag = format!("--{} {}", choice.long, compose2dify::text::escape_hidden(value));
    let relative = Path::new(value);
    let inside = relative.is_relative() && !relative.components().any(|c| matches!(c, std::path::Component::ParentDir));
    if choice.long == "allow-read" || !inside {
        return Err(Error::file(
            generated,
            format!("the recorded `{flag}` reads outside the compose file's folder ({}); a recorded choice never does", home.display()),
            format!("give `--{} PATH` on the command line for this run (it is recorded again), or remove that line from GENERATED.md's Choices", choice.long),
        ));
    }
    if !home.join(relative).exists() {
        return Err(Error::file(
            generated,
            format!("the recorded `{flag}` is not in {}", home.display()),
            format!(
                "moving to another release's folder, bring the file along (`compose2dify carry-env OLD NEW` carries .env and envs/**), or give `--{} PATH`",
                choice.long
            ),
        ));
    }
    Ok(())
}

/// Choices that mean something only with one value of another flag: (choice, flag, value).
pub(crate) const ONLY_WITH: &[(&str, &str, &str)] = &[
    ("secret-store", "secrets", "external-secrets"),
    ("secret-store-kind", "secrets", "external-secrets"),
    ("secret-prefix", "secrets", "external-secrets"),
    ("age", "secrets", "sops"),
];

/// The generation flags given on the command line, in the order clap lists them: what GENERATED.md
/// records (one `--flag value` line each) and the next run over the tree starts from.
pub(crate) fn choices(matches: &ArgMatches) -> Vec<Choice> {
    if matches.subcommand().is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for arg in Cli::command().get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_CHOICES.contains(&id) || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(long) = arg.get_long() else { continue };
        match matches.get_raw(id) {
            Some(values) if arg.get_action().takes_values() => {
                for value in values {
                    out.push(Choice { long: long.into(), value: Some(value.to_string_lossy().into_owned()) });
                }
            }
            _ => out.push(Choice { long: long.into(), value: None }),
        }
    }
    out
}

/// The kind of a generation flag, by its long name; None for a flag that is not a choice (a file
/// to read, the output folder, a flag that says how to run) or not a flag at all.
pub(crate) fn choice_kind(cli: &clap::Command, long: &str) -> Option<ChoiceKind> {
    let arg = cli.get_arguments().find(|a| a.get_long() == Some(long))?;
    if NOT_CHOICES.contains(&arg.get_id().as_str()) {
        return None;
    }
    let keyed = arg.get_value_names().is_some_and(|names| names.iter().any(|n| n.contains('=')));
    Some(match arg.get_action() {
        clap::ArgAction::SetTrue => ChoiceKind::Switch,
        clap::ArgAction::Append if keyed => ChoiceKind::Keyed,
        clap::ArgAction::Append => ChoiceKind::Many,
        _ => ChoiceKind::One,
    })
}

/// The choices the tree in `dir` records (its GENERATED.md's Choices), each checked to be one
/// generation flag and its value: a forged line never names a file to read, an output folder or a
/// flag that says how to run. None when the folder holds no GENERATED.md or one that records none.
pub(crate) fn recorded_in(dir: &Path) -> Result<Option<Vec<Choice>>, Error> {
    let generated = dir.join(layout::GENERATED);
    if generated.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = compose2dify::read::scope::read_tree_text(&generated, 4 << 20).map_err(|e| {
        Error::file(
            &generated,
            format!("cannot read: {e}"),
            "pass a tree compose2dify generated (-o DIR of an earlier run)",
        )
    })?;
    let Some(lines) = compose2dify::guide::provenance::recorded_choices(&text) else { return Ok(None) };
    let cli = Cli::command();
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        let shown = compose2dify::text::escape_hidden(line);
        let choice = Choice::parse(line).map_err(|e| {
            Error::file(
                &generated,
                format!("`{shown}` is not a recorded choice: {e}"),
                "fix or remove that line of ## Choices",
            )
        })?;
        if choice_kind(&cli, &choice.long).is_none_or(|k| (k == ChoiceKind::Switch) != choice.value.is_none()) {
            let known = cli.get_arguments().any(|a| a.get_long() == Some(choice.long.as_str()));
            let what = if known {
                "a recorded choice (one generation flag and its value)"
            } else {
                "a flag of this compose2dify"
            };
            return Err(Error::file(
                &generated,
                format!("`{shown}` is not {what}"),
                "remove that line from GENERATED.md's Choices",
            ));
        }
        out.push(choice);
    }
    Ok(Some(out))
}

/// The run over an existing tree starts from the choices it records: `argv` again with the recorded
/// choices that the command line does not change put before its own words, parsed once more. The
/// changes are said on stderr. Returns the generation flags and the choices to record.
pub(crate) fn with_recorded(
    argv: Vec<std::ffi::OsString>,
    matches: &ArgMatches,
    recorded: Option<Vec<Choice>>,
    out: &Messages,
) -> Result<(GenerateArgs, Vec<String>), Error> {
    let args = GenerateArgs::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
    let folder = compose_folder(&args);
    let home = absolute(&folder);
    let given: Vec<Choice> = choices(matches).iter().map(|c| as_recorded(c, &home)).collect();
    let generated = args.output.join(layout::GENERATED);
    let recorded = recorded.unwrap_or_default();
    let cli = Cli::command();
    if args.reset_choices || recorded.is_empty() {
        for choice in recorded.iter().filter(|c| args.reset_choices && !given.contains(c)) {
            out.labelled("choice", "36", &Change::Dropped(choice.clone()).to_string());
        }
        // Parsed strictly now: nothing recorded stands in for a flag that needs another.
        let matches = Cli::command().try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
        let args = GenerateArgs::from_arg_matches(&matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
        return Ok((args, given.iter().map(Choice::line).collect()));
    }
    let (mut kept, mut changes) =
        compose2dify::choices::merge(&recorded, &given, |long| choice_kind(&cli, long).unwrap_or(ChoiceKind::One));
    // A recorded choice that means something only with one value of another flag goes when that
    // flag now has another value.
    let value_of = |long: &str| {
        given.iter().chain(&kept).find(|c| c.long == long).and_then(|c| c.value.clone()).unwrap_or_default()
    };
    let orphaned: Vec<Choice> = kept
        .iter()
        .filter(|c| ONLY_WITH.iter().any(|(only, flag, value)| c.long == *only && value_of(flag) != *value))
        .cloned()
        .collect();
    kept.retain(|c| !orphaned.contains(c));
    changes.extend(orphaned.into_iter().map(Change::Dropped));
    let shown: Vec<String> = kept.iter().map(Choice::line).collect();
    if !kept.is_empty() {
        out.say(&format!("choices: {} kept from {}: {}", kept.len(), generated.display(), shown.join(" ")));
    }
    for change in &changes {
        out.labelled("choice", "36", &change.to_string());
    }
    for choice in &kept {
        replayable(choice, &home, &generated)?;
    }
    let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut again: Vec<std::ffi::OsString> = argv[..1].to_vec();
    again.extend(kept.iter().flat_map(|c| as_given(c, &folder).words()).map(Into::into));
    again.extend(argv[1..split].iter().cloned());
    again.extend(argv[split..].iter().cloned());
    let matches = Cli::command().try_get_matches_from(&again).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        Error::file(
            &generated,
            format!("the choices it records and the command line's do not go together: {first}"),
            "change that flag too on the command line, or add --reset-choices and give every choice again",
        )
    })?;
    let args = GenerateArgs::from_arg_matches(&matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
    Ok((args, choices(&matches).iter().map(|c| as_recorded(c, &home).line()).collect()))
}
