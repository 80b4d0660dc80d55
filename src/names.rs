//! Compose names → DNS-1123 names, and rewriting of host references to them inside settings,
//! commands and config files.

use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A DNS-1123 label from any compose name: `plugin_daemon` → `plugin-daemon`, `MyDB` → `my-db`.
pub fn dns_label(name: &str) -> String {
    let kebab = heck::AsKebabCase(name).to_string();
    let mut out = String::with_capacity(kebab.len());
    for c in kebab.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if out.is_empty() {
        out = "svc".to_string();
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("svc-{out}");
    }
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

/// Whether a name is a DNS-1123 label as given (lower-case letters, digits, `-` inside, at most 63).
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A DNS-1123 subdomain (a StorageClass or annotation-prefix name): dot-separated labels of
/// lowercase letters, digits and `-`, each starting and ending alphanumeric, 253 characters at most.
pub fn is_dns_subdomain(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label)
}

/// A Kubernetes qualified name (label and annotation keys): an optional DNS-subdomain prefix and
/// `/`, then up to 63 letters, digits, `-`, `_` and `.`, starting and ending alphanumeric.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(is_dns_subdomain)
}

/// Old host name → new host name, for every compose name (service, alias, container name) that
/// differs from the Kubernetes Service name it now resolves to.
#[derive(Debug, Clone, Default)]
pub struct HostMap {
    map: BTreeMap<String, String>,
    /// The first bytes of the old names (a bit each): most words of a text start with none of them
    /// and need no lookup.
    firsts: [u64; 4],
}

impl HostMap {
    pub fn insert(&mut self, old: &str, new: &str) {
        if old != new && !old.is_empty() {
            let b = old.as_bytes()[0];
            self.firsts[usize::from(b >> 6)] |= 1 << (b & 63);
            self.map.insert(old.to_string(), new.to_string());
        }
    }

    fn get(&self, word: &str) -> Option<&str> {
        let b = *word.as_bytes().first()?;
        if self.firsts[usize::from(b >> 6)] & (1 << (b & 63)) == 0 {
            return None;
        }
        self.map.get(word).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Rewrite host references in `text`. A reference is the old name standing where a host
    /// stands: the whole text, or after `//`, `@`, whitespace, `=`, `,`, `;`, a quote or `(`, and
    /// followed by the end, `:`, `/`, whitespace, `;`, `,`, a quote or `)`. `fqdn` appends the
    /// cluster suffix (`.dify.svc.cluster.local`) to rewritten and already-correct hosts alike.
    pub fn rewrite(&self, text: &str, fqdn: Option<(&str, &BTreeSet<&String>)>) -> String {
        if self.map.is_empty() && fqdn.is_none() {
            return text.to_string();
        }
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut copied = 0;
        while i < bytes.len() {
            let at_start = i == 0 || starts_host(text, i);
            if at_start && is_name_char(bytes[i]) {
                let end = i + bytes[i..].iter().take_while(|b| is_name_char(**b)).count();
                let word = &text[i..end];
                if ends_host(text, end) {
                    let replacement = self.get(word);
                    let target = replacement.unwrap_or(word);
                    let rendered = match fqdn {
                        Some((suffix, known)) if known.contains(&target.to_string()) && followed_by_port(text, end) => {
                            Some(format!("{target}.{suffix}"))
                        }
                        _ => replacement.map(str::to_string),
                    };
                    if let Some(new) = rendered {
                        out.push_str(&text[copied..i]);
                        out.push_str(&new);
                        copied = end;
                    }
                }
                i = end.max(i + 1);
                continue;
            }
            i += 1;
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// The workload names flows are detected for, indexed once so that finding the hosts a text names
/// costs one pass over the text, not one search per name (a plan with N workloads would otherwise
/// scan every setting N times).
#[derive(Debug, Clone)]
pub struct HostIndex {
    /// Names without a byte that starts or ends hosts (every DNS label): found by looking words up.
    plain: HashSet<String>,
    /// Length of the longest plain name: a longer word is not looked up.
    longest: usize,
    /// Names that contain one: searched for one by one.
    odd: Vec<String>,
    /// `.namespace.`: a name followed by it is named fully qualified.
    fqdn: String,
}

impl HostIndex {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a String>, namespace: &str) -> Self {
        let (mut plain, mut odd) = (HashSet::new(), Vec::new());
        for name in names {
            if name.is_empty() {
                continue; // names nothing
            }
            if name.bytes().any(|b| ends_word(b) || before_host(b)) {
                odd.push(name.clone());
            } else {
                plain.insert(name.clone());
            }
        }
        let longest = plain.iter().map(String::len).max().unwrap_or(0);
        HostIndex { plain, longest, odd, fqdn: format!(".{namespace}.") }
    }

    /// Add to `out` every indexed name that `text` names where a host stands (the same places
    /// `HostMap::rewrite` looks), short or fully qualified in the namespace.
    pub fn mentioned<'a>(&'a self, text: &str, out: &mut BTreeSet<&'a str>) {
        let bytes = text.as_bytes();
        // A name without host-ending bytes can only end where the run of other bytes it starts in
        // ends, so each run is found once and only its host starts are looked up.
        let mut run = 0;
        while run < bytes.len() {
            let end = run + bytes[run..].iter().position(|b| ends_word(*b)).unwrap_or(bytes.len() - run);
            if ends_host(text, end) || text[end..].starts_with(&self.fqdn) {
                for i in end.saturating_sub(self.longest).max(run)..end {
                    if starts_host(text, i) {
                        if let Some(name) = self.plain.get(&text[i..end]) {
                            out.insert(name);
                        }
                    }
                }
            }
            run = end + 1;
        }
        for name in &self.odd {
            if mentions_host(text, name, &self.fqdn) {
                out.insert(name);
            }
        }
    }
}

impl HostIndex {
    /// Like `mentioned`, for a setting: a value that is nothing but a name (`postgres`) names a host
    /// only under a key that holds hosts (`DB_HOST`, not `DB_USERNAME` or `CELERY_BACKEND`).
    pub fn mentioned_by_setting<'a>(&'a self, key: &str, value: &str, out: &mut BTreeSet<&'a str>) {
        let bare = value.trim();
        if let Some(name) = self.plain.get(bare).or_else(|| self.odd.iter().find(|o| *o == bare)) {
            if is_host_key(key) {
                out.insert(name);
            }
            return;
        }
        self.mentioned(value, out);
    }
}

/// Whether a setting points at `host` (see `HostIndex::mentioned_by_setting`).
pub fn setting_names_host(key: &str, value: &str, host: &str, namespace: &str) -> bool {
    if value.trim() == host {
        return is_host_key(key);
    }
    names_host(value, host, namespace)
}

/// Whether `text` names `host` where a host stands, short or fully qualified in `namespace`.
pub fn names_host(text: &str, host: &str, namespace: &str) -> bool {
    mentions_host(text, host, &format!(".{namespace}."))
}

/// The ports `text` names right after `host` (`db:5432` in `postgres://app:pw@db:5432/app`).
pub fn ports_after_host(text: &str, host: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(pos) = text[start..].find(host) {
        let i = start + pos;
        let end = i + host.len();
        if starts_host(text, i) && followed_by_port(text, end) {
            let digits: String = text[end + 1..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(port) = digits.parse::<u16>() {
                if port > 0 && !out.contains(&port) {
                    out.push(port);
                }
            }
        }
        start = end;
    }
    out
}

/// Keys whose bare values are hosts.
fn is_host_key(key: &str) -> bool {
    const HOST_KEYS: &[&str] = &["HOST", "ENDPOINT", "URL", "URI", "ADDR", "SERVER", "DSN", "PROXY"];
    let key = key.to_ascii_uppercase();
    HOST_KEYS.iter().any(|k| key.contains(k))
}

/// Whether `text` names `host` where a host stands, followed by a host end or by `fqdn`.
fn mentions_host(text: &str, host: &str, fqdn: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = text[start..].find(host) {
        let i = start + pos;
        let end = i + host.len();
        if starts_host(text, i) && (ends_host(text, end) || text[end..].starts_with(fqdn)) {
            return true;
        }
        start = end;
    }
    false
}

/// A byte that ends a host name where one is looked for: what `ends_host` accepts, and `.`.
fn ends_word(b: u8) -> bool {
    b == b'.' || matches!(b, b':' | b'/' | b';' | b',' | b'"' | b'\'' | b')' | b' ' | b'\t' | b'\n' | b'\r')
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

fn starts_host(text: &str, i: usize) -> bool {
    let before = &text.as_bytes()[..i];
    match before.last() {
        Some(b'/') => before.ends_with(b"//"),
        Some(c) => before_host(*c),
        None => true,
    }
}

/// A byte after which a host may stand (besides `//`).
fn before_host(b: u8) -> bool {
    matches!(b, b'@' | b'=' | b',' | b';' | b'"' | b'\'' | b'(' | b' ' | b'\t' | b'\n')
}

fn ends_host(text: &str, end: usize) -> bool {
    if text[end..].starts_with("://") {
        return false; // a URL scheme (`redis://`), not a host
    }
    match text.as_bytes().get(end) {
        None => true,
        Some(c) => matches!(c, b':' | b'/' | b';' | b',' | b'"' | b'\'' | b')' | b' ' | b'\t' | b'\n' | b'\r'),
    }
}

fn followed_by_port(text: &str, end: usize) -> bool {
    let rest = &text.as_bytes()[end..];
    rest.first() == Some(&b':') && rest.get(1).is_some_and(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn subdomains_and_qualified_names() {
        for ok in ["standard", "efs-sc", "azurefile-csi-premium", "nfs.example.com", "gp3"] {
            assert!(super::is_dns_subdomain(ok), "{ok}");
        }
        for bad in ["", "Standard", "-x", "x-", "a..b", "a_b", "x y", &"a".repeat(254)] {
            assert!(!super::is_dns_subdomain(bad), "{bad}");
        }
        for ok in ["nginx.ingress.kubernetes.io/proxy-body-size", "team", "a.b/C_d.e-f"] {
            assert!(super::is_qualified_name(ok), "{ok}");
        }
        for bad in ["", "/x", "Ex.com/x", "x/", "a/b/c", "-x", "x y", &"a".repeat(64)] {
            assert!(!super::is_qualified_name(bad), "{bad}");
        }
    }

    use super::*;

    fn map() -> HostMap {
        let mut m = HostMap::default();
        m.insert("ssrf_proxy", "ssrf-proxy");
        m.insert("plugin_daemon", "plugin-daemon");
        m.insert("db", "postgres");
        m
    }

    #[test]
    fn labels() {
        assert_eq!(dns_label("plugin_daemon"), "plugin-daemon");
        assert_eq!(dns_label("couchbase-server"), "couchbase-server");
        assert_eq!(dns_label("milvus-standalone"), "milvus-standalone");
        assert_eq!(dns_label("MyDB"), "my-db");
        assert_eq!(dns_label("1st"), "svc-1st");
        assert_eq!(dns_label("__"), "svc");
        assert!(dns_label(&"a".repeat(100)).len() <= 63);
    }

    #[test]
    fn rewrites_hosts_only() {
        let m = map();
        assert_eq!(m.rewrite("http://ssrf_proxy:3128", None), "http://ssrf-proxy:3128");
        assert_eq!(m.rewrite("plugin_daemon:5002", None), "plugin-daemon:5002");
        assert_eq!(m.rewrite("db", None), "postgres");
        assert_eq!(m.rewrite("redis://:pw@db:6379/1", None), "redis://:pw@postgres:6379/1");
        assert_eq!(m.rewrite("/var/lib/db", None), "/var/lib/db");
        assert_eq!(m.rewrite("dbx", None), "dbx");
        assert_eq!(m.rewrite("my_db", None), "my_db");
        assert_eq!(m.rewrite("proxy_pass http://plugin_daemon:5002;", None), "proxy_pass http://plugin-daemon:5002;");
    }

    fn mentions(text: &str, host: &str) -> bool {
        let names = [host.to_string(), "other".to_string()];
        let index = HostIndex::new(&names, "dify");
        let mut out = BTreeSet::new();
        index.mentioned(text, &mut out);
        out.contains(host)
    }

    #[test]
    fn ports_after_a_host() {
        assert_eq!(ports_after_host("postgres://app:pw@db:5432/app", "db"), vec![5432]);
        assert_eq!(ports_after_host("db:5432,db:5433 mydb:1", "db"), vec![5432, 5433]);
        assert!(ports_after_host("db/x dbx:1 db:", "db").is_empty());
        assert!(ports_after_host("db:99999", "db").is_empty());
    }

    #[test]
    fn host_mentions() {
        assert!(mentions("http://sandbox:8194", "sandbox"));
        assert!(mentions("postgres", "postgres"));
        assert!(!mentions("postgresql", "postgres"));
        assert!(!mentions("my-postgres", "postgres"));
        assert!(mentions("proxy_pass http://api.dify.svc.cluster.local:5001;", "api"));
        assert!(!mentions("proxy_pass http://api.other.svc.cluster.local:5001;", "api"));
        assert!(!mentions("/app/api/storage", "api"));
        assert!(mentions("a=b,api:1 (api)", "api"));
        assert!(!mentions("redis://:pw@cache.example.com:6379/1", "redis"), "a scheme is no host");
        assert!(mentions("redis://:pw@redis:6379/1", "redis"));
        assert!(setting_names_host("DB_HOST", "postgres", "postgres", "dify"));
        assert!(!setting_names_host("DB_USERNAME", "postgres", "postgres", "dify"), "a user name is no host");
        assert!(setting_names_host("DB_USERNAME", "postgres:5432", "postgres", "dify"));
        // A name with a byte that ends hosts elsewhere is still found, by searching for it.
        assert!(mentions("http://db.internal:5432", "db.internal"));
        assert!(!mentions("http://db.internals:5432", "db.internal"));
    }

    #[test]
    fn every_name_of_a_text_at_once() {
        let names: Vec<String> = ["api", "redis", "db", "web"].iter().map(|s| s.to_string()).collect();
        let index = HostIndex::new(&names, "dify");
        let mut out = BTreeSet::new();
        index.mentioned("redis://:pw@redis:6379/1 http://api:5001 db", &mut out);
        assert_eq!(out.into_iter().collect::<Vec<_>>(), ["api", "db", "redis"]);
    }

    proptest::proptest! {
        /// The index finds exactly the names a search for each name finds.
        #[test]
        fn index_agrees_with_searching_each_name(text in "[a-c_.:/@= -]{0,40}") {
            let names: Vec<String> = ["a", "b", "ab", "a-b", "c", "ab.c"].iter().map(|s| s.to_string()).collect();
            let index = HostIndex::new(&names, "c");
            let mut found = BTreeSet::new();
            index.mentioned(&text, &mut found);
            let searched: BTreeSet<&str> =
                names.iter().filter(|n| mentions_host(&text, n, ".c.")).map(String::as_str).collect();
            proptest::prop_assert_eq!(found, searched);
        }
    }

    #[test]
    fn fqdn_for_config_files() {
        let m = map();
        let names = ["api".to_string(), "plugin-daemon".to_string()];
        let known: BTreeSet<&String> = names.iter().collect();
        let out = m.rewrite(
            "proxy_pass http://api:5001;\nproxy_pass http://plugin_daemon:5002;\n$host",
            Some(("dify.svc.cluster.local", &known)),
        );
        assert_eq!(out, "proxy_pass http://api.dify.svc.cluster.local:5001;\nproxy_pass http://plugin-daemon.dify.svc.cluster.local:5002;\n$host");
    }
}
