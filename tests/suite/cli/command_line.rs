//! The command line as kompose, kubectl and helm users expect it: a folder the tool did not write is
//! not overwritten, quiet and verbose runs, completions, examples and suggestions, colour only on a
//! terminal, a closed pipe is no crash, `--set` of an unused key, `-o -` and `-` for standard streams.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::common::*;

fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().expect("run compose2dify")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn a_folder_the_tool_did_not_write_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("kustomization.yaml"), "mine\n").unwrap();
    std::fs::write(out.join("notes.txt"), "mine too\n").unwrap();
    let compose = compose("1.14.1");
    let o = bin().arg(&compose).arg("-o").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("no .compose2dify-manifest") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("kustomization.yaml")).unwrap(), "mine\n", "untouched");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2, "nothing written");

    let o = bin().arg(&compose).arg("-o").arg(&out).arg("--force").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.join(".compose2dify-manifest").is_file());
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine too\n", "other files kept");
    // Written once, the folder is the tool's own: no --force needed again.
    let o = bin().arg(&compose).arg("-o").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn secrets_wants_a_generated_tree() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin().arg("secrets").arg(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no secret.yaml.example"), "{}", text(&o.stderr));
}

#[test]
fn quiet_verbose_and_notes_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let compose = compose("1.14.1");
    let first = bin().arg(&compose).arg("-o").arg(&out).output().unwrap();
    let first = text(&first.stderr);
    assert!(first.contains("note: 35 env file(s) are missing"), "the first run says it: {first}");
    assert!(first.contains("wrote "), "{first}");

    let again = text(&bin().arg(&compose).arg("-o").arg(&out).output().unwrap().stderr);
    assert!(!again.contains("note:"), "not on every run: {again}");
    assert!(again.contains("0 files changed"), "{again}");

    let verbose = text(&bin().arg(&compose).arg("-o").arg(&out).arg("-v").output().unwrap().stderr);
    assert!(verbose.contains("note: 35 env file(s)"), "-v shows it again: {verbose}");

    std::fs::remove_file(out.join("services/web/deployment.yaml")).unwrap();
    let verbose = text(&bin().arg(&compose).arg("-o").arg(&out).arg("--verbose").output().unwrap().stderr);
    assert!(verbose.contains("wrote   services/web/deployment.yaml"), "-v names each file: {verbose}");

    let quiet = bin().arg(&compose).arg("-o").arg(dir.path().join("other")).arg("-q").output().unwrap();
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stderr), "", "-q prints nothing on success");
    assert!(dir.path().join("other/kustomization.yaml").is_file());
}

#[test]
fn completions_help_examples_and_suggestions() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let script = text(&o.stdout);
        assert!(script.contains("compose2dify") && script.contains("ingress-host"), "{shell}: {script}");
    }
    let help = text(&run(&["--help"]).stdout);
    assert!(help.contains("Examples:") && help.contains("compose2dify secrets k8s"), "{help}");
    let typo = run(&["x.yaml", "--chek"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(text(&typo.stderr).contains("'--check'"), "{}", text(&typo.stderr));
    let version = text(&run(&["--version"]).stdout);
    assert_eq!(version.trim(), format!("compose2dify {}", compose2dify::TOOL_VERSION));
    assert!(compose2dify::TOOL_VERSION.contains(" ("), "the version names its commit");
}

/// Colour on a terminal (a pseudo-terminal from `script`), never with NO_COLOR or into a pipe.
#[test]
fn colour_only_on_a_terminal() {
    let script = std::path::Path::new("/usr/bin/script");
    assert!(script.exists(), "this test needs `script` (Debian: apt-get install bsdutils)");
    let cmd = format!("{} secrets /nonexistent-folder", env!("CARGO_BIN_EXE_compose2dify"));
    let tty = Command::new(script).args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR").output().unwrap();
    assert!(text(&tty.stdout).contains("\x1b[31merror"), "coloured on a terminal: {:?}", text(&tty.stdout));
    let no_colour = Command::new(script).args(["-qec", &cmd, "/dev/null"]).env("NO_COLOR", "1").output().unwrap();
    assert!(text(&no_colour.stdout).contains("error: /nonexistent-folder"), "{:?}", text(&no_colour.stdout));
    assert!(!text(&no_colour.stdout).contains('\x1b'), "NO_COLOR: {:?}", text(&no_colour.stdout));
    let piped = run(&["secrets", "/nonexistent-folder"]);
    assert!(!text(&piped.stderr).contains('\x1b'), "a pipe: {:?}", text(&piped.stderr));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child =
        bin().arg(compose("1.14.1")).args(["-o", "-"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap(); // then the pipe closes
    let o = child.wait_with_output().unwrap();
    assert_eq!(first, "---\n");
    let stderr = text(&o.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn set_of_a_key_nothing_uses_is_a_warning_with_the_closest_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k8s");
    let o = bin().arg(compose("1.14.1")).arg("-o").arg(&out).args(["--set", "VECTOR_STOR=qdrant"]).output().unwrap();
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("warning: --set VECTOR_STOR:") && text(&o.stderr).contains("`VECTOR_STORE`"));
    let strict = bin()
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(dir.path().join("strict"))
        .args(["--set", "VECTOR_STOR=qdrant", "--strict"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(2));
    assert!(!dir.path().join("strict").exists(), "nothing written");
    let used = bin()
        .arg(compose("1.14.1"))
        .arg("-o")
        .arg(dir.path().join("used"))
        .args(["--set", "VECTOR_STORE=qdrant"])
        .output()
        .unwrap();
    assert!(!text(&used.stderr).contains("warning: --set"), "{}", text(&used.stderr));
}

/// `-o -` prints what `kubectl kustomize` renders of the written tree (its objects, in its order),
/// and writes nothing; `-` reads the compose file from standard input in the current folder.
#[test]
fn standard_output_and_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let printed = bin().current_dir(dir.path()).arg(compose("1.14.1")).args(["-o", "-"]).output().unwrap();
    assert!(printed.status.success());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "-o - writes nothing");
    let ids = |yaml: &str| -> Vec<(String, String)> {
        yaml_serde::Deserializer::from_str(yaml)
            .map(|d| <yaml_serde::Value as serde::Deserialize>::deserialize(d).unwrap())
            .filter(|d| !d.is_null())
            .map(|d| (d["kind"].as_str().unwrap().to_string(), d["metadata"]["name"].as_str().unwrap().to_string()))
            .collect()
    };
    let stdout = text(&printed.stdout);
    let docs = rendered("1.14.1", &[]);
    let rendered: Vec<(String, String)> = docs
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_string(), d["metadata"]["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(ids(&stdout), rendered);
    assert!(stdout.contains("CHANGE_ME_"), "Secrets as placeholders, never values");

    let folder = repo().join("compose/dify-1.14.1");
    let mut child = bin()
        .current_dir(&folder)
        .args(["-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(folder.join("docker-compose.yaml")).unwrap()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), stdout, "the same objects as from the file, its bind mounts found beside it");
    assert!(run(&[compose("1.14.1").to_str().unwrap(), "-o", "-", "--check"]).status.code() == Some(2));
}
