//! `--preset generic` on compose files other than Dify's.

mod compose_semantics;
mod corpus;
mod features;
mod kompose;
