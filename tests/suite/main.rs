//! Every integration test, in one binary (one link, one run), grouped by what they test. nginx and
//! squid, which serve the generated configs inside network namespaces, keep their own harness
//! (tests/nginx.rs, tests/squid.rs).

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod cli;
mod generic;
mod guide;
mod read;
mod tree;
