//! `compose2dify diff OLD NEW`: the release report.

use crate::cli::{args::*, messages::*, options::*};
use compose2dify::error::Error;
use compose2dify::read::upstream;
use compose2dify::rules::{self};
use std::path::PathBuf;
use std::process::ExitCode;

/// Entry point of `compose2dify diff OLD NEW`: both folders are read as generation reads them.
pub(crate) fn diff_command(args: DiffArgs) -> Result<ExitCode, Error> {
    let rules = rules::load(args.preset, args.mappings.as_deref())?;
    let expected = expected_compose(&rules);
    let read = |compose: PathBuf| {
        upstream::load(&upstream::Options {
            compose,
            expected: expected.clone(),
            checkout_files: compose2dify::rules::images::checkout_files(&rules.images),
            ..Default::default()
        })
    };
    let old = read(args.old)?;
    let new = read(args.new)?;
    print_out(&compose2dify::commands::diff::report(&old, &new, &rules)?)?;
    Ok(ExitCode::SUCCESS)
}
