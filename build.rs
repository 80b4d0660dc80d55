//! Records the commit the binary is built from, for `--version` and GENERATED.md.

use std::process::Command;

fn main() {
    let commit = std::env::var("COMPOSE2DIFY_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let hash = String::from_utf8(out.stdout).ok()?.trim().to_string();
        if !out.status.success() || hash.is_empty() {
            return None;
        }
        let dirty = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty());
        Some(if dirty { format!("{hash}-modified") } else { hash })
    });
    println!("cargo:rustc-env=COMPOSE2DIFY_COMMIT={}", commit.as_deref().unwrap_or("commit unknown"));
    println!("cargo:rerun-if-env-changed=COMPOSE2DIFY_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
