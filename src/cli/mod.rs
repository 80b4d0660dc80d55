//! The binary's side of each command: clap's arguments, the choices recorded in a tree, what a run
//! says, and the steps of the main job. The work itself is the library's (`compose2dify::…`).

pub(crate) mod args;
pub(crate) mod deliver;
pub(crate) mod diff;
pub(crate) mod generate;
pub(crate) mod image_facts;
pub(crate) mod messages;
pub(crate) mod options;
pub(crate) mod recorded;
pub(crate) mod secrets;
pub(crate) mod upgrade;
