//! `compose2dify upgrade DIR NEW [FLAGS]`: the main job on another release with the recorded choices.

use crate::cli::{args::*, generate::*, messages::*, recorded::*};
use clap::FromArgMatches;
use compose2dify::error::Error;
use compose2dify::tree::layout;
use std::path::Path;
use std::process::ExitCode;

/// Entry point of `compose2dify upgrade DIR NEW_COMPOSE [FLAGS]`: the main job on another release
/// over a tree that records its choices; a flag after NEW changes only that choice, and a recorded
/// choice that no longer applies is an error.
pub(crate) fn upgrade_command(
    dir: &Path,
    compose: &Path,
    flags: Vec<std::ffi::OsString>,
    out: &Messages,
) -> Result<ExitCode, Error> {
    let mut argv: Vec<std::ffi::OsString> = vec!["compose2dify".into(), compose.into(), "-o".into(), dir.into()];
    argv.extend(flags);
    let matches = parse(&argv).unwrap_or_else(|e| e.exit());
    let args = GenerateArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // -q and -v after NEW count as well as before `upgrade`.
    let inner = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let out = &Messages { quiet: out.quiet || inner.quiet, verbose: out.verbose || inner.verbose, paint: out.paint };
    if args.compose.len() != 1 || !args.files.is_empty() {
        return Err(Error::usage(
            "upgrade takes one compose file, the new release's",
            "name the tree, then the new docker-compose.yaml, then the flags to change",
        ));
    }
    let generated = dir.join(layout::GENERATED);
    let Some(recorded) = recorded_in(dir)? else {
        return Err(Error::file(
            &generated,
            "records no choices (not a tree of compose2dify, or made by an older one)",
            "generate it once more with your flags (compose2dify NEW -o DIR …); from then on `upgrade` repeats them",
        ));
    };
    let (args, lines) = with_recorded(argv, &matches, Some(recorded), out)?;
    out.say(&format!(
        "upgrade: {} with {}",
        compose.display(),
        if lines.is_empty() { "no choices".to_string() } else { lines.join(" ") }
    ));
    generate_with(args, lines, true, out)
}
