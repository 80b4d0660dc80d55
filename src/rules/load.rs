//! Loading the rules: the built-in presets, a user's file layered over them key by key, each
//! checked where it is written; the texts given in both languages split into English and a table
//! of their Japanese.

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use yaml_serde::Value;

use super::{Preset, Rules, ServiceRule, DIFY, DIFY_IMAGES, GENERIC};
use crate::error::{Error, Result};

/// The rules for a preset, with an optional user file layered on top.
pub fn load(preset: Preset, user: Option<&Path>) -> Result<Rules> {
    let builtin =
        |name: &str, text: &str| -> Result<Value> { crate::read::yaml::parse(Path::new(name), text, "rules file") };
    let mut value = builtin("mappings/generic.yaml", GENERIC)?;
    // The fingerprint is of the files' text, each named: serializing the layered rules again only
    // to hash them cost an eighth of a Dify run.
    let mut seen = format!("mappings/generic.yaml\0{GENERIC}\0");
    if preset == Preset::Dify {
        layer(&mut value, builtin("mappings/dify.yaml", DIFY)?);
        layer(&mut value, builtin("mappings/dify-images.yaml", DIFY_IMAGES)?);
        seen.push_str(&format!("mappings/dify.yaml\0{DIFY}\0mappings/dify-images.yaml\0{DIFY_IMAGES}\0"));
    }
    if let Some(path) = user {
        // A regular file outside the system folders, bounded before it is read (never /proc, a FIFO
        // or /dev/zero), as every other file named on the command line.
        let bytes = crate::read::scope::read_named(path, 4 << 20).map_err(|e| {
            Error::file(path, format!("cannot read rules file: {e}"), "pass a readable YAML rules file to --mappings")
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::file(path, "the rules file is not UTF-8 text", "pass a YAML rules file to --mappings")
        })?;
        let user_value = crate::read::yaml::parse(path, &text, "rules file")?;
        // Check the user's file alone first, so a mistake points at its own line.
        check_user_rules(path, &text, &user_value)?;
        layer(&mut value, user_value);
        seen.push_str(&format!("--mappings\0{text}\0"));
    }
    let fingerprint = crate::hash::sha256(seen.as_bytes());
    let ja = split_bilingual(&mut value);
    let rules: Rules = yaml_serde::from_value(value).map_err(|e| {
        Error::usage(format!("the rules are invalid: {e}"), "check the rules file given with --mappings")
    })?;
    check_image_facts(&rules.images)?;
    Ok(Rules { fingerprint, ja, ..rules })
}

/// Every tag of the image facts names only facts and a `reads` set its image defines, and its user
/// is `root`, a uid or `uid:gid`.
fn check_image_facts(images: &BTreeMap<String, crate::rules::images::ImageRule>) -> Result<()> {
    for (image, rule) in images {
        for (tag, facts) in &rule.tags {
            let bad_fact = facts.facts.iter().find(|f| !rule.facts.contains_key(*f));
            let bad_reads = facts.reads.as_ref().filter(|r| !rule.reads.contains_key(*r));
            let bad_user = crate::rules::images::User::parse(&facts.user).is_none();
            let what = match (bad_fact, bad_reads, bad_user) {
                (Some(f), _, _) => format!("names the fact `{f}`, which `{image}` does not define under `facts:`"),
                (_, Some(r), _) => format!("names the reads set `{r}`, which `{image}` does not define under `reads:`"),
                (_, _, true) => format!("has the user `{}`; write root, a uid or uid:gid", facts.user),
                _ => continue,
            };
            return Err(Error::usage(
                format!("image facts: {image}:{tag} {what}"),
                "fix the tag's entry under `images:` (see mappings/dify-images.yaml)",
            ));
        }
    }
    Ok(())
}

/// Replaces every text given in both languages (`{en: …, ja: …}`: a reason, a finding's reason, a
/// security note) outside `guide:` by its English, which the plan carries, and returns the Japanese
/// of each by its English, for the Japanese guide. Plain strings are English only.
fn split_bilingual(value: &mut Value) -> BTreeMap<String, String> {
    fn walk(value: &mut Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Mapping(m) => {
                let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
                if let (2, Some(en), Some(ja)) = (m.len(), text("en"), text("ja")) {
                    out.insert(en.clone(), ja);
                    *value = Value::String(en);
                    return;
                }
                for (k, v) in m.iter_mut() {
                    if k.as_str() != Some("guide") {
                        walk(v, out);
                    }
                }
            }
            Value::Sequence(s) => s.iter_mut().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(value, &mut out);
    out
}

/// Deserialize the user's file on top of an all-optional view, so unknown or mistyped fields
/// are reported at their line in that file.
fn check_user_rules(path: &Path, text: &str, value: &Value) -> Result<()> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Partial {
        namespace: Option<String>,
        instance: Option<String>,
        storage_class: Option<String>,
        rwx_storage_class: Option<String>,
        retain_annotations: Option<BTreeMap<String, String>>,
        config_map: Option<String>,
        shared_secret: Option<String>,
        shared_env: Option<Vec<String>>,
        shared_claims: Option<BTreeMap<String, Value>>,
        dns: Option<Value>,
        defaults: Option<Value>,
        secrets: Option<Value>,
        ignored_keys: Option<BTreeMap<String, String>>,
        shared_settings: Option<BTreeMap<String, String>>,
        public_url: Option<IndexMap<String, String>>,
        internal_url: Option<IndexMap<String, String>>,
        findings: Option<BTreeMap<String, String>>,
        services: Option<IndexMap<String, ServiceRule>>,
        images: Option<BTreeMap<String, Value>>,
    }
    if !value.is_mapping() {
        return Err(Error::file(
            path,
            "rules file is not a mapping",
            "write the rules as a YAML mapping (see mappings/dify.yaml)",
        ));
    }
    // Re-parse from text so errors carry a line and column. The text has passed `yaml::parse`, so
    // its aliases expand to no more than `yaml::MAX_NODES` here either.
    let located: std::result::Result<Partial, _> = yaml_serde::from_str(text);
    match located {
        Ok(_) => Ok(()),
        Err(e) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            let help = "see mappings/dify.yaml for the fields a rule takes";
            match e.location() {
                Some(l) => Err(Error::at_offset(path, text, l.index(), format!("invalid rules: {message}"), help)),
                None => Err(Error::file(path, format!("invalid rules: {message}"), help)),
            }
        }
    }
}

/// Merge `over` into `base`: mappings key by key, everything else replaced.
fn layer(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => layer(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text given as `{en, ja}` outside `guide:` becomes its English, with its Japanese in the
    /// table; plain strings and the guide's own texts stay as they are.
    #[test]
    fn bilingual_texts_split_into_english_and_a_japanese_table() {
        let mut value: Value = yaml_serde::from_str(
            "a: plain\nb: {en: E, ja: J}\nc: [{reason: {en: F, ja: K}}]\nguide: {t: {en: G, ja: H}}\n",
        )
        .unwrap();
        let ja = split_bilingual(&mut value);
        assert_eq!(ja, BTreeMap::from([("E".into(), "J".into()), ("F".into(), "K".into())]));
        let expected: Value =
            yaml_serde::from_str("a: plain\nb: E\nc: [{reason: F}]\nguide: {t: {en: G, ja: H}}\n").unwrap();
        assert_eq!(value, expected);
        let dify = load(Preset::Dify, None).unwrap();
        let certbot = dify.service("certbot").and_then(|r| r.reason.clone()).unwrap();
        assert!(certbot.starts_with("TLS on Kubernetes"), "{certbot}");
        assert!(dify.ja[&certbot].contains("TLS"), "{:?}", dify.ja.get(&certbot));
        assert!(dify.ja.contains_key(&dify.findings["CKV_K8S_25"]));
    }

    #[test]
    fn builtin_presets_load() {
        let dify = load(Preset::Dify, None).unwrap();
        assert_eq!(dify.namespace, "dify");
        assert_eq!(dify.service("db").and_then(|r| r.name.as_deref()), Some("postgres"));
        let generic = load(Preset::Generic, None).unwrap();
        assert!(generic.services.is_empty());
    }

    #[test]
    fn fingerprint_follows_preset_and_user_file() {
        let dify = load(Preset::Dify, None).unwrap();
        assert_eq!(dify.fingerprint, load(Preset::Dify, None).unwrap().fingerprint);
        assert_ne!(dify.fingerprint, load(Preset::Generic, None).unwrap().fingerprint);
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("rules.yaml");
        std::fs::write(&user, "services:\n  web:\n    replicas: 3\n").unwrap();
        assert_ne!(dify.fingerprint, load(Preset::Dify, Some(&user)).unwrap().fingerprint);
    }
}
