//! Every shell script we generate parses (`sh -n`) and passes shellcheck: the `sh -c` commands of
//! containers and init containers, the `sh -c` exec probes, in every vendored release's tree, and the
//! tree's `scripts/setup-secrets.sh`. (Exec probes that run a program directly, such as the plugin
//! daemon's `python3 -c`, are no shell.)

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;
use yaml_serde::Value;

const SHELLS: &[&str] = &["sh", "/bin/sh", "bash", "/bin/bash"];

fn require_shellcheck() {
    let found = Command::new("shellcheck").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "shellcheck is not installed: install the Debian package `shellcheck` (.ci/run does)");
}

/// `sh -n` and `shellcheck` on a script; the failure names where it came from.
fn check(script: &str, dialect: &str, from: &str) {
    let n = Command::new(dialect.trim_start_matches("/bin/")).args(["-n", "-c", script]).output().expect("run sh");
    assert!(n.status.success(), "{from}: `{dialect} -n` fails: {}\n{script}", String::from_utf8_lossy(&n.stderr));
    let mut sc = Command::new("shellcheck")
        // SC3028 says POSIX sh leaves HOSTNAME unset; Kubernetes sets it in every container.
        .args(["-s", if dialect.ends_with("bash") { "bash" } else { "sh" }, "-e", "SC3028", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run shellcheck");
    sc.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write script");
    let out = sc.wait_with_output().expect("shellcheck");
    assert!(out.status.success(), "{from}: shellcheck:\n{}\n{script}", String::from_utf8_lossy(&out.stdout));
}

/// The shell script of an argv, if it is `sh -c SCRIPT …`.
fn shell_script(argv: &[String]) -> Option<(&str, &str)> {
    match argv {
        [shell, flag, script, ..] if SHELLS.contains(&shell.as_str()) && flag == "-c" => Some((shell, script)),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Every `sh -c` script of the tree's pods: (where, shell, script).
fn scripts(tree: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in walk(&tree.join("services")) {
        if entry.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).expect("read");
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let doc = Value::deserialize(doc).expect("yaml");
            let spec = match doc["kind"].as_str() {
                Some("Deployment" | "StatefulSet" | "Job") => &doc["spec"]["template"]["spec"],
                _ => continue,
            };
            let name = doc["metadata"]["name"].as_str().unwrap_or("?").to_string();
            for list in ["initContainers", "containers"] {
                for c in spec[list].as_sequence().into_iter().flatten() {
                    let cname = c["name"].as_str().unwrap_or("?");
                    let argv: Vec<String> = strings(&c["command"]).into_iter().chain(strings(&c["args"])).collect();
                    if let Some((sh, script)) = shell_script(&argv) {
                        out.push((format!("{name}/{cname} command"), sh.to_string(), script.to_string()));
                    }
                    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                        let argv = strings(&c[probe]["exec"]["command"]);
                        if let Some((sh, script)) = shell_script(&argv) {
                            out.push((format!("{name}/{cname} {probe}"), sh.to_string(), script.to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn every_generated_shell_script_parses_and_passes_shellcheck() {
    require_shellcheck();
    for release in crate::common::RELEASES {
        let dir = tempfile::tempdir().expect("temp dir");
        let tree = dir.path().join("k8s");
        crate::common::generated(release, &tree, &[]);
        let found = scripts(&tree);
        // The migration waiters and the sandbox's seeding are shell; so are probes from compose.
        assert!(found.len() >= 2, "{release}: only {} shell scripts found", found.len());
        for (from, shell, script) in &found {
            check(script, shell, &format!("{release} {from}"));
        }
        let setup = std::fs::read_to_string(tree.join("scripts/setup-secrets.sh")).expect("setup-secrets.sh");
        check(&setup, "sh", &format!("{release} scripts/setup-secrets.sh"));
    }
}

#[test]
fn the_check_catches_what_it_should() {
    require_shellcheck();
    let bad_syntax = std::panic::catch_unwind(|| check("if then", "sh", "test"));
    assert!(bad_syntax.is_err(), "sh -n accepts a syntax error");
    let unquoted = std::panic::catch_unwind(|| check("for f in $(ls); do echo $f; done", "sh", "test"));
    assert!(unquoted.is_err(), "shellcheck accepts an unquoted expansion");
    check("for f in /seed/*; do cp \"$f\" /target/; done", "sh", "test");
}
