//! The guide's "Moving from Docker Compose" chapter (issue 27), run as written: from inside `k8s/`,
//! with the compose folder beside it, against stand-in `docker`, `kubectl` and `compose2dify` that
//! record what they are asked and hand over what is piped to them. The chapter's blocks must pass
//! `bash -n` and shellcheck, every workload, pod, Job, claim and mount path it names must be in the
//! rendered tree, every compose service in the compose file, and each host folder must arrive in
//! the claim the compose file mounts it at.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use yaml_serde::Value;

/// The chapter of a guide, by its heading in either language.
fn chapter(readme: &str) -> &str {
    let start = ["\n## Moving from Docker Compose\n", "\n## Docker Compose からの移行\n"]
        .iter()
        .find_map(|h| readme.find(h).map(|i| i + h.len()))
        .expect("the guide has a Moving from Docker Compose chapter");
    let rest = &readme[start..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The chapter's ```bash blocks, in order, as one script.
fn script(chapter: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in chapter.lines() {
        match (inside, line) {
            (false, "```bash") => inside = true,
            (true, "```") => inside = false,
            (true, l) => {
                out.push_str(l);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// `bash -n` and shellcheck on the script: the problems, if any.
fn shell_problems(script: &str) -> Option<String> {
    let n = Command::new("bash").args(["-n", "-c", script]).output().expect("bash");
    if !n.status.success() {
        return Some(format!("bash -n: {}", String::from_utf8_lossy(&n.stderr)));
    }
    let mut sc = Command::new("shellcheck")
        // SC2016: the single-quoted `sh -c` scripts expand their variables in the container's shell
        // (tests/suite/tree/shell.rs checks those scripts on their own).
        .args(["-s", "bash", "-e", "SC2016", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("shellcheck is not installed: install the Debian package `shellcheck` (.ci/run does)");
    std::io::Write::write_all(sc.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    let out = sc.wait_with_output().unwrap();
    (!out.status.success()).then(|| format!("shellcheck:\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// The claim a workload mounts at `path` (a PVC's name, or a claim template's), if any.
fn claim_at(w: &Value, path: &str) -> Option<String> {
    let pod = &w["spec"]["template"]["spec"];
    let volume = pod["containers"].as_sequence()?.iter().find_map(|c| {
        c["volumeMounts"].as_sequence()?.iter().find(|m| m["mountPath"].as_str() == Some(path))?["name"]
            .as_str()
            .map(str::to_string)
    })?;
    let pvc = pod["volumes"].as_sequence().into_iter().flatten().find(|v| v["name"].as_str() == Some(&volume));
    match pvc {
        Some(v) => v["persistentVolumeClaim"]["claimName"].as_str().map(str::to_string),
        None => w["spec"]["volumeClaimTemplates"]
            .as_sequence()?
            .iter()
            .find(|t| t["metadata"]["name"].as_str() == Some(&volume))
            .map(|_| volume.clone()),
    }
}

/// The workload a `kubectl` target names: `deployment/x`, `statefulset/x`, or a StatefulSet's pod `x-0`.
fn workload<'a>(docs: &'a [Value], target: &str) -> Option<&'a Value> {
    let (kind, name) = match target.split_once('/') {
        Some(("deployment", n)) => ("Deployment", n),
        Some(("statefulset", n)) => ("StatefulSet", n),
        Some(("job", n)) => ("Job", n),
        _ => ("StatefulSet", target.strip_suffix("-0")?),
    };
    find(docs, kind, name)
}

/// Every name the chapter's commands use that the tree or the compose file lacks.
fn unknown_names(script: &str, docs: &[Value], services: &BTreeSet<String>, namespace: &str) -> Vec<String> {
    let mut bad = Vec::new();
    // What the compose host archives is exactly what the pods unpack.
    let archive = |l: &str| l.rsplit("\"$move_dir/").next().and_then(|a| a.split('"').next()).map(str::to_string);
    let written: BTreeSet<String> = script.lines().filter(|l| l.starts_with("tar czf ")).filter_map(archive).collect();
    let unpacked: BTreeSet<String> = script.lines().filter(|l| l.contains(" tar xzf ")).filter_map(archive).collect();
    if written != unpacked {
        bad.push(format!("archived {written:?}, unpacked {unpacked:?}"));
    }
    // Only the commands: the comments of the other lines are prose.
    for line in script.lines().filter(|l| l.contains("kubectl") || l.contains("docker ")) {
        let words = shell_words::split(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let words: Vec<&str> = words.iter().map(|w| w.trim_end_matches(')')).collect();
        if words.first() == Some(&"kubectl") {
            if line.contains(" -n ") && !words.windows(2).any(|p| p == ["-n", namespace]) {
                bad.push(format!("{line}: not the namespace {namespace}"));
            }
            for w in &words {
                let is_target = ["deployment/", "statefulset/", "job/"].iter().any(|p| w.starts_with(p));
                if is_target && workload(docs, w).is_none() {
                    bad.push(format!("{line}: no {w}"));
                }
            }
            // The word after `-n NAMESPACE`: what `exec` and `delete job` name.
            let after_namespace = words.iter().position(|w| *w == "-n").and_then(|i| words.get(i + 2)).copied();
            if words.get(1) == Some(&"exec") {
                let target = after_namespace.unwrap_or_default();
                let Some(w) = workload(docs, target) else {
                    bad.push(format!("{line}: no workload for {target}"));
                    continue;
                };
                if let Some(p) = words.windows(2).find(|p| p[0] == "-C").map(|p| p[1]) {
                    let archive = line.rsplit("$move_dir/").next().unwrap().trim_end_matches(".tar.gz\"");
                    match claim_at(w, p) {
                        Some(c) if c == archive => {}
                        other => bad.push(format!("{line}: {target} mounts {other:?} at {p}, not {archive}")),
                    }
                }
            }
            if words.get(1) == Some(&"delete") && words.get(2) == Some(&"job") {
                let job = after_namespace.unwrap_or_default();
                if find(docs, "Job", job).is_none() {
                    bad.push(format!("{line}: no Job {job}"));
                }
            }
            if let Some(list) = line.split("app.kubernetes.io/name in (").nth(1) {
                for n in list.split(')').next().unwrap().split(',') {
                    if find(docs, "Deployment", n).is_none() && find(docs, "StatefulSet", n).is_none() {
                        bad.push(format!("{line}: no workload {n}"));
                    }
                }
            }
        }
        if let Some(i) = words.iter().position(|w| *w == "docker") {
            let args = &words[i + 2..];
            let named: Vec<&str> = match args.first() {
                Some(&"stop") => args[1..].to_vec(),
                Some(&"exec") => args.iter().skip(1).find(|a| !a.starts_with('-')).into_iter().copied().collect(),
                _ => vec![],
            };
            for s in named {
                if !services.contains(s) {
                    bad.push(format!("{line}: no compose service {s}"));
                }
            }
        }
    }
    bad
}

fn services_of(compose: &Path) -> BTreeSet<String> {
    let doc: Value = yaml_serde::from_str(&std::fs::read_to_string(compose).unwrap()).unwrap();
    doc["services"].as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_string()).collect()
}

fn namespace_of(docs: &[Value]) -> String {
    docs.iter().find(|d| d["kind"].as_str() == Some("Namespace")).unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Generate into `dir/k8s` from `compose` and check the chapter's script and names; returns it.
fn checked(compose: &Path, dir: &Path, args: &[&str]) -> String {
    let out = dir.join("k8s");
    let o = bin().arg(compose).arg("-o").arg(&out).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    if !args.contains(&"external") {
        setup_secrets(&out);
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    check_chapter(compose, args, &readme, &render(&out))
}

/// The chapter's script of `readme` runs as shell and names only what the tree (`docs`) and the
/// compose file have; returns it.
fn check_chapter(compose: &Path, args: &[&str], readme: &str, docs: &[Value]) -> String {
    let script = script(chapter(readme));
    let label = format!("{} {args:?}", compose.display());
    assert!(script.contains("kubectl apply -k ."), "{label}: the chapter deploys");
    if let Some(p) = shell_problems(&script) {
        panic!("{label}: {p}\n{script}");
    }
    let bad = unknown_names(&script, docs, &services_of(compose), &namespace_of(docs));
    assert!(bad.is_empty(), "{label}: {bad:#?}");
    script
}

/// English is the default language: the vendored releases' trees made with no flag are its.
#[test]
fn every_release_and_language_names_only_what_the_tree_and_the_compose_file_have() {
    for release in RELEASES {
        for args in [&[][..], &["--lang", "ja"], &["--secrets", "external"]] {
            let made = made(release, args);
            let script = check_chapter(&compose(release), args, made.text("README.md"), made.docs());
            // Dify's uploads and plugins move, and the database is dumped and restored.
            assert!(script.contains("pg_dumpall") && script.contains("psql"), "{release}: {script}");
            assert!(script.contains("-C \"$compose_dir\"/volumes/app/storage ."), "{release}: {script}");
            assert!(script.contains("--from-env \"$compose_dir/.env\""), "{release}: {script}");
        }
    }
}

#[test]
fn generic_trees_move_their_own_databases_and_folders() {
    for case in ["01-web-db", "25-wordpress-mysql", "17-missing-bind-mounts", "26-monitoring-config-dir"] {
        let tmp = tempfile::tempdir().unwrap();
        let script = checked(&corpus_compose(case), tmp.path(), &["--preset", "generic"]);
        if case == "25-wordpress-mysql" {
            assert!(script.contains("mysqldump") && script.contains("exec -T db "), "{script}");
        }
        if case == "17-missing-bind-mounts" {
            // Only folders move: a file (found or not) is not unpacked as one.
            assert!(script.contains("-C \"$compose_dir\"/data ."), "{script}");
            assert!(!script.contains("docker.sock") && !script.contains("app-config.yaml"), "{script}");
        }
    }
}

/// A stand-in program: records its arguments and working folder, and keeps what is piped to it.
const STAND_IN: &str = r#"#!/bin/sh
log="$MOVE_LOG"
n=$(wc -l < "$log")
printf '%s\t%s\t%s\n' "$(basename "$0")" "$PWD" "$*" >> "$log"
case " $* " in
  *" exec -T "*) echo "dump of $*" ;;
  *" exec -i "*) cat > "$MOVE_LOG.stdin.$n" ;;
esac
"#;

/// The chapter of 1.14.1's tree run as written: the compose folder beside `k8s/` with a file in
/// every data folder, stand-ins for `docker`, `kubectl` and `compose2dify`, real `tar`.
#[test]
fn the_chapter_runs_as_written_and_each_folder_lands_in_the_claim_compose_mounts_it_at() {
    let tmp = tempfile::tempdir().unwrap();
    let release = "1.14.1";
    let from = compose(release);
    let docker_dir = tmp.path().join("docker");
    std::fs::create_dir(&docker_dir).unwrap();
    for f in std::fs::read_dir(from.parent().unwrap()).unwrap().flatten() {
        if f.path().is_file() {
            std::fs::copy(f.path(), docker_dir.join(f.file_name())).unwrap();
        }
    }
    // Every bind-mounted data folder holds a file named after it.
    let text = std::fs::read_to_string(&from).unwrap();
    let mut binds: Vec<(String, String)> = Vec::new();
    for l in text.lines().map(str::trim) {
        if let Some(b) = l.strip_prefix("- ./volumes/") {
            let (src, target) = b.split_once(':').unwrap();
            if !src.rsplit('/').next().unwrap().contains('.') {
                let dir = docker_dir.join("volumes").join(src);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(format!("from-{}", src.replace('/', "-"))), "data").unwrap();
                binds.push((src.to_string(), target.split(':').next().unwrap().to_string()));
            }
        }
    }
    let out = tmp.path().join("k8s");
    generated(release, &out, &[]);
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    let script = script(chapter(&readme));
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    for name in ["docker", "kubectl", "compose2dify"] {
        let p = bin_dir.join(name);
        std::fs::write(&p, STAND_IN).unwrap();
        Command::new("chmod").arg("755").arg(&p).status().unwrap();
    }
    let log = tmp.path().join("calls.log");
    std::fs::write(&log, "").unwrap();
    let run = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&out)
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()))
        .env("MOVE_LOG", &log)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}\n{script}", String::from_utf8_lossy(&run.stderr));
    let calls: Vec<(String, String, String)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let mut p = l.splitn(3, '\t');
            (p.next().unwrap().into(), p.next().unwrap().into(), p.next().unwrap().into())
        })
        .collect();
    let at = |prog: &str, has: &str| calls.iter().position(|(p, _, a)| p == prog && a.contains(has));
    let docker_dir = docker_dir.canonicalize().unwrap();
    // Docker runs in the compose folder; the secrets come from its .env before anything is applied.
    for (_, cwd, args) in calls.iter().filter(|(p, _, _)| p == "docker") {
        assert_eq!(Path::new(cwd), docker_dir, "docker {args}");
    }
    let secrets = at("compose2dify", "secrets . --from-env ../docker/.env").expect("secrets from the .env");
    let first_apply = at("kubectl", "apply -k .").expect("an apply");
    assert!(secrets < first_apply, "secrets before the first apply: {calls:#?}");
    let stop = at("docker", "compose stop api ").expect("the app stops");
    let dump = at("docker", "compose exec -T db_postgres").expect("the dump");
    assert!(stop < dump && dump < at("docker", "compose stop db_postgres").unwrap(), "{calls:#?}");
    // The dump reaches psql, after the application is scaled down.
    let restore = at("kubectl", "postgres-0 -- sh -c psql").expect("the restore");
    assert!(at("kubectl", "scale deployment --all --replicas=0").unwrap() < restore);
    let piped = std::fs::read_to_string(format!("{}.stdin.{restore}", log.display())).unwrap();
    assert!(piped.starts_with("dump of compose exec -T db_postgres sh -c pg_dumpall"), "{piped}");
    assert!(at("kubectl", "delete job -n dify api-migrate-1-14-1").unwrap() > restore);
    // Every folder the chapter copies arrives, through a pod that mounts it where compose did.
    let mut moved = 0;
    for (i, (_, _, args)) in calls.iter().enumerate().filter(|(_, (p, _, a))| p == "kubectl" && a.contains("tar xzf")) {
        let target = args.rsplit(" -C ").next().unwrap().trim();
        let archive = format!("{}.stdin.{i}", log.display());
        let listing = Command::new("tar").args(["tzf", &archive]).output().unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout).to_string();
        let want: Vec<String> =
            binds.iter().filter(|(_, t)| t == target).map(|(s, _)| format!("./from-{}", s.replace('/', "-"))).collect();
        assert!(!want.is_empty(), "compose mounts no folder at {target}");
        assert!(want.iter().any(|w| listing.lines().any(|l| l == w)), "{target} gets {listing}, not {want:?}");
        moved += 1;
    }
    assert_eq!(moved, 3, "storage, plugins and the sandbox's dependencies move: {calls:#?}");
}

/// The checks see a wrong name and a broken command.
#[test]
fn the_checks_catch_a_wrong_name_and_a_broken_command() {
    let made = made("1.14.1", &[]);
    let (docs, readme) = (made.docs(), made.text("README.md"));
    let good = script(chapter(readme));
    let services = services_of(&compose("1.14.1"));
    assert!(unknown_names(&good, docs, &services, "dify").is_empty());
    for (from, to) in [
        ("deployment/api ", "deployment/apx "),
        ("postgres-0", "postgres-1"),
        ("stop api ", "stop apx "),
        ("-C /app/api/storage", "-C /app/api/store"),
        ("dify-storage.tar.gz\"", "plugin-storage.tar.gz\""),
        ("job -n dify api-migrate", "job -n dify api-migrat"),
        ("-n dify", "-n difx"),
    ] {
        assert!(good.contains(from), "{from}");
        let bad = good.replacen(from, to, 1);
        assert!(!unknown_names(&bad, docs, &services, "dify").is_empty(), "{from} → {to} is not seen");
    }
    assert!(shell_problems(&good).is_none());
    assert!(shell_problems(&good.replacen("\"$move_dir/", "$move_dir/", 1)).is_some(), "an unquoted expansion");
    assert!(shell_problems(&good.replacen("(cd", "((cd", 1)).is_some(), "a parse error");
}
