//! SHA-256 in lower-case hex: input hashes (GENERATED.md) and pod-template checksums.

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
