//! Reading: the compose folder (its compose files, `.env`, `envs/**` and the files it binds) into
//! the `compose` model of a `Project`, confined to the folder and bounded in size.

pub mod compose;
pub mod dotenv;
pub mod interpolate;
pub mod merge;
pub mod paths;
pub mod project;
pub mod scope;
pub mod upstream;
pub mod yaml;
