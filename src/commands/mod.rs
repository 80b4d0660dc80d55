//! The subcommands beside the main run: `secrets` (and where its values come from), `carry-env`,
//! `diff`.

pub mod carry;
pub mod diff;
pub mod secret_env;
pub mod secrets;
pub mod sops;
