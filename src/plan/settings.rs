//! Pass 3: every workload's settings, host names rewritten, each plain or secret (with a
//! placeholder); pass 4: the settings every shared service has alike. Also the secret-value
//! helpers the other passes use (commands and files never carry a secret value).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::Result;
use crate::names::HostIndex;
use crate::read::compose::Service;
use crate::read::project::Project;
use crate::rules::{Rules, SecretMatcher, ServiceRule};
use crate::warning::{Warning, WarningKind};

use super::select::Selection;
use super::Workload;

/// Every workload's settings, and what the shared ConfigMap and Secret hold.
pub(super) struct Settings {
    /// Secret values found in the inputs, each with its placeholder.
    pub secret_values: SecretValues,
    /// Per chosen service (the Selection's order): its settings. Taken by its workload.
    pub each: Vec<BTreeMap<String, Value>>,
    /// Per chosen service: settings it merely inherits (the env source handed whole), which make no
    /// flow.
    pub inherited: Vec<BTreeSet<String>>,
    /// Indexes of the services that use the shared ConfigMap and Secret.
    pub shared_idx: Vec<usize>,
    /// What every shared service has alike.
    pub shared: BTreeMap<String, Value>,
    pub shared_config: BTreeMap<String, String>,
    pub shared_secrets: BTreeMap<String, String>,
}

pub(super) fn settings(
    project: &Project,
    rules: &Rules,
    sel: &Selection,
    warnings: &mut Vec<Warning>,
) -> Result<Settings> {
    let matcher = SecretMatcher::new(&rules.secrets)?;
    let chosen = &sel.chosen;
    let secret_values = known_secret_values(project, rules, &matcher, chosen);
    let in_shared_env = |svc: &Service| {
        rules.shared_env.iter().any(|n| n == &svc.name || rules.service(n).is_some_and(|r| r.also.contains(&svc.name)))
    };
    let via = variable_origins(chosen);
    let groups = reach_groups(chosen);
    let literals = shared_literals(chosen, &groups, rules, &matcher);
    let mut each: Vec<BTreeMap<String, Value>> = Vec::new();
    let mut inherited: Vec<BTreeSet<String>> = Vec::new();
    for (i, (svc, rule)) in chosen.iter().enumerate() {
        // Collected at once (the last of equal keys wins, as inserting would): full B-tree nodes,
        // and every workload's map lives until planning ends.
        let mut env: Vec<(String, Value)> = Vec::with_capacity(svc.environment.len());
        let mut not_own = BTreeSet::new();
        let group = groups[&svc.name];
        let reads = rule.secrets_by_need.then(|| sel.image_facts[i].as_ref().and_then(|f| f.reads.clone()));
        for (key, setting) in &svc.environment {
            let value = sel.hosts.rewrite(&setting.value, None);
            let origin = match via.get(&(key.as_str(), setting.value.as_str())) {
                Some(var) if setting.origin == *key => var,
                _ => setting.origin.as_str(),
            };
            let shared = if literals.is_empty() {
                None
            } else {
                let literal = match url_with_credentials(&setting.value) {
                    Some((a, b)) => setting.value[a..b].to_string(),
                    None => setting.value.clone(),
                };
                literals.get(&(group, literal))
            };
            let v = classify(key, &value, origin, rules, &matcher, &secret_values, shared);
            if v.secret.as_ref() == Some(&v.plain) && url_with_credentials(&v.plain).is_some() {
                let text = format!(
                    "service `{}`: no service here sets the password in `{key}` (the server's own default?); it is kept as written, in the Secret: change it on both sides",
                    svc.name
                );
                warnings.push(Warning::new(WarningKind::Setting, text).service(&svc.name).key(key));
            }
            // A secret the service does not read stays out, and a setting it does not read opens no
            // flow: what its image's sources read where they are recorded, else its own
            // `environment:` (what env files hand it besides is not its own).
            let unread = match &reads {
                Some(Some(read)) => !read.contains(key),
                Some(None) => setting.from_env_file,
                None => false,
            };
            if unread && v.secret.is_some() {
                continue;
            }
            env.push((key.clone(), v));
            if unread || setting.from_env_source && rule.inherits_env_source {
                not_own.insert(key.clone());
            }
        }
        let overrides = if in_shared_env(svc) { Some(&rules.shared_settings) } else { None };
        for (key, value) in overrides.into_iter().flatten().chain(&rule.env) {
            env.push((key.clone(), classify(key, value, key, rules, &matcher, &secret_values, None)));
            not_own.remove(key);
        }
        each.push(env.into_iter().collect());
        inherited.push(not_own);
    }

    // Pass 4: shared settings, what every shared service has alike.
    let shared_idx: Vec<usize> =
        chosen.iter().enumerate().filter(|(_, (s, _))| in_shared_env(s)).map(|(i, _)| i).collect();
    let mut shared: BTreeMap<String, Value> = match shared_idx.first() {
        Some(&first) => each[first].clone(),
        None => BTreeMap::new(),
    };
    for &i in shared_idx.iter().skip(1) {
        shared.retain(|k, v| each[i].get(k) == Some(v));
    }
    let (shared_config, shared_secrets) = split(&shared);
    Ok(Settings { secret_values, each, inherited, shared_idx, shared, shared_config, shared_secrets })
}

/// One variable, one placeholder: a setting that some workload gets through a variable of the env
/// source (`INNER_API_KEY_FOR_PLUGIN: ${PLUGIN_DIFY_INNER_API_KEY}`) is named after that variable in
/// every workload that has it with the same value, also where an env file sets it by its own name.
/// (setting, value) → the variable.
pub(super) fn variable_origins<'a>(chosen: &[(&'a Service, &ServiceRule)]) -> BTreeMap<(&'a str, &'a str), &'a str> {
    let mut via = BTreeMap::new();
    for (svc, _) in chosen {
        for (key, s) in &svc.environment {
            if s.origin != *key {
                via.entry((key.as_str(), s.value.as_str())).or_insert(s.origin.as_str());
            }
        }
    }
    via
}

/// A setting after classification: its plain value (for host and flow analysis) and, when secret,
/// the placeholder text written to `secret.yaml.example`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Value {
    pub plain: String,
    pub secret: Option<String>,
}

pub(super) fn split<'v>(
    values: impl IntoIterator<Item = (&'v String, &'v Value)>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut config = Vec::new();
    let mut secrets = Vec::new();
    for (k, v) in values {
        match &v.secret {
            Some(s) => secrets.push((k.clone(), s.clone())),
            None => config.push((k.clone(), v.plain.clone())),
        };
    }
    // Collected at once, the maps' nodes are full (inserted in order, each would stay half empty):
    // every workload keeps its settings until the tree is written. The last of equal keys wins, as
    // with inserting.
    (config.into_iter().collect(), secrets.into_iter().collect())
}

/// Placeholder token for a variable; paired variables share their canonical one.
pub fn placeholder(var: &str, rules: &Rules) -> String {
    let canonical = rules.secrets.pairs.get(var).map(String::as_str).unwrap_or(var);
    crate::placeholders::placeholder(canonical)
}

/// Values that are secret somewhere (a secret setting's value, or a published default), longest
/// first, each with the placeholder that replaces it.
pub(super) fn known_secret_values(
    project: &Project,
    rules: &Rules,
    matcher: &SecretMatcher,
    chosen: &[(&Service, &ServiceRule)],
) -> SecretValues {
    let mut vars: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let min = rules.secrets.min_value_length;
    let mut add = |value: &str, var: &str| {
        if value.len() >= min {
            found.entry(value.to_string()).or_insert_with(|| placeholder(var, rules));
        }
    };
    // Each (name, value) pair once (every service repeats its anchor's), password-like names
    // first, so a shared value is named after its password setting. What follows depends only on
    // the set of pairs and on their names' order.
    let mut pairs: HashSet<(&str, &str), BuildHasherDefault<WordHasher>> = HashSet::default();
    pairs.extend(project.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (svc, _) in chosen {
        pairs.extend(svc.environment.iter().map(|(_, s)| (s.origin.as_str(), s.value.as_str())));
        pairs.extend(svc.environment.iter().map(|(k, s)| (k.as_str(), s.value.as_str())));
    }
    let mut candidates: Vec<(bool, &str, &str)> =
        pairs.into_iter().map(|(k, v)| (!k.contains("PASSWORD"), k, v)).collect();
    candidates.sort_unstable();
    for (_, k, v) in candidates {
        if matcher.is_secret(k) {
            add(v, k);
            if v.len() >= min {
                let holders = vars.entry(v.to_string()).or_default();
                if !holders.iter().any(|h| h == k) {
                    holders.push(k.to_string());
                }
            }
        }
    }
    for public in &rules.secrets.public_values {
        found.entry(public.clone()).or_insert_with(|| crate::placeholders::placeholder("PUBLIC_DEFAULT"));
    }
    let mut list: Vec<(String, String)> = found.into_iter().collect();
    list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    SecretValues { list, vars }
}

/// A word-at-a-time hasher (FxHash's mixing) for the set of (name, value) pairs above: 800,000
/// inserts at 2,000 services × 200 settings, where SipHash cost 0.36 G instructions. The set is
/// built and dropped within one run over the user's own files, where SipHash's defence against
/// chosen keys buys nothing.
#[derive(Default)]
pub(super) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Secret values found in the inputs: (value, its placeholder), longest first, and every variable
/// holding each value (so a URL password can be named after the variable of its own host).
pub(super) struct SecretValues {
    pub list: Vec<(String, String)>,
    pub vars: BTreeMap<String, Vec<String>>,
}

/// A value that switches something on or off (`yes`, `false`, `1`, …): never a secret, whatever
/// the setting's name (`ALLOW_EMPTY_PASSWORD=yes`, `MYSQL_RANDOM_ROOT_PASSWORD=1`).
pub(super) fn is_flag(value: &str) -> bool {
    ["yes", "no", "true", "false", "0", "1"].iter().any(|f| value.eq_ignore_ascii_case(f))
}

/// A setting's value: plain, or secret (with placeholders). `shared` is the placeholder of a
/// secret setting with the same literal value among the services this one reaches or is reached by
/// (a database's password and its client's), which this one takes unless the rules pair it.
#[allow(clippy::too_many_arguments)]
pub(super) fn classify(
    key: &str,
    value: &str,
    origin: &str,
    rules: &Rules,
    matcher: &SecretMatcher,
    known: &SecretValues,
    shared: Option<&String>,
) -> Value {
    let plain = value.to_string();
    let named_secret = matcher.is_secret(key) || matcher.is_secret(origin);
    if named_secret && is_flag(value) {
        return Value { plain, secret: None };
    }
    if named_secret {
        let paired = rules.secrets.pairs.contains_key(origin) || rules.secrets.pairs.values().any(|v| v == origin);
        let secret = if value.is_empty() && !rules.secrets.generate.iter().any(|g| g == key || g == origin) {
            String::new()
        } else if let Some(url) = url_with_credentials(value) {
            placeholder_in_url(&url, value, rules, known, shared)
        } else if let Some(token) = shared.filter(|_| !paired) {
            token.clone()
        } else {
            placeholder(origin, rules)
        };
        return Value { plain, secret: Some(secret) };
    }
    if let Some(url) = url_with_credentials(value) {
        return Value { plain, secret: Some(placeholder_in_url(&url, value, rules, known, shared)) };
    }
    if carries_credential(value) {
        return Value { plain, secret: Some(placeholder(origin, rules)) };
    }
    // A setting that carries a secret value inside it is secret too; one whose whole value merely
    // equals a secret's (`MYSQL_USER: wordpress` beside `MYSQL_PASSWORD: wordpress`) is not, unless
    // that value is a published default (which must never survive anywhere).
    let equals_private =
        known.list.iter().any(|(v, _)| v == value) && !rules.secrets.public_values.iter().any(|p| p == value);
    let scrubbed = replace_known(value, known);
    if scrubbed != value && !equals_private {
        return Value { plain, secret: Some(scrubbed) };
    }
    Value { plain, secret: None }
}

/// Services that reach one another (a setting names the other's host, `depends_on`, `links`),
/// grouped: index of each service's group.
pub(super) fn reach_groups(chosen: &[(&Service, &ServiceRule)]) -> BTreeMap<String, usize> {
    let names: Vec<&str> = chosen.iter().map(|(s, _)| s.name.as_str()).collect();
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Every name a service answers to: its own, its aliases, container name and hostname.
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (svc, _)) in chosen.iter().enumerate() {
        answers.insert(svc.name.as_str(), i);
        for alias in svc.networks.values().flatten().chain(svc.container_name.iter()).chain(svc.hostname.iter()) {
            answers.insert(alias.as_str(), i);
        }
    }
    let answer_names: Vec<String> = answers.keys().map(|n| n.to_string()).collect();
    let index = HostIndex::new(&answer_names, "");
    for (i, (svc, _)) in chosen.iter().enumerate() {
        let mut peers: Vec<usize> = Vec::new();
        peers.extend(svc.depends_on.iter().filter_map(|d| answers.get(d.service.as_str()).copied()));
        peers.extend(svc.links.iter().filter_map(|(t, _)| answers.get(t.as_str()).copied()));
        let mut named = BTreeSet::new();
        for (key, s) in &svc.environment {
            index.mentioned_by_setting(key, &s.value, &mut named);
        }
        peers.extend(named.iter().filter_map(|n| answers.get(n).copied()));
        for j in peers {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a] = b;
        }
    }
    (0..names.len()).map(|i| (names[i].to_string(), root(&mut parent, i))).collect()
}

/// Per group of services that reach one another, each private literal value of a secret setting
/// and the placeholder every secret setting with that value shares: named after a password
/// setting first, then by name.
pub(super) fn shared_literals(
    chosen: &[(&Service, &ServiceRule)],
    groups: &BTreeMap<String, usize>,
    rules: &Rules,
    matcher: &SecretMatcher,
) -> BTreeMap<(usize, String), String> {
    let mut candidates: Vec<(usize, &str, &str)> = Vec::new();
    for (svc, _) in chosen.iter().filter(|_| rules.secrets.share_equal_values) {
        for (key, s) in &svc.environment {
            let var = if matcher.is_secret(&s.origin) { s.origin.as_str() } else { key.as_str() };
            // The password inside a URL (`postgres://app:PW@db/app`) is the same secret as the
            // database's own password setting when their values are equal.
            if let Some((a, b)) = url_with_credentials(&s.value) {
                let password = &s.value[a..b];
                if !is_flag(password) && !rules.secrets.public_values.iter().any(|p| p == password) {
                    candidates.push((groups[&svc.name], key.as_str(), password));
                }
                continue;
            }
            if matcher.is_secret(var)
                && !s.value.is_empty()
                && !is_flag(&s.value)
                && !rules.secrets.public_values.contains(&s.value)
            {
                candidates.push((groups[&svc.name], var, s.value.as_str()));
            }
        }
    }
    candidates.sort_by_key(|(g, k, _)| (*g, !k.contains("PASSWORD"), *k));
    let mut out: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut holders: BTreeMap<(usize, String), BTreeSet<&str>> = BTreeMap::new();
    for (g, var, value) in candidates {
        out.entry((g, value.to_string())).or_insert_with(|| placeholder(var, rules));
        holders.entry((g, value.to_string())).or_default().insert(var);
    }
    // A value only one variable holds needs no sharing.
    out.retain(|k, _| holders[k].len() > 1);
    out
}

/// `scheme://user:password@host` → the password's byte range.
pub fn url_with_credentials(value: &str) -> Option<(usize, usize)> {
    // A byte search: `str::find` sets up a substring searcher for every setting of every service.
    let scheme_end = value.as_bytes().windows(3).position(|w| w == b"://")? + 3;
    let rest = &value[scheme_end..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    if userinfo.contains('/') {
        return None;
    }
    let colon = userinfo.find(':')?;
    let start = scheme_end + colon + 1;
    let end = scheme_end + at;
    (end > start).then_some((start, end))
}

/// Whether a value carries a credential whatever its name: a connection string's `;Password=`, a
/// webhook URL (whose path is its token), a URL whose query holds a token, key or signature.
pub fn carries_credential(value: &str) -> bool {
    if !value.contains('=') && !value.contains("hook") {
        return false; // most values: no allocation
    }
    let v = value.to_ascii_lowercase();
    let in_string = |k: &str| v.starts_with(k) || v.contains(&format!(";{k}")) || v.contains(&format!("; {k}"));
    if ["password=", "pwd=", "accountkey=", "sharedaccesskey="].iter().any(|k| in_string(k)) {
        return true;
    }
    if !v.contains("://") {
        return false;
    }
    const HOOKS: &[&str] = &["hooks.slack.com/services/", "/api/webhooks/", "webhook.office.com/", "/webhookb2/"];
    if HOOKS.iter().any(|h| v.contains(h)) {
        return true;
    }
    let Some((_, query)) = v.split_once('?') else { return false };
    const PARAMS: &[&str] =
        &["token", "access_token", "api_key", "apikey", "key", "sig", "signature", "secret", "password"];
    query.split('&').filter_map(|p| p.split_once('=')).any(|(k, val)| PARAMS.contains(&k) && !val.is_empty())
}

/// The URL with its password replaced by a placeholder: the one of the env-source variable named
/// after its host, else the one its value shares with a reachable service's setting (`shared`), else
/// the env source's for that value. A password nothing else sets (`amqp://guest:guest@broker`: the
/// server's built-in default) is kept as written: a generated one would not match the server's.
pub(super) fn placeholder_in_url(
    range: &(usize, usize),
    value: &str,
    rules: &Rules,
    known: &SecretValues,
    shared: Option<&String>,
) -> String {
    let password = &value[range.0..range.1];
    let host: String = value[range.1 + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect::<String>()
        .to_ascii_uppercase()
        .replace('-', "_");
    let holders = known.vars.get(password).cloned().unwrap_or_default();
    let own_host = holders.iter().find(|v| !host.is_empty() && v.contains(&host)).map(|v| placeholder(v, rules));
    let token = own_host
        .or_else(|| shared.cloned())
        .or_else(|| known.list.iter().find(|(v, _)| v == password).map(|(_, t)| t.clone()))
        .unwrap_or_else(|| password.to_string());
    format!("{}{}{}", &value[..range.0], token, &value[range.1..])
}

pub(super) fn replace_known(value: &str, known: &SecretValues) -> String {
    let mut out = value.to_string();
    for (secret, token) in &known.list {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), token);
        }
    }
    out
}

/// Replace secret values inside a command argument with a reference to the setting that holds
/// them (`$(REDISCLI_AUTH)` for Kubernetes args, `$VAR` for a shell).
pub(super) fn scrub_secrets(
    arg: &str,
    env: &BTreeMap<String, Value>,
    known: &SecretValues,
    open: &str,
    close: &str,
) -> String {
    let mut out = arg.to_string();
    for (secret, _) in &known.list {
        if !out.contains(secret.as_str()) {
            continue;
        }
        let holder = env.iter().find(|(_, v)| v.secret.is_some() && v.plain == *secret).map(|(k, _)| k.clone());
        if let Some(var) = holder {
            out = out.replace(secret.as_str(), &format!("{open}{var}{close}"));
        }
    }
    out
}

pub(super) fn checksum(w: &Workload, shared: Option<&BTreeMap<String, String>>) -> String {
    let mut text = String::new();
    for (k, v) in shared.into_iter().flatten().chain(&w.config).chain(&w.files) {
        text.push_str(k);
        text.push('\0');
        text.push_str(v);
        text.push('\0');
    }
    for (k, bytes) in &w.binary_files {
        text.push_str(k);
        text.push('\0');
        text.push_str(&crate::hash::sha256(bytes));
        text.push('\0');
    }
    crate::hash::sha256(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_inside_values() {
        assert!(carries_credential("Server=db;Database=x;User Id=sa;Password=hunter2;"));
        assert!(carries_credential("https://hooks.slack.com/services/T000/B000/XXXX"));
        assert!(carries_credential("https://discord.com/api/webhooks/1/abc"));
        assert!(carries_credential("https://api.example.com/v1?token=abc&x=1"));
        assert!(!carries_credential("https://api.example.com/v1?page=2"));
        assert!(!carries_credential("LOG_LEVEL=info"));
        assert!(!carries_credential("http://web:8080/"));
    }

    #[test]
    fn url_credentials() {
        let v = "redis://:difyai123456@redis:6379/1";
        let r = url_with_credentials(v).unwrap();
        assert_eq!(&v[r.0..r.1], "difyai123456");
        assert!(url_with_credentials("http://api:5001").is_none());
        assert!(url_with_credentials("http://host/path@x").is_none());
    }
}
