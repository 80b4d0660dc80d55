//! SOPS-encrypted Secret files (`--secrets sops --age RECIPIENT`), as the sops tool writes them and
//! Flux's kustomize-controller decrypts them, for the one shape the tool writes: a Secret whose
//! `stringData` values are encrypted and whose other fields stay readable.
//!
//! The format, from getsops/sops (v3.13): each value is AES-256-GCM with a 32-byte nonce under a
//! random 32-byte data key, its path (`stringData:KEY:`) as additional data, written
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]` in standard base64 (aes/cipher.go); an empty value
//! stays empty. The data key is age-encrypted, ASCII-armored, once per recipient (age/keysource.go).
//! With `mac_only_encrypted`, the MAC is SHA-512 over a fixed 32-byte prefix and the encrypted
//! values in file order, as upper-case hex, itself encrypted with the data key and the
//! `lastmodified` time (RFC 3339) as additional data (sops.go `Tree.Encrypt`,
//! cmd/sops/common/common.go). `encrypted_regex: ^(data|stringData)$` leaves apiVersion, kind and
//! metadata readable for kustomize, and `mac_only_encrypted` lets kustomize add labels to them.

use std::collections::BTreeMap;
use std::io::Read;

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use sha2::{Digest, Sha512};

/// AES-256-GCM with sops' 32-byte nonce.
type Cipher = AesGcm<Aes256, U32>;

pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";
/// The sops version whose format this is.
const VERSION: &str = "3.10.2";
/// sops.go `MACOnlyEncryptedInitialization`: the MAC with `mac_only_encrypted` starts with these.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b,
    0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// An age recipient (`age1…`), checked.
pub fn recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    text.parse::<age::x25519::Recipient>().map_err(|e| e.to_string())
}

/// The identities of an age identity file (`AGE-SECRET-KEY-1…` lines, as `age-keygen` writes).
pub fn identities(text: &str) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, String> {
    age::IdentityFile::from_buffer(text.as_bytes())
        .map_err(|e| e.to_string())?
        .into_identities()
        .map_err(|e| e.to_string())
}

fn random(bytes: &mut [u8]) -> Result<(), String> {
    getrandom::fill(bytes).map_err(|e| format!("the operating system gave no random bytes: {e}"))
}

fn encrypt_value(key: &[u8; 32], value: &str, aad: &str) -> Result<String, String> {
    let mut iv = [0u8; 32];
    random(&mut iv)?;
    let cipher = Cipher::new(key.into());
    let sealed = cipher
        .encrypt((&iv).into(), Payload { msg: value.as_bytes(), aad: aad.as_bytes() })
        .map_err(|_| "AES-GCM encryption failed".to_string())?;
    let (data, tag) = sealed.split_at(sealed.len() - 16);
    Ok(format!("ENC[AES256_GCM,data:{},iv:{},tag:{},type:str]", b64(data), b64(&iv), b64(tag)))
}

fn decrypt_value(key: &[u8; 32], value: &str, aad: &str) -> Result<String, String> {
    let inner = value
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| "a value is not sops' ENC[AES256_GCM,…]".to_string())?;
    let mut parts: BTreeMap<&str, &str> = BTreeMap::new();
    for part in inner.split(',') {
        let (k, v) = part.split_once(':').ok_or_else(|| "a malformed ENC[…] value".to_string())?;
        parts.insert(k, v);
    }
    let field = |k: &str| parts.get(k).copied().and_then(unb64).ok_or_else(|| format!("ENC[…] without a valid {k}"));
    let (data, iv, tag) = (field("data")?, field("iv")?, field("tag")?);
    if parts.get("type") != Some(&"str") {
        return Err("an ENC[…] value that is not a string (type:str)".into());
    }
    if iv.len() != 32 || tag.len() != 16 {
        return Err("an ENC[…] value with an iv or tag of the wrong length".into());
    }
    let mut sealed = data;
    sealed.extend_from_slice(&tag);
    let cipher = Cipher::new(key.into());
    let plain = cipher.decrypt(iv.as_slice().into(), Payload { msg: &sealed, aad: aad.as_bytes() }).map_err(|_| {
        "a value does not decrypt with the file's data key (changed, or moved to another key)".to_string()
    })?;
    String::from_utf8(plain).map_err(|_| "a decrypted value is not UTF-8".to_string())
}

/// Encrypt a Secret as the tool writes it (`stringData:` entries one a line, `  KEY: value`) to the
/// recipients; `now` is the `lastmodified` time (seconds since 1970).
pub fn encrypt(plain: &str, recipients: &[String], now: u64) -> Result<String, String> {
    let mut key = [0u8; 32];
    random(&mut key)?;
    let mut hash = Sha512::new();
    hash.update(MAC_ONLY_ENCRYPTED_INIT);
    let mut out = String::new();
    let mut inside = false;
    for line in plain.lines() {
        if line == "sops:" {
            return Err("the Secret already has a sops block".into());
        }
        inside = if line == "stringData:" { true } else { inside && line.starts_with(' ') };
        let entry = line.strip_prefix("  ").filter(|l| inside && !l.starts_with(' ')).and_then(|l| l.split_once(':'));
        match entry {
            Some((k, v)) if !crate::read::yaml::unquote(v.trim()).is_empty() => {
                let value = crate::read::yaml::unquote(v.trim());
                hash.update(value.as_bytes());
                out.push_str(&format!("  {k}: {}\n", encrypt_value(&key, &value, &format!("stringData:{k}:"))?));
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    let lastmodified = rfc3339(now);
    let mac = format!("{:X}", hash.finalize());
    out.push_str("sops:\n  age:\n");
    for r in recipients {
        let parsed = recipient(r)?;
        let enc = age::encrypt_and_armor(&parsed, &key).map_err(|e| e.to_string())?;
        out.push_str(&format!("    - recipient: {r}\n      enc: |\n"));
        for l in enc.lines() {
            out.push_str(&format!("        {l}\n"));
        }
    }
    out.push_str(&format!("  lastmodified: \"{lastmodified}\"\n"));
    out.push_str(&format!("  mac: {}\n", encrypt_value(&key, &mac, &lastmodified)?));
    out.push_str(&format!("  encrypted_regex: {ENCRYPTED_REGEX}\n  mac_only_encrypted: true\n  version: {VERSION}\n"));
    Ok(out)
}

/// The recipients a sops file is encrypted to (its `sops.age[].recipient`).
pub fn recipients_of(text: &str) -> Vec<String> {
    let doc = crate::read::yaml::document(text).unwrap_or(yaml_serde::Value::Null);
    doc["sops"]["age"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|a| a["recipient"].as_str().map(str::to_string))
        .collect()
}

/// Decrypt a sops Secret the tool wrote (or sops, with the same settings) with age identities: the
/// Secret as plain text, `stringData` values as YAML scalars, without the sops block. The MAC is
/// checked.
pub fn decrypt(text: &str, identities: &[Box<dyn age::Identity + Send + Sync>]) -> Result<String, String> {
    let doc = crate::read::yaml::document(text)?;
    let sops = &doc["sops"];
    if sops["encrypted_regex"].as_str() != Some(ENCRYPTED_REGEX) || sops["mac_only_encrypted"].as_bool() != Some(true) {
        return Err(format!(
            "not encrypted as the tool writes it (encrypted_regex {ENCRYPTED_REGEX}, mac_only_encrypted)"
        ));
    }
    let lastmodified = sops["lastmodified"].as_str().ok_or("no sops.lastmodified")?;
    let mac = sops["mac"].as_str().ok_or("no sops.mac")?;
    let mut key = None;
    for entry in sops["age"].as_sequence().into_iter().flatten() {
        let Some(enc) = entry["enc"].as_str() else { continue };
        let Ok(decryptor) = age::Decryptor::new(age::armor::ArmoredReader::new(enc.as_bytes())) else { continue };
        let Ok(mut reader) = decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)) else {
            continue;
        };
        let mut bytes = Vec::new();
        if reader.read_to_end(&mut bytes).is_ok() && bytes.len() == 32 {
            key = <[u8; 32]>::try_from(bytes.as_slice()).ok();
            break;
        }
    }
    let key = key.ok_or("none of the given age identities is a recipient of this file")?;
    let mut hash = Sha512::new();
    hash.update(MAC_ONLY_ENCRYPTED_INIT);
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "sops:" {
            break;
        }
        inside = if line == "stringData:" { true } else { inside && line.starts_with(' ') };
        let entry = line.strip_prefix("  ").filter(|l| inside && !l.starts_with(' ')).and_then(|l| l.split_once(": "));
        match entry {
            Some((k, v)) if v.starts_with("ENC[") => {
                let value = decrypt_value(&key, v.trim(), &format!("stringData:{k}:"))?;
                hash.update(value.as_bytes());
                out.push_str(&format!("  {k}: {}\n", crate::read::yaml::scalar(&value)));
            }
            Some((k, v)) if !crate::read::yaml::unquote(v.trim()).is_empty() => {
                return Err(format!("stringData.{k} is not encrypted: the file was changed without sops"));
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    if decrypt_value(&key, mac, lastmodified)? != format!("{:X}", hash.finalize()) {
        return Err("the MAC does not match: the file was changed without sops".into());
    }
    Ok(out)
}

/// Seconds since 1970 as RFC 3339 UTC (`2026-01-31T12:00:00Z`), as sops writes `lastmodified`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_time() {
        assert_eq!(b64(b"hello"), "aGVsbG8=");
        assert_eq!(b64(b"abcd"), "YWJjZA==");
        assert_eq!(unb64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_725_457_410), "2024-09-04T13:43:30Z");
    }

    #[test]
    fn round_trip_and_tamper() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        let plain = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  A: abc\n  B: ''\n  C: '123'\ntype: Opaque\n";
        let enc = encrypt(plain, std::slice::from_ref(&r), 1_725_457_410).unwrap();
        assert!(
            !enc.contains("abc") && enc.contains("  B: ''\n") && enc.contains("lastmodified: \"2024-09-04T13:43:30Z\"")
        );
        let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(id)];
        let back = decrypt(&enc, &ids).unwrap();
        assert_eq!(back, plain.replace("'123'", "\"123\""));
        let tampered = enc.replacen("  B: ''", "  B: x", 1);
        assert!(decrypt(&tampered, &ids).unwrap_err().contains("not encrypted"));
        let swapped = enc.replacen("  A: ENC[", "  Z: ENC[", 1);
        assert!(decrypt(&swapped, &ids).is_err(), "the path is the additional data");
        let other: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(age::x25519::Identity::generate())];
        assert!(decrypt(&enc, &other).unwrap_err().contains("none of the given"));
    }
}
