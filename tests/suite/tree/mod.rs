//! The generated tree of the vendored releases, rendered and judged object by object.

mod capacity;
mod config_files;
mod gateway;
mod images;
mod least_privilege;
mod main_job;
mod migration;
mod names;
mod netpol;
mod operations;
mod pod_security;
mod probes;
mod production;
mod public_url;
mod secret_values;
mod shell;
mod snapshots;
mod storage;
mod validate;
