//! `compose2dify image-facts IMAGE TAG DIR`: a tag's table line, read from its sources.

use crate::cli::messages::*;
use compose2dify::error::Error;
use compose2dify::rules::{self, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

/// Entry point of `compose2dify image-facts IMAGE TAG DIR`: the table line of a tag, from its sources.
pub(crate) fn image_facts_command(
    image: &str,
    tag: Option<String>,
    dir: Option<PathBuf>,
    files: bool,
) -> Result<ExitCode, Error> {
    let rules = rules::load(Preset::Dify, None)?;
    let rule = rules.images.get(image).ok_or_else(|| {
        Error::usage(
            format!("`{image}` is not in the image facts table"),
            format!("name one of: {}", rules.images.keys().cloned().collect::<Vec<_>>().join(", ")),
        )
    })?;
    if files {
        print_out(&compose2dify::rules::images::source_files(rule).into_iter().map(|f| f + "\n").collect::<String>())?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(tag), Some(dir)) = (tag, dir) else {
        return Err(Error::usage(
            "image-facts needs a tag and a folder",
            "run `compose2dify image-facts IMAGE TAG DIR`",
        ));
    };
    let mut texts = std::collections::BTreeMap::new();
    for file in compose2dify::rules::images::source_files(rule) {
        let path = dir.join(&file);
        if let Ok(text) = compose2dify::read::scope::read_tree_text(&path, 1 << 20) {
            texts.insert(file, text);
        }
    }
    if texts.is_empty() {
        return Err(Error::file(
            &dir,
            "holds none of the files the table reads",
            "pass the folder of the tag's sources",
        ));
    }
    if compose2dify::rules::images::dockerfile_of(rule, |p| texts.get(p).map(String::as_str)).is_none() {
        return Err(Error::file(
            &dir,
            format!("holds none of the Dockerfiles the table reads ({})", rule.dockerfile.join(", ")),
            "pass the folder of the tag's sources, with its Dockerfile",
        ));
    }
    let (user, facts) = compose2dify::rules::images::detect(rule, |p| texts.get(p).map(String::as_str));
    let reads = match compose2dify::rules::images::detect_reads(rule, |p| texts.get(p).map(String::as_str)) {
        Some(names) => match rule.reads.iter().find(|(_, set)| **set == names) {
            Some((set, _)) => format!(", reads: {set}"),
            None => format!("}}  # a new reads set: [{}]\n", names.into_iter().collect::<Vec<_>>().join(", ")),
        },
        None => String::new(),
    };
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(", facts: [{}]", facts.into_iter().collect::<Vec<_>>().join(", "))
    };
    let line = format!("\"{tag}\": {{user: {}{facts}{reads}", yaml_user(&user.to_string()));
    print_out(&if line.ends_with('\n') { line } else { line + "}\n" })?;
    Ok(ExitCode::SUCCESS)
}

/// A user as the table writes it: `root` bare, ids quoted (`"1001:1001"`).
pub(crate) fn yaml_user(user: &str) -> String {
    if user == "root" {
        user.to_string()
    } else {
        format!("\"{user}\"")
    }
}
