//! `compose2dify secrets DIR`: every `secret.yaml` from its `.example` with random values, the same
//! value for the same placeholder everywhere. An existing `secret.yaml` keeps every value it has and
//! only gains the keys a newer `.example` added (an upgrade); keys the `.example` no longer has are
//! reported, never deleted. The shell script `scripts/setup-secrets.sh` in the tree does the same for
//! people without the tool.
//!
//! The Secrets in the cluster (`--from-cluster`, `--apply`) are reached in `cluster`; the text of a
//! secret file is read and written in `secret_text`.

mod cluster;
mod secret_text;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cluster::live_values;
pub use cluster::{apply, Applied};
use secret_text::{add_to_string_data, fill_secret, learn, max_lengths, string_data};

use crate::choices::Choice;
use crate::error::{Error, Result};
use crate::placeholders::name_of;
use crate::placeholders::tokens;
use crate::tree::layout::{self, GENERATED, KUSTOMIZATION, SECRET_FILE, SECRET_TEMPLATE, SOPS_FILE};

/// The age recipients of a tree generated with `--secrets sops` (its GENERATED.md's choices), or
/// `None` for another mode.
pub fn sops_recipients(dir: &Path) -> Option<Vec<String>> {
    let text = crate::read::scope::read_tree_text(&dir.join(GENERATED), 4 << 20).ok()?;
    let choices: Vec<Choice> =
        crate::guide::provenance::recorded_choices(&text)?.iter().filter_map(|l| Choice::parse(l).ok()).collect();
    let valued = |long: &str| -> Vec<String> {
        choices.iter().filter(|c| c.long == long).filter_map(|c| c.value.clone()).collect()
    };
    if !valued("secrets").iter().any(|v| v == "sops") || !lists_sops_files(dir) {
        return None;
    }
    Some(valued("age"))
}

/// Whether the tree's own kustomizations (those its manifest lists) take their Secrets from
/// secret.sops.yaml and none from secret.yaml: a GENERATED.md that says sops over a files-mode tree
/// (a forged line) does not make `secrets` encrypt to its recipients.
fn lists_sops_files(dir: &Path) -> bool {
    listed(dir, SOPS_FILE) && !listed(dir, SECRET_FILE)
}

/// Whether one of the tree's own kustomizations (those its manifest lists) names `file`.
fn listed(dir: &Path, file: &str) -> bool {
    crate::tree::write::tool_files(dir)
        .into_iter()
        .filter(|f| f.ends_with(KUSTOMIZATION))
        .filter_map(|f| crate::read::scope::read_tree_text(&dir.join(f), 1 << 20).ok())
        .any(|k| k.lines().any(|l| l.trim() == format!("- {file}")))
}

/// What `setup` did to each secret file.
#[derive(Debug, Default)]
pub struct Report {
    pub created: Vec<PathBuf>,
    /// Where the values written in this run came from, by placeholder name (`DB_PASSWORD`): never
    /// a value.
    pub origins: Origins,
    /// Placeholders whose value in an existing secret.yaml differs from the cluster's (the file's
    /// is kept).
    pub differ_from_cluster: Vec<String>,
    /// Existing files left exactly as they were.
    pub kept: Vec<PathBuf>,
    /// Existing files that gained keys (their `.example` has keys they lacked), with those keys.
    pub added: Vec<(PathBuf, Vec<String>)>,
    /// secret.sops.yaml files sealed again to the recipients the tree names now.
    pub resealed: Vec<PathBuf>,
    /// secret.sops.yaml files sealed to other recipients than the tree names, left as they are
    /// because no identity was given to read them.
    pub reseal_needed: Vec<PathBuf>,
    /// Existing files with keys their `.example` no longer has (kept, for the operator to remove).
    pub stale: Vec<(PathBuf, Vec<String>)>,
}

/// Where a run of `secrets` may take values from besides the tree's own secret.yaml files.
#[derive(Debug, Default)]
pub struct Sources {
    /// `--new`: a first install, so values may be invented although no secret.yaml exists.
    pub new: bool,
    /// `--from-cluster`: the kubectl that reads the live Secrets.
    pub cluster: Option<PathBuf>,
    /// `--from-env`: the values of a compose install's `.env`.
    pub env: Option<crate::commands::secret_env::EnvValues>,
    /// Values chosen on the command line (a secret `--set` while generating), by placeholder.
    pub chosen: BTreeMap<String, String>,
    /// An age identity file (`--age-identity`, SOPS_AGE_KEY_FILE) and its text, to read existing
    /// secret.sops.yaml files.
    pub identity: Option<(PathBuf, String)>,
}

/// Placeholder names (`DB_PASSWORD`) by where this run took their values from.
#[derive(Debug, Default)]
pub struct Origins {
    pub cluster: Vec<String>,
    pub env: Vec<String>,
    pub chosen: Vec<String>,
    pub generated: Vec<String>,
}

impl Origins {
    fn note(&mut self, token: &str, from: Origin) {
        let name = name_of(token).to_string();
        let list = match from {
            Origin::Kept => return,
            Origin::Cluster => &mut self.cluster,
            Origin::Env => &mut self.env,
            Origin::Chosen => &mut self.chosen,
            Origin::Generated => &mut self.generated,
        };
        if !list.contains(&name) {
            list.push(name);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    Kept,
    Cluster,
    Env,
    Chosen,
    Generated,
}

/// What to run instead, for a tree with no secret.yaml (`DIR` is the tree as the user named it).
fn choose_a_source(dir: &Path) -> String {
    let dir = crate::error::display_path(dir);
    format!(
        "if this tree is already installed, take the running install's values: `compose2dify secrets {dir} --from-cluster`; \
         for a first install: `compose2dify secrets {dir} --new`; moving from Docker Compose: \
         `compose2dify secrets {dir} --from-env docker/.env`"
    )
}

pub fn setup(dir: &Path) -> Result<Report> {
    setup_from(dir, &Sources { new: true, ..Sources::default() })
}

/// `setup`, with values chosen on the command line for some placeholders (a `--set` of a secret
/// setting): new files take them; an existing file keeps its own.
pub fn setup_with(dir: &Path, chosen: &BTreeMap<String, String>) -> Result<Report> {
    setup_from(dir, &Sources { new: true, chosen: chosen.clone(), ..Sources::default() })
}

/// Whether the tree holds no filled secret.yaml at all (a fresh clone, or a tree never set up).
pub fn no_secret_files(dir: &Path) -> bool {
    let sops = sops_recipients(dir).is_some();
    examples(dir).is_ok_and(|examples| {
        examples.iter().all(|e| fs::metadata(layout::secret_of(e, sops)).map_or(true, |m| m.len() == 0))
    })
}

/// `compose2dify secrets DIR`: the tree's secret.yaml files made or completed. Values come from
/// the existing files first, then the cluster (`--from-cluster`), a compose install's `.env`
/// (`--from-env`), values chosen on the command line, and only then are invented. With no
/// secret.yaml at all, inventing is refused unless the user said where values come from: a fresh
/// clone of a live install would otherwise rotate every password.
pub fn setup_from(dir: &Path, sources: &Sources) -> Result<Report> {
    let sops = sops_recipients(dir);
    // A tree whose kustomizations list no secret file takes its Secrets from the cluster
    // (`--secrets external`): files here would be used by nothing, and differ from what --apply makes.
    if sops.is_none() && !listed(dir, SECRET_FILE) && !examples(dir)?.is_empty() {
        return Err(Error::file(
            dir,
            "lists no secret.yaml: its Secrets are made in the cluster (--secrets external), so files here would be used by nothing",
            format!("run `compose2dify secrets {} --apply` (with --from-env FILE when moving from Docker Compose)", crate::error::display_path(dir)),
        ));
    }
    let identities = sops_identities(sources, sops.is_some())?;
    let (pairs, locked) = read_pairs(dir, sops.is_some(), identities.as_deref())?;
    let fresh = pairs.iter().all(|p| p.have.is_none() && p.plain.is_none());
    if fresh && !sources.new && sources.cluster.is_none() && sources.env.is_none() {
        return Err(Error::file(
            dir,
            "holds no secret.yaml: new random values would replace every password of an install that is already running (a fresh clone of a committed tree has none, git ignores them)",
            choose_a_source(dir),
        ));
    }
    let mut report = Report::default();
    let mut known = known_values(dir, sources, &pairs, &locked, fresh, &mut report)?;
    for pair in pairs {
        complete(pair, &locked, sops.as_deref(), &mut known, &mut report)?;
    }
    Ok(report)
}

/// One secret file of the tree: its template's text, its path, and its text when it exists
/// (decrypted for sops).
struct Pair {
    want: String,
    secret: PathBuf,
    have: Option<String>,
    /// The age recipients an existing secret.sops.yaml is encrypted to.
    sealed_to: Vec<String>,
    /// A sops tree's plain secret.yaml left from files mode, whose values the encrypted file takes.
    plain: Option<String>,
}

/// The values known before any is invented, with where each came from.
struct Known {
    values: BTreeMap<String, String>,
    origin: BTreeMap<String, Origin>,
}

impl Known {
    fn take(&mut self, token: &str, value: &str, from: Origin) {
        if !self.values.contains_key(token) {
            self.origin.insert(token.to_string(), from);
            self.values.insert(token.to_string(), value.to_string());
        }
    }
}

/// Through read_scope: no symlink (the tree is input too), a regular file, bounded.
fn read_tree_file(p: &Path) -> Result<String> {
    crate::read::scope::read_tree_text(p, 16 << 20)
        .map_err(|e| Error::file(p, format!("cannot read: {e}"), "make it a regular, readable file"))
}

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

/// The age identities given to read a sops tree's existing files.
fn sops_identities(sources: &Sources, sops: bool) -> Result<Option<Identities>> {
    match (&sources.identity, sops) {
        (Some((path, text)), true) => Ok(Some(crate::commands::sops::identities(text).map_err(|e| {
            Error::file(
                path,
                format!("not an age identity file: {e}"),
                "pass the file age-keygen wrote (AGE-SECRET-KEY-1…)",
            )
        })?)),
        _ => Ok(None),
    }
}

/// Every template with its secret file, read (and decrypted when an identity is given); the
/// encrypted files that could not be read are returned too: their keys are visible, their values not.
fn read_pairs(
    dir: &Path,
    sops: bool,
    identities: Option<&[Box<dyn age::Identity + Send + Sync>]>,
) -> Result<(Vec<Pair>, Vec<PathBuf>)> {
    let mut pairs = Vec::new();
    let mut locked: Vec<PathBuf> = Vec::new();
    for example in examples(dir)? {
        let secret = layout::secret_of(&example, sops);
        // Whatever stands there (a dangling symlink too) is read, and refused when it cannot be.
        // An empty file (an interrupted write of an older version) holds nothing to keep: made anew.
        let have = if secret.symlink_metadata().is_ok() { Some(read_tree_file(&secret)?) } else { None };
        let mut have = have.filter(|text| !text.trim().is_empty());
        let sealed_to = have.as_deref().filter(|_| sops).map(crate::commands::sops::recipients_of).unwrap_or_default();
        if let (Some(text), true) = (&have, sops) {
            match identities {
                Some(ids) => {
                    // Not YAML (or an alias bomb): no identity would help.
                    crate::read::yaml::document(text).map_err(|e| {
                        Error::file(
                            &secret,
                            format!("cannot read: {e}"),
                            "restore the file from git, or delete it and make it again (`--from-cluster` takes the live values)",
                        )
                    })?;
                    have = Some(crate::commands::sops::decrypt(text, ids).map_err(|e| {
                        Error::file(
                            &secret,
                            format!("cannot decrypt: {e}"),
                            "pass an age identity of one of its recipients (--age-identity FILE or SOPS_AGE_KEY_FILE)",
                        )
                    })?)
                }
                None => locked.push(secret.clone()),
            }
        }
        // Moving from files mode to sops: the secret.yaml beside it holds the values in use.
        let plain_path = layout::secret_of(&example, false);
        let plain = if sops && have.is_none() && plain_path.symlink_metadata().is_ok() {
            Some(read_tree_file(&plain_path)?)
        } else {
            None
        };
        pairs.push(Pair { want: read_tree_file(&example)?, secret, have, sealed_to, plain });
    }
    Ok((pairs, locked))
}

/// Values already chosen anywhere are the values of their placeholders everywhere: the existing
/// files first, then the cluster (`--from-cluster`), the compose install's `.env` (`--from-env`) and
/// the command line's secret `--set`s.
fn known_values(
    dir: &Path,
    sources: &Sources,
    pairs: &[Pair],
    locked: &[PathBuf],
    fresh: bool,
    report: &mut Report,
) -> Result<Known> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for pair in pairs {
        if let Some(have) = pair.have.as_ref().filter(|_| !locked.contains(&pair.secret)) {
            learn(&pair.want, have, &mut values);
        }
        if let Some(plain) = &pair.plain {
            learn(&pair.want, plain, &mut values);
        }
    }
    let origin = values.keys().map(|t| (t.clone(), Origin::Kept)).collect();
    let mut known = Known { values, origin };
    if let Some(kubectl) = &sources.cluster {
        let live = live_values(dir, kubectl)?;
        if live.is_none() && fresh && !sources.new {
            return Err(Error::usage(
                format!(
                    "the cluster (kubectl's current context) holds none of the Secrets {} names",
                    crate::error::display_path(dir)
                ),
                format!(
                    "check the context (`kubectl config current-context`) and the namespace; for a first install run `compose2dify secrets {} --new`",
                    crate::error::display_path(dir)
                ),
            ));
        }
        for (token, value) in live.unwrap_or_default() {
            match known.values.get(&token) {
                Some(mine) if *mine != value => report.differ_from_cluster.push(name_of(&token).to_string()),
                _ => known.take(&token, &value, Origin::Cluster),
            }
        }
    }
    // A value an existing file (or the cluster) holds wins: they must agree.
    if let Some(env) = &sources.env {
        let used: Vec<String> = pairs.iter().flat_map(|p| tokens(&p.want)).collect();
        env.check_fit(&pairs.iter().map(|p| p.want.as_str()).collect::<Vec<_>>())?;
        for (token, value) in env.values() {
            if used.contains(token) {
                known.take(token, value, Origin::Env);
            }
        }
    }
    for (token, value) in &sources.chosen {
        known.take(token, value, Origin::Chosen);
    }
    Ok(known)
}

/// One secret file made, completed with the keys its template gained, or kept.
fn complete(
    pair: Pair,
    locked: &[PathBuf],
    sops: Option<&[String]>,
    known: &mut Known,
    report: &mut Report,
) -> Result<()> {
    let Pair { want, secret, have, sealed_to, .. } = pair;
    let wanted = string_data(&want);
    let missing: Vec<&(String, String)> = match &have {
        None => wanted.iter().collect(),
        Some(have) => {
            let present = string_data(have);
            let stale: Vec<String> =
                present.iter().filter(|(k, _)| !wanted.iter().any(|(w, _)| w == k)).map(|(k, _)| k.clone()).collect();
            if !stale.is_empty() {
                report.stale.push((secret.clone(), stale));
            }
            wanted.iter().filter(|(k, _)| !present.iter().any(|(p, _)| p == k)).collect()
        }
    };
    let unreadable = !locked.is_empty() && (have.is_none() || locked.contains(&secret));
    if !missing.is_empty() && unreadable {
        return Err(Error::file(
            &secret,
            format!(
                "needs {} but the tree's secret.sops.yaml files are encrypted and no age identity was given: new values could not be made to agree with theirs",
                missing.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "pass an age identity of one of the recipients: --age-identity FILE (or set SOPS_AGE_KEY_FILE); the existing files are kept as they are",
        ));
    }
    let limits = max_lengths(&want);
    for (_, template) in &missing {
        for token in tokens(template) {
            if !known.values.contains_key(&token) {
                known.take(&token, &invented(limits.get(&token).copied())?, Origin::Generated);
            }
            report.origins.note(&token, known.origin.get(&token).copied().unwrap_or(Origin::Kept));
        }
    }
    let seal = |text: String| -> Result<String> {
        let Some(recipients) = sops else { return Ok(text) };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        crate::commands::sops::encrypt(&text, recipients, now).map_err(|e| {
            Error::file(&secret, format!("cannot encrypt: {e}"), "check the --age recipients in GENERATED.md")
        })
    };
    match have {
        None => {
            write_private(&secret, &seal(fill_secret(&want, &known.values))?)?;
            report.created.push(secret);
        }
        // Sealed to other recipients than the tree names (one added or removed): sealed again when
        // it could be read, else said.
        Some(have) if missing.is_empty() && sops.is_some_and(|r| !same_set(r, &sealed_to)) => {
            if locked.contains(&secret) {
                report.reseal_needed.push(secret);
            } else {
                replace_private(&secret, &seal(have)?)?;
                report.resealed.push(secret);
            }
        }
        Some(_) if missing.is_empty() => report.kept.push(secret),
        Some(have) => {
            let lines: Vec<String> =
                missing.iter().map(|(k, t)| fill_secret(&format!("  {k}: {t}"), &known.values)).collect();
            replace_private(&secret, &seal(add_to_string_data(&have, &lines))?)?;
            report.added.push((secret, missing.iter().map(|(k, _)| k.clone()).collect()));
        }
    }
    Ok(())
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<std::collections::BTreeSet<_>>() == b.iter().collect::<std::collections::BTreeSet<_>>()
}

/// A new value for a placeholder: random, cut to the template's length limit when it has one.
fn invented(limit: Option<usize>) -> Result<String> {
    let mut value = random_hex()?;
    value.truncate(limit.unwrap_or(value.len()));
    Ok(value)
}

/// 24 random bytes from the operating system, as 48 hex characters: safe in URLs, shells and YAML.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::usage(format!("the operating system gave no random bytes: {e}"), "run it on a machine with /dev/urandom")
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every `secret.yaml.example` of a generated tree, sorted; refused when there is none.
fn examples(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "not a folder", "pass the generated tree (the folder with kustomization.yaml)"));
    }
    // Only the templates the tool wrote (its manifest lists them): a template added by hand (or by
    // a forged commit) never makes `secrets` read or write a Secret of its choosing.
    let mut examples: Vec<PathBuf> = crate::tree::write::tool_files(dir)
        .into_iter()
        .filter(|f| f.ends_with(SECRET_TEMPLATE))
        .map(|f| dir.join(f))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    examples.sort();
    if examples.is_empty() {
        return Err(Error::file(
            dir,
            "no secret.yaml.example in this folder",
            "pass the folder compose2dify generated with --secrets files or external (an external-secrets tree reads a store instead)",
        ));
    }
    Ok(examples)
}

/// A secret file, new: written privately beside it, then moved into place (never an empty file).
fn write_private(path: &Path, text: &str) -> Result<()> {
    crate::tree::write::replace_file(path, text, true)
}

/// Replace a secret file: written beside it privately, then moved over it.
fn replace_private(path: &Path, text: &str) -> Result<()> {
    crate::tree::write::replace_file(path, text, true)
}
