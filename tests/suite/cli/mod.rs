//! The command line driven as a user drives it: subcommands, refusals, re-runs over a tree, hostile input.

mod command_line;
mod diff;
mod errors;
mod gitops;
mod hostile;
mod image_facts;
mod rerun;
mod secret_sources;
mod team;
mod workflow_example;
