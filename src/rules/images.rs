//! Facts about an image, per image tag: its user and the features the rules rely on (a health-check
//! script it ships, a start-up step that needs a capability). They come from the image's sources at
//! that tag: the table in `mappings/dify-images.yaml` (each fact with the file and line that make it
//! true, checked by tests/suite/tree/images.rs against copies of those files), or, when the compose folder sits
//! in a checkout of the image's own repository at that very version, the checkout's files. A tag in
//! neither is never guessed silently: it gets the facts of the nearest known tag, and a warning.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use serde::Deserialize;

/// What the rules know of one image repository (`langgenius/dify-api`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    /// The repository its sources live in (`langgenius/dify`).
    pub repository: String,
    /// In a checkout of that repository, the file whose version line names the checkout's version
    /// (`api/pyproject.toml`, `web/package.json`); none: the image is never read from a checkout.
    pub version_file: Option<String>,
    /// The Dockerfile whose final stage's last `USER` is the image's user (the first that exists).
    #[serde(default)]
    pub dockerfile: Vec<String>,
    /// The features a tag may have, each with the source that proves it.
    #[serde(default)]
    pub facts: BTreeMap<String, FactRule>,
    /// Where the environment variables the image reads are declared: files, and the text each
    /// variable's name follows (`envconfig:"`).
    #[serde(default)]
    pub reads_source: Vec<ReadsSource>,
    /// The environment variables the image reads, by set; a tag names its set (`reads:`).
    #[serde(default)]
    pub reads: BTreeMap<String, BTreeSet<String>>,
    /// Every tag read, in version order, with its user and features.
    #[serde(default)]
    pub tags: IndexMap<String, TagFacts>,
}

/// A file of the image's sources and the text every variable name it reads follows in it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReadsSource {
    pub file: String,
    pub prefix: String,
}

/// A feature of an image, and the file (and text in it) that shows a tag has it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FactRule {
    /// What it means, in a few words.
    pub text: String,
    pub source: FactSource,
}

/// A file of the image's sources, and optionally a text it must contain.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FactSource {
    pub file: String,
    pub contains: Option<String>,
}

/// One tag's user (`root`, `1001`, `1001:1001`) and features.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TagFacts {
    pub user: String,
    #[serde(default)]
    pub facts: Vec<String>,
    /// The set of `reads` of the variables it reads; none: not recorded (it may read any).
    pub reads: Option<String>,
}

/// Where a workload's image facts came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactsFrom {
    /// The rules' table, for exactly this tag.
    Table,
    /// The files of the checkout the compose folder sits in (its version is the tag).
    Checkout,
    /// The tag is in neither: the facts of this known tag, the nearest one.
    Assumed { known: String },
}

/// The facts of one image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// The repository as the table names it (`langgenius/dify-api`).
    pub image: String,
    /// The tag as the compose file names it (`latest` when it names none).
    pub tag: String,
    pub user: User,
    pub facts: BTreeSet<String>,
    /// The environment variables the image reads, when recorded.
    pub reads: Option<BTreeSet<String>>,
    pub from: FactsFrom,
    /// A checkout of the image's repository could give its facts (it has a version file).
    pub from_checkout_possible: bool,
}

/// The user an image runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    Root,
    /// A uid, and the gid when the image gives it one (else the root group, as Docker does).
    Id {
        uid: i64,
        gid: Option<i64>,
    },
    /// A user by a name whose uid the sources do not show: not root, but no uid to set.
    Named(String),
}

impl User {
    /// `root`, `1001` or `1001:1001`, as the table writes it; none when it is none of these.
    pub fn parse(text: &str) -> Option<User> {
        if text == "root" {
            return Some(User::Root);
        }
        let (uid, gid) = match text.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (text, None),
        };
        let Ok(uid) = uid.parse::<i64>() else {
            return (!uid.is_empty() && gid.is_none()).then(|| User::Named(uid.to_string()));
        };
        let gid = match gid {
            Some(g) => Some(g.parse().ok()?),
            None => None,
        };
        Some(if uid == 0 { User::Root } else { User::Id { uid, gid } })
    }
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            User::Root => write!(f, "root"),
            User::Id { uid, gid: Some(gid) } => write!(f, "{uid}:{gid}"),
            User::Id { uid, gid: None } => write!(f, "{uid}"),
            User::Named(name) => write!(f, "{name}"),
        }
    }
}

impl FactsFrom {
    /// Where the facts came from, for GENERATED.md and the release report.
    pub fn describe(&self) -> String {
        match self {
            FactsFrom::Table => "read from that tag's sources (mappings/dify-images.yaml)".to_string(),
            FactsFrom::Checkout => "read from the release's own sources beside the compose folder".to_string(),
            FactsFrom::Assumed { known } => {
                format!("**assumed**: a tag whose sources were not read; the facts of {known}, the nearest known tag")
            }
        }
    }
}

impl ImageFacts {
    /// The facts in a few words: `user 1001:1001; celery-healthcheck`.
    pub fn summary(&self) -> String {
        let mut out = format!("user {}", self.user);
        for f in &self.facts {
            out.push_str(&format!("; {f}"));
        }
        out
    }
}

/// The facts of `repository:tag` from the table, or from `checkout` (the checkout's files by path,
/// when its version is this tag); none for an image the table does not know.
pub fn resolve(
    table: &BTreeMap<String, ImageRule>,
    repository: &str,
    tag: Option<&str>,
    checkout: &BTreeMap<String, String>,
) -> Option<ImageFacts> {
    // The table's name, also when the image is pulled through a registry path
    // (`harbor.example.com/dockerhub/langgenius/dify-api` ends with `/langgenius/dify-api`).
    let (name, rule) = table
        .get_key_value(repository)
        .or_else(|| table.iter().find(|(key, _)| repository.ends_with(&format!("/{key}"))))?;
    let repository = name.as_str();
    let tag = tag.unwrap_or("latest");
    let reads_of = |t: &TagFacts| t.reads.as_ref().and_then(|r| rule.reads.get(r)).cloned();
    let made = |user: User, facts: BTreeSet<String>, reads, from| ImageFacts {
        image: repository.to_string(),
        tag: tag.to_string(),
        user,
        facts,
        reads,
        from,
        from_checkout_possible: rule.version_file.is_some(),
    };
    // A tag the table lists was checked against its sources: it wins over a checkout.
    if let Some(known) = rule.tags.get(tag) {
        return Some(made(user_of(known), known.facts.iter().cloned().collect(), reads_of(known), FactsFrom::Table));
    }
    // A checkout of this very version whose Dockerfile is there (else its facts are unknown).
    if let Some(version) = rule.version_file.as_ref().and_then(|f| checkout.get(f)).and_then(|t| version_line(t)) {
        let read = |path: &str| checkout.get(path).map(String::as_str);
        if let (true, Some(user)) = (same_version(&version, tag), dockerfile_of(rule, read)) {
            let (_, facts) = detect(rule, read);
            let reads = detect_reads(rule, read);
            return Some(made(user, facts, reads, FactsFrom::Checkout));
        }
    }
    let (known, facts) = nearest(&rule.tags, tag)?;
    let assumed = FactsFrom::Assumed { known: known.clone() };
    Some(made(user_of(facts), facts.facts.iter().cloned().collect(), reads_of(facts), assumed))
}

fn user_of(facts: &TagFacts) -> User {
    User::parse(&facts.user).unwrap_or(User::Root)
}

/// The known tag nearest to `tag`: the newest one not newer than it (for a release, the newest such
/// release: a pre-release branch is not its history), else the oldest. A tag that is no version
/// (`latest`) gets the newest release that is not a pre-release.
fn nearest<'a>(tags: &'a IndexMap<String, TagFacts>, tag: &str) -> Option<(&'a String, &'a TagFacts)> {
    let Some(wanted) = Version::parse(tag) else {
        return tags
            .iter()
            .filter_map(|(t, f)| Version::parse(t).filter(|v| !v.pre_release).map(|v| (v, t, f)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, t, f)| (t, f));
    };
    let versions: Vec<(Version, &String, &TagFacts)> =
        tags.iter().filter_map(|(t, f)| Version::parse(t).map(|v| (v, t, f))).collect();
    versions
        .iter()
        .filter(|(v, _, _)| *v <= wanted && (wanted.pre_release || !v.pre_release))
        .max_by(|a, b| a.0.cmp(&b.0))
        .or_else(|| versions.iter().min_by(|a, b| a.0.cmp(&b.0)))
        .map(|(_, t, f)| (*t, *f))
}

/// The user and features shown by an image's source files (`read` gives a file's text by its path
/// in the repository): what the table records for a tag, and what a checkout is read for.
pub fn detect<'a>(rule: &ImageRule, read: impl Fn(&str) -> Option<&'a str>) -> (User, BTreeSet<String>) {
    let user = dockerfile_of(rule, &read).unwrap_or(User::Root);
    let facts = rule
        .facts
        .iter()
        .filter(|(_, f)| {
            read(&f.source.file).is_some_and(|text| f.source.contains.as_deref().is_none_or(|c| text.contains(c)))
        })
        .map(|(name, _)| name.clone())
        .collect();
    (user, facts)
}

/// The files an image's facts are read from: its version file, Dockerfiles and fact sources.
pub fn source_files(rule: &ImageRule) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = rule.version_file.iter().cloned().collect();
    out.extend(rule.dockerfile.iter().cloned());
    out.extend(rule.facts.values().map(|f| f.source.file.clone()));
    out.extend(rule.reads_source.iter().map(|r| r.file.clone()));
    out
}

/// The user of the image's first Dockerfile that is there; none when none is.
pub fn dockerfile_of<'a>(rule: &ImageRule, read: impl Fn(&str) -> Option<&'a str>) -> Option<User> {
    rule.dockerfile.iter().find_map(|d| read(d)).map(dockerfile_user)
}

/// The environment variables an image's sources show it reads (every name after a `reads_source`
/// prefix); none when the table names no such source, or none of its files is there.
pub fn detect_reads<'a>(rule: &ImageRule, read: impl Fn(&str) -> Option<&'a str>) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let mut found = false;
    for source in &rule.reads_source {
        let Some(text) = read(&source.file) else { continue };
        found = true;
        for (at, _) in text.match_indices(source.prefix.as_str()) {
            let name: String = text[at + source.prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    found.then_some(names)
}

/// Every file the table may read in a checkout: version files, Dockerfiles and fact sources of the
/// images that have a version file.
pub fn checkout_files(table: &BTreeMap<String, ImageRule>) -> BTreeSet<String> {
    table.values().filter(|r| r.version_file.is_some()).flat_map(source_files).collect()
}

/// The version a `pyproject.toml` (`version = "1.14.1"`) or `package.json` (`"version": "1.14.1"`)
/// states first.
fn version_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("version").or_else(|| line.strip_prefix("\"version\""))?;
        let rest = rest.trim_start().strip_prefix(['=', ':'])?.trim();
        let value = rest.trim_end_matches(',').trim().strip_prefix('"')?.strip_suffix('"')?;
        Some(value.to_string())
    })
}

/// Whether a checkout's version and an image tag name one release (`2.0.0-beta2` is `2.0.0-beta.2`).
fn same_version(version: &str, tag: &str) -> bool {
    let plain = |s: &str| -> String {
        s.trim_start_matches('v').chars().filter(|c| c.is_ascii_alphanumeric()).flat_map(|c| c.to_lowercase()).collect()
    };
    !version.is_empty() && plain(version) == plain(tag)
}

/// The user of a Dockerfile's final stage: its last `USER`, with `ARG` defaults put in, and the
/// group of a user the stage creates (`useradd -u 1001 -g 1001 dify`, `adduser -S -u 1001 -G dify`
/// with `addgroup -g 1001 dify`). No `USER`: root.
pub fn dockerfile_user(text: &str) -> User {
    let instructions = instructions(text);
    let last_from = instructions.iter().rposition(|(op, _)| op == "FROM").unwrap_or(0);
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    for (op, rest) in &instructions {
        if op == "ARG" {
            if let Some((k, v)) = rest.split_once('=') {
                args.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
    }
    let stage = &instructions[last_from..];
    let Some((_, spec)) = stage.iter().rev().find(|(op, _)| op == "USER") else {
        return User::Root;
    };
    let spec = substitute(spec.trim(), &args);
    let (name, group) = match spec.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string())),
        None => (spec.clone(), None),
    };
    let runs: Vec<String> = stage.iter().filter(|(op, _)| op == "RUN").map(|(_, r)| substitute(r, &args)).collect();
    let created = created_users(&runs);
    let account = created.iter().find(|a| a.name == name || a.uid.as_deref() == Some(name.as_str()));
    let uid = match name.parse::<i64>() {
        Ok(uid) => uid,
        Err(_) => match account.and_then(|a| a.uid.as_deref()).and_then(|u| u.parse().ok()) {
            Some(uid) => uid,
            // A named user whose uid the stage does not show: assume nothing but "not root".
            None => return if name == "root" { User::Root } else { User::Named(name) },
        },
    };
    let gid = match group {
        Some(g) => g.parse().ok().or_else(|| group_id(&runs, &g)),
        None => account.and_then(|a| a.group.as_deref()).and_then(|g| g.parse().ok().or_else(|| group_id(&runs, g))),
    };
    if uid == 0 {
        User::Root
    } else {
        User::Id { uid, gid }
    }
}

/// A Dockerfile's instructions (upper-case keyword, rest), continuation lines joined, comments
/// dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') && current.is_empty() || trimmed.is_empty() && current.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (op, rest) = current.split_once(char::is_whitespace).unwrap_or((current.as_str(), ""));
        out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
        current.clear();
    }
    out
}

/// `${name}` and `$name` replaced by the ARG defaults.
fn substitute(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in args {
        out = out.replace(&format!("${{{k}}}"), v).replace(&format!("${k}"), v);
    }
    out
}

/// A user created by `useradd`/`adduser` in a RUN.
struct Account {
    name: String,
    uid: Option<String>,
    /// `-g`'s group (useradd) or `-G`'s (busybox adduser).
    group: Option<String>,
}

fn commands(runs: &[String]) -> Vec<Vec<String>> {
    runs.iter()
        .flat_map(|r| {
            r.split("&&").flat_map(|c| c.split(';')).map(|c| c.split_whitespace().map(str::to_string).collect())
        })
        .collect()
}

fn created_users(runs: &[String]) -> Vec<Account> {
    let mut out = Vec::new();
    for words in commands(runs) {
        if !matches!(words.first().map(String::as_str), Some("useradd" | "adduser")) {
            continue;
        }
        let busybox = words[0] == "adduser";
        let (mut uid, mut group, mut name) = (None, None, None);
        let mut i = 1;
        while i < words.len() {
            let w = words[i].as_str();
            let value = words.get(i + 1).cloned();
            match w {
                "-u" | "--uid" => (uid, i) = (value, i + 1),
                "-g" | "--gid" if !busybox => (group, i) = (value, i + 1),
                "-G" | "--ingroup" if busybox => (group, i) = (value, i + 1),
                "-s" | "-h" | "-d" | "-c" | "--shell" | "--home" | "-G" | "-g" => i += 1,
                _ if !w.starts_with('-') => name = Some(w.to_string()),
                _ => {}
            }
            i += 1;
        }
        if let Some(name) = name {
            out.push(Account { name, uid, group });
        }
    }
    out
}

/// The gid of a group the stage creates (`groupadd -g 1001 dify`, `addgroup -S -g 1001 dify`).
fn group_id(runs: &[String], group: &str) -> Option<i64> {
    for words in commands(runs) {
        if !matches!(words.first().map(String::as_str), Some("groupadd" | "addgroup")) || words.last()? != group {
            continue;
        }
        let at = words.iter().position(|w| w == "-g" || w == "--gid")?;
        return words.get(at + 1)?.parse().ok();
    }
    None
}

/// A version tag's order: its numbers, then a release above its pre-releases (`-rc1`, `-beta.2`,
/// `b1`), then the rest as text. `-local` or `-fix.1` are no pre-release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    numbers: Vec<u64>,
    pub pre_release: bool,
    rest: String,
}

impl Version {
    pub fn parse(tag: &str) -> Option<Version> {
        let tag = tag.strip_prefix('v').unwrap_or(tag);
        let end = tag.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tag.len());
        let core = tag[..end].trim_end_matches('.');
        if core.is_empty() {
            return None;
        }
        let numbers: Vec<u64> = core.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        let rest = tag[end..].to_ascii_lowercase();
        let word = rest.trim_start_matches(['-', '.', '_']);
        let pre_release = ["alpha", "beta", "rc", "pre", "dev", "preview"].iter().any(|p| word.starts_with(p))
            || (word.starts_with(['a', 'b']) && word[1..].starts_with(|c: char| c.is_ascii_digit()));
        Some(Version { numbers, pre_release, rest })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let pad = |v: &[u64]| -> Vec<u64> { (0..len).map(|i| v.get(i).copied().unwrap_or(0)).collect() };
        pad(&self.numbers)
            .cmp(&pad(&other.numbers))
            .then((!self.pre_release).cmp(&!other.pre_release))
            .then_with(|| natural(&self.rest, &other.rest))
    }
}

/// Text order with runs of digits compared as numbers (`beta.10` after `beta.2`).
fn natural(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                if !digits.is_empty() {
                    out.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                    digits.clear();
                }
                text.push(c);
            }
        }
        out.push((text, digits.parse().unwrap_or(0)));
        out
    };
    parts(a).cmp(&parts(b))
}

/// Whether moving an image from tag `old` to tag `new` goes backwards: to an older version, or from
/// a release to a pre-release. Tags that are no versions are never compared.
pub fn backwards(old: &str, new: &str) -> Option<&'static str> {
    let (o, n) = (Version::parse(old)?, Version::parse(new)?);
    if n < o {
        Some("older")
    } else if n.pre_release && !o.pre_release && n != o {
        Some("pre-release")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &str) -> Version {
        Version::parse(t).unwrap_or_else(|| panic!("{t} is a version"))
    }

    #[test]
    fn versions_order_pre_releases_below_their_release() {
        assert!(v("2.0.0-beta.2") > v("1.14.1"));
        assert!(v("2.0.0-beta.2") < v("2.0.0"));
        assert!(v("2.0.0-beta.10") > v("2.0.0-beta.2"));
        assert!(v("1.14.0-rc1") < v("1.14.0"));
        assert!(v("0.3.0b1-local") < v("0.3.0-local"));
        assert!(v("1.10.1-fix.1") > v("1.10.1"));
        assert!(!v("1.10.1-fix.1").pre_release);
        assert!(!v("0.6.0-local").pre_release);
        assert!(v("0.3.0b1-local").pre_release);
        assert!(Version::parse("latest").is_none());
    }

    #[test]
    fn going_backwards() {
        assert_eq!(backwards("1.27.0", "1.19.0"), Some("older"));
        assert_eq!(backwards("0.5.1-local", "0.3.0b1-local"), Some("older"));
        assert_eq!(backwards("1.14.1", "2.0.0-beta.2"), Some("pre-release"));
        assert_eq!(backwards("2.0.0-beta.1", "2.0.0-beta.2"), None);
        assert_eq!(backwards("1.14.0", "1.14.1"), None);
        assert_eq!(backwards("latest", "1.0.0"), None);
    }

    #[test]
    fn users_from_dockerfiles() {
        let root = "FROM python:3.12 AS base\nRUN apt-get update\nFROM base AS production\nCMD [\"x\"]\n";
        assert_eq!(dockerfile_user(root), User::Root);
        let numeric = "FROM node AS base\nFROM base\nRUN mkdir /.pm2 \\\n  && chown -R 1001:0 /.pm2\nUSER 1001\n";
        assert_eq!(dockerfile_user(numeric), User::Id { uid: 1001, gid: None });
        let useradd = "FROM a\nFROM b\nRUN groupadd -r -g 1001 dify && \\\n    useradd -r -u 1001 -g 1001 -s /bin/bash dify\nUSER 1001\n";
        assert_eq!(dockerfile_user(useradd), User::Id { uid: 1001, gid: Some(1001) });
        let named = "FROM a\nARG dify_uid=1001\nRUN groupadd -r -g ${dify_uid} dify && \\\n    useradd -r -u ${dify_uid} -g ${dify_uid} -s /bin/bash dify\nUSER dify\n";
        assert_eq!(dockerfile_user(named), User::Id { uid: 1001, gid: Some(1001) });
        let busybox = "FROM a\nARG dify_uid=1001\nRUN addgroup -S -g ${dify_uid} dify && \\\n    adduser -S -u ${dify_uid} -G dify -s /bin/ash -h /home/dify dify\nUSER dify\n";
        assert_eq!(dockerfile_user(busybox), User::Id { uid: 1001, gid: Some(1001) });
        let earlier_stage = "FROM a AS build\nUSER 1001\nFROM b\nRUN true\n";
        assert_eq!(dockerfile_user(earlier_stage), User::Root);
    }

    #[test]
    fn versions_of_checkouts() {
        assert_eq!(version_line("[project]\nname = \"dify-api\"\nversion = \"1.14.1\"\n").as_deref(), Some("1.14.1"));
        assert_eq!(
            version_line("{\n  \"name\": \"dify-web\",\n  \"version\": \"1.14.1\",\n").as_deref(),
            Some("1.14.1")
        );
        assert!(same_version("2.0.0-beta2", "2.0.0-beta.2"));
        assert!(!same_version("1.14.1", "1.14.0"));
    }

    fn table() -> BTreeMap<String, ImageRule> {
        let text = "langgenius/dify-api:\n  repository: langgenius/dify\n  version_file: api/pyproject.toml\n  dockerfile: [api/Dockerfile]\n  facts:\n    hc: {text: a health check, source: {file: api/hc.py}}\n  tags:\n    \"1.13.3\": {user: \"1001:1001\"}\n    \"1.14.0\": {user: \"1001:1001\", facts: [hc]}\n    \"2.0.0-beta.2\": {user: root}\n";
        yaml_serde::from_str(text).expect("table")
    }

    #[test]
    fn unknown_tags_take_the_nearest_known_one() {
        let t = table();
        let none = BTreeMap::new();
        let known = resolve(&t, "langgenius/dify-api", Some("1.14.0"), &none).expect("known");
        assert_eq!(known.from, FactsFrom::Table);
        assert!(known.facts.contains("hc"));
        let next = resolve(&t, "langgenius/dify-api", Some("1.14.2"), &none).expect("next");
        assert_eq!(next.from, FactsFrom::Assumed { known: "1.14.0".into() });
        let beta = resolve(&t, "langgenius/dify-api", Some("2.0.0-beta.3"), &none).expect("beta");
        assert_eq!((beta.from, beta.user), (FactsFrom::Assumed { known: "2.0.0-beta.2".into() }, User::Root));
        let old = resolve(&t, "langgenius/dify-api", Some("0.1.0"), &none).expect("old");
        assert_eq!(old.from, FactsFrom::Assumed { known: "1.13.3".into() });
        let latest = resolve(&t, "langgenius/dify-api", None, &none).expect("latest");
        assert_eq!(latest.from, FactsFrom::Assumed { known: "1.14.0".into() });
        assert!(resolve(&t, "postgres", Some("15"), &none).is_none());
        let mirrored = resolve(&t, "dockerhub/langgenius/dify-api", Some("1.14.0"), &none).expect("mirrored");
        assert_eq!((mirrored.image.as_str(), mirrored.from), ("langgenius/dify-api", FactsFrom::Table));
        // A release after a beta branch takes the newest release's facts, not the beta's.
        let final_release = resolve(&t, "langgenius/dify-api", Some("2.0.0"), &none).expect("2.0.0");
        assert_eq!(final_release.from, FactsFrom::Assumed { known: "1.14.0".into() });
    }

    #[test]
    fn a_checkout_of_the_same_version_is_read() {
        let t = table();
        let mut files = BTreeMap::new();
        files.insert("api/pyproject.toml".to_string(), "version = \"1.14.2\"\n".to_string());
        files.insert("api/Dockerfile".to_string(), "FROM x\n".to_string());
        files.insert("api/hc.py".to_string(), String::new());
        let f = resolve(&t, "langgenius/dify-api", Some("1.14.2"), &files).expect("checkout");
        assert_eq!((f.from, f.user, f.facts.len()), (FactsFrom::Checkout, User::Root, 1));
        // Another version's checkout is not this image's source, and a listed tag's table wins.
        let g = resolve(&t, "langgenius/dify-api", Some("1.14.0"), &files).expect("table");
        assert_eq!(g.from, FactsFrom::Table);
        files.insert("api/pyproject.toml".to_string(), "version = \"1.14.0\"\n".to_string());
        let h = resolve(&t, "langgenius/dify-api", Some("1.14.0"), &files).expect("table wins");
        assert_eq!(h.from, FactsFrom::Table);
        // A checkout without its Dockerfile says nothing about the user: the nearest tag's, assumed.
        files.insert("api/pyproject.toml".to_string(), "version = \"1.14.2\"\n".to_string());
        files.remove("api/Dockerfile");
        let i = resolve(&t, "langgenius/dify-api", Some("1.14.2"), &files).expect("assumed");
        assert_eq!(i.from, FactsFrom::Assumed { known: "1.14.0".into() });
    }
}
