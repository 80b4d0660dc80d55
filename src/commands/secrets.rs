//! `compose2dify secrets DIR`: every `secret.yaml` from its `.example` with random values, the same
//! value for the same placeholder everywhere. An existing `secret.yaml` keeps every value it has and
//! only gains the keys a newer `.example` added (an upgrade); keys the `.example` no longer has are
//! reported, never deleted. The shell script `scripts/setup-secrets.sh` in the tree does the same for
//! people without the tool.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
/// The old path of `tokens`, kept while lib.rs and guide/ still name it.
pub use crate::placeholders::tokens;
use crate::placeholders::{fill, holds_placeholder, name_of, MAX_LENGTH};

pub use crate::tree::layout::SOPS_FILE;

use crate::choices::Choice;

/// The age recipients of a tree generated with `--secrets sops` (its GENERATED.md's choices), or
/// `None` for another mode.
pub fn sops_recipients(dir: &Path) -> Option<Vec<String>> {
    let text = crate::read::scope::read_tree_text(&dir.join("GENERATED.md"), 4 << 20).ok()?;
    let choices: Vec<Choice> = crate::recorded_choices(&text)?.iter().filter_map(|l| Choice::parse(l).ok()).collect();
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
    listed(dir, SOPS_FILE) && !listed(dir, "secret.yaml")
}

/// Whether one of the tree's own kustomizations (those its manifest lists) names `file`.
fn listed(dir: &Path, file: &str) -> bool {
    crate::tree::write::tool_files(dir)
        .into_iter()
        .filter(|f| f.ends_with("kustomization.yaml"))
        .filter_map(|f| crate::read::scope::read_tree_text(&dir.join(f), 1 << 20).ok())
        .any(|k| k.lines().any(|l| l.trim() == format!("- {file}")))
}

/// The length limits a secret template's annotation gives: token → at most so many characters.
fn max_lengths(example: &str) -> BTreeMap<String, usize> {
    let prefix = format!("{MAX_LENGTH}: ");
    example
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
        .flat_map(|v| v.trim_matches(['\'', '"']).split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|item| item.split_once('=').and_then(|(t, n)| Some((t.to_string(), n.parse().ok()?))))
        .collect()
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
        examples.iter().all(|e| {
            let secret = if sops { e.with_file_name(SOPS_FILE) } else { e.with_extension("") };
            fs::metadata(secret).map_or(true, |m| m.len() == 0)
        })
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
    if sops.is_none() && !listed(dir, "secret.yaml") && !examples(dir)?.is_empty() {
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
        let secret = if sops { example.with_file_name(SOPS_FILE) } else { example.with_extension("") };
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
        let plain_path = example.with_extension("");
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

/// The `stringData` entries of a Secret as the tool writes it (`  KEY: value`, one a line): key and
/// value text as written.
fn string_data(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "stringData:" {
            inside = true;
        } else if inside && line.starts_with("  ") && !line.starts_with("   ") {
            if let Some((key, value)) = line[2..].split_once(':') {
                out.push((key.to_string(), crate::read::yaml::unquote(value.trim())));
            }
        } else if inside && !line.starts_with(' ') {
            inside = false;
        }
    }
    out
}

/// The text with `lines` added at the end of its `stringData` block.
fn add_to_string_data(text: &str, lines: &[String]) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut added = false;
    for line in text.lines() {
        if inside && !added && !line.starts_with(' ') {
            lines.iter().for_each(|l| out.push_str(&format!("{l}\n")));
            added = true;
        }
        inside = inside || line == "stringData:";
        out.push_str(line);
        out.push('\n');
    }
    if !added {
        if !inside {
            out.push_str("stringData:\n");
        }
        lines.iter().for_each(|l| out.push_str(&format!("{l}\n")));
    }
    out
}

/// `fill` for a Secret's text: a `stringData` line whose value is one placeholder gets the value as
/// a YAML scalar (quoted where YAML would read it as something else); placeholders inside a longer
/// value (a URL) are put in as they are.
fn fill_secret(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let whole = body.strip_prefix("  ").filter(|b| !b.starts_with(' ')).and_then(|b| b.split_once(": "));
        match whole.and_then(|(key, v)| Some((key, values.get(v).filter(|_| tokens(v) == [v])?))) {
            Some((key, value)) => out.push_str(&format!("  {key}: {}{end}", crate::read::yaml::scalar(value))),
            None => out.push_str(&fill(line, values)),
        }
    }
    out
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
        .filter(|f| f.ends_with("secret.yaml.example"))
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

/// Values already chosen in an existing secret file: the same key of the example tells which.
fn learn(example: &str, secret: &str, values: &mut BTreeMap<String, String>) {
    let have = string_data(secret);
    for (key, want) in string_data(example) {
        let Some((_, have)) = have.iter().find(|(k, _)| *k == key) else { continue };
        for token in tokens(&want) {
            let Some(at) = want.find(&token) else { continue };
            let (prefix, suffix) = (&want[..at], &want[at + token.len()..]);
            if let Some(value) = have.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)) {
                if !value.is_empty() && !holds_placeholder(value) {
                    values.entry(token).or_insert_with(|| value.to_string());
                }
            }
        }
    }
}

/// A secret file, new: written privately beside it, then moved into place (never an empty file).
fn write_private(path: &Path, text: &str) -> Result<()> {
    crate::tree::write::replace_file(path, text, true)
}

/// Replace a secret file: written beside it privately, then moved over it.
fn replace_private(path: &Path, text: &str) -> Result<()> {
    crate::tree::write::replace_file(path, text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_from_existing_by_key() {
        let mut v = BTreeMap::new();
        let example = "stringData:\n  A: CHANGE_ME_A\n  URL: redis://:CHANGE_ME_R@redis\ntype: Opaque\n";
        learn(example, "stringData:\n  URL: redis://:abc@redis\ntype: Opaque\n", &mut v);
        assert_eq!(v.get("CHANGE_ME_R").map(String::as_str), Some("abc"), "the URL is on another line");
        assert_eq!(v.get("CHANGE_ME_A"), None);
    }

    #[test]
    fn keys_are_added_at_the_end_of_string_data() {
        let text = "kind: Secret\nstringData:\n  A: x\ntype: Opaque\n";
        assert_eq!(
            add_to_string_data(text, &["  B: y".to_string()]),
            "kind: Secret\nstringData:\n  A: x\n  B: y\ntype: Opaque\n"
        );
        assert_eq!(
            add_to_string_data("stringData:\n  A: x\n", &["  B: y".to_string()]),
            "stringData:\n  A: x\n  B: y\n"
        );
        assert_eq!(string_data(text), vec![("A".to_string(), "x".to_string())]);
    }
}

/// What `apply` did to each Secret in the cluster.
#[derive(Debug, Default)]
pub struct Applied {
    /// Where the values written came from, by placeholder name.
    pub origins: Origins,
    /// Secrets created (`namespace/name`).
    pub created: Vec<String>,
    /// Secrets that existed and gained keys, with those keys.
    pub added: Vec<(String, Vec<String>)>,
    /// Secrets that had every key already.
    pub kept: Vec<String>,
}

/// A Secret template of the tree (`secret.yaml.example`): name, namespace and settings.
struct Template {
    name: String,
    namespace: String,
    data: BTreeMap<String, String>,
    /// Placeholders whose value must be short (its `compose2dify.io/max-length` annotation).
    limits: BTreeMap<String, usize>,
}

/// `compose2dify secrets DIR --apply`: every Secret the tree names, made or completed in the cluster
/// through `kubectl` (the current context): missing Secrets are created with random values, existing
/// ones keep every value and gain the keys they lack, and a placeholder already set anywhere keeps
/// its value everywhere. Values go to kubectl through standard input and private files, never on a
/// command line.
pub fn apply(dir: &Path, kubectl: &Path, env: Option<&crate::commands::secret_env::EnvValues>) -> Result<Applied> {
    let templates = templates(dir)?;
    let mut existing: Vec<Option<BTreeMap<String, String>>> = Vec::new();
    for t in &templates {
        existing.push(cluster_secret(kubectl, t)?);
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (t, have) in templates.iter().zip(&existing) {
        if let Some(have) = have {
            learn_values(&t.data, have, &mut values);
        }
    }
    let mut from_env = Vec::new();
    if let Some(env) = env {
        let texts: Vec<String> =
            templates.iter().map(|t| t.data.values().map(|v| format!("  x: {v}\n")).collect()).collect();
        env.check_fit(&texts.iter().map(String::as_str).collect::<Vec<_>>())?;
        for (token, value) in env.values() {
            if !values.contains_key(token) {
                values.insert(token.clone(), value.clone());
                from_env.push(token.clone());
            }
        }
    }
    let mut applied = Applied::default();
    for (t, have) in templates.iter().zip(existing) {
        let missing: BTreeMap<&String, &String> =
            t.data.iter().filter(|(k, _)| have.as_ref().is_none_or(|h| !h.contains_key(*k))).collect();
        let id = format!("{}/{}", t.namespace, t.name);
        if missing.is_empty() {
            applied.kept.push(id);
            continue;
        }
        for template in missing.values() {
            for token in tokens(template) {
                let from = if from_env.contains(&token) { Origin::Env } else { Origin::Kept };
                if let std::collections::btree_map::Entry::Vacant(slot) = values.entry(token.clone()) {
                    slot.insert(invented(t.limits.get(&token).copied())?);
                    applied.origins.note(&token, Origin::Generated);
                } else {
                    applied.origins.note(&token, from);
                }
            }
        }
        let filled: BTreeMap<&String, String> = missing.iter().map(|(k, v)| (*k, fill(v, &values))).collect();
        let staged = tempfile::Builder::new()
            .prefix(".compose2dify-secret-")
            .tempfile()
            .map_err(|e| Error::usage(format!("cannot make a private temporary file: {e}"), "check TMPDIR"))?;
        if have.is_none() {
            let secret = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": t.name, "namespace": t.namespace},
                "stringData": filled,
            });
            fs::write(staged.path(), secret.to_string())
                .map_err(|e| Error::file(staged.path(), e.to_string(), "check TMPDIR"))?;
            run_kubectl(kubectl, &["create", "-f", &staged.path().to_string_lossy()])?;
            applied.created.push(id);
        } else {
            fs::write(staged.path(), serde_json::json!({ "stringData": filled }).to_string())
                .map_err(|e| Error::file(staged.path(), e.to_string(), "check TMPDIR"))?;
            let file = staged.path().to_string_lossy().to_string();
            run_kubectl(
                kubectl,
                &["patch", "secret", &t.name, "-n", &t.namespace, "--type", "merge", "--patch-file", &file],
            )?;
            applied.added.push((id, missing.keys().map(|k| k.to_string()).collect()));
        }
    }
    Ok(applied)
}

fn templates(dir: &Path) -> Result<Vec<Template>> {
    let mut out = Vec::new();
    for example in examples(dir)? {
        let text = crate::read::scope::read_tree_text(&example, 16 << 20)
            .map_err(|e| Error::file(&example, format!("cannot read: {e}"), "make it a regular, readable file"))?;
        let doc = crate::read::yaml::document(&text)
            .map_err(|e| Error::file(&example, format!("not a Secret template: {e}"), "regenerate the tree"))?;
        let text_of = |v: &yaml_serde::Value| v.as_str().map(str::to_string);
        let (Some(name), Some(namespace)) = (text_of(&doc["metadata"]["name"]), text_of(&doc["metadata"]["namespace"]))
        else {
            return Err(Error::file(
                &example,
                "a Secret template without metadata.name and namespace",
                "regenerate the tree",
            ));
        };
        let data = doc["stringData"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((text_of(k)?, text_of(v).unwrap_or_default())))
            .collect();
        out.push(Template { name, namespace, data, limits: max_lengths(&text) });
    }
    // Every Secret of the tree lives in the tree's namespace: a template naming another (a forged
    // file) never makes `--from-cluster` or `--apply` reach into it.
    if let Some(t) = out.iter().find(|t| out.first().is_some_and(|f| f.namespace != t.namespace)) {
        return Err(Error::file(
            dir,
            format!("the Secret template {} names the namespace `{}`, not the tree's", t.name, t.namespace),
            "regenerate the tree; remove secret templates you did not generate",
        ));
    }
    if let (Some(first), Some(tree)) = (out.first(), tree_namespace(dir)) {
        if first.namespace != tree {
            return Err(Error::file(
                dir,
                format!(
                    "the Secret templates name the namespace `{}`, the tree's Namespace is `{tree}`",
                    first.namespace
                ),
                "regenerate the tree",
            ));
        }
    }
    Ok(out)
}

/// The namespace the tree creates (its base/namespace.yaml), when it has one.
fn tree_namespace(dir: &Path) -> Option<String> {
    let text = crate::read::scope::read_tree_text(&dir.join("base/namespace.yaml"), 1 << 20).ok()?;
    let doc = crate::read::yaml::document(&text).ok()?;
    doc["metadata"]["name"].as_str().map(str::to_string)
}

/// The Secret's decoded data in the cluster, or `None` when it does not exist.
fn cluster_secret(kubectl: &Path, t: &Template) -> Result<Option<BTreeMap<String, String>>> {
    let out = std::process::Command::new(kubectl)
        .args(["get", "secret", &t.name, "-n", &t.namespace, "-o", "json", "--ignore-not-found"])
        .output()
        .map_err(|e| kubectl_missing(kubectl, &e))?;
    if !out.status.success() {
        return Err(Error::usage(
            format!(
                "kubectl get secret {}/{} failed: {}",
                t.namespace,
                t.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "check the kubectl context and your access to the namespace",
        ));
    }
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::usage(format!("kubectl printed no Secret: {e}"), "check the kubectl context"))?;
    let mut data = BTreeMap::new();
    for (key, value) in doc["data"].as_object().into_iter().flatten() {
        let decoded = value
            .as_str()
            .and_then(|v| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok())
            .unwrap_or_default();
        data.insert(key.clone(), String::from_utf8_lossy(&decoded).to_string());
    }
    Ok(Some(data))
}

/// Placeholder values the tree's Secrets hold in the cluster (`--from-cluster`), or `None` when the
/// cluster holds none of them.
fn live_values(dir: &Path, kubectl: &Path) -> Result<Option<BTreeMap<String, String>>> {
    let mut values = BTreeMap::new();
    let mut found = false;
    for t in &templates(dir)? {
        if let Some(have) = cluster_secret(kubectl, t)? {
            found = true;
            learn_values(&t.data, &have, &mut values);
        }
    }
    Ok(found.then_some(values))
}

/// Placeholder values from a Secret that has them: the same key of the template tells which.
fn learn_values(
    template: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
    values: &mut BTreeMap<String, String>,
) {
    let as_text = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect::<String>();
    learn(&format!("stringData:\n{}", as_text(template)), &format!("stringData:\n{}", as_text(have)), values);
}

fn run_kubectl(kubectl: &Path, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(kubectl).args(args).output().map_err(|e| kubectl_missing(kubectl, &e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::usage(
        format!("kubectl {} failed: {}", args[..2].join(" "), String::from_utf8_lossy(&out.stderr).trim()),
        "check the kubectl context and your access to the namespace",
    ))
}

fn kubectl_missing(kubectl: &Path, e: &std::io::Error) -> Error {
    Error::usage(format!("cannot run {}: {e}", kubectl.display()), "install kubectl, or pass --kubectl PATH")
}
