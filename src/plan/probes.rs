//! Probes: the rules' check, else compose's healthcheck, else a TCP check of the first port (or
//! a process check), with compose's timings and the rules' startup allowance.

use std::collections::BTreeMap;

use crate::names::HostMap;
use crate::read::compose::{HealthTest, Service};
use crate::rules::Rules;
use crate::warning::{Warning, WarningKind};

use super::settings::{scrub_secrets, SecretValues, Value};
use super::{Probe, ProbeAction};

#[allow(clippy::too_many_arguments)]
pub(super) fn probe(
    rule: Option<&crate::rules::ProbeRule>,
    svc: &Service,
    ports: &[u16],
    rules: &Rules,
    env: &BTreeMap<String, Value>,
    known: &SecretValues,
    hosts: &HostMap,
    warnings: &mut Vec<Warning>,
) -> Probe {
    let d = &rules.defaults.probe;
    let mut p = Probe {
        action: ProbeAction::Tcp(0),
        period_seconds: d.period_seconds,
        timeout_seconds: d.timeout_seconds,
        failure_threshold: d.failure_threshold,
        startup_seconds: d.startup_seconds,
        startup: None,
        liveness: None,
    };
    let shell = |cmd: &str| {
        vec!["sh".to_string(), "-c".to_string(), scrub_secrets(&hosts.rewrite(cmd, None), env, known, "\"$", "\"")]
    };
    if let Some(r) = rule {
        p.period_seconds = r.period_seconds.unwrap_or(p.period_seconds);
        p.timeout_seconds = r.timeout_seconds.unwrap_or(p.timeout_seconds);
        p.failure_threshold = r.failure_threshold.unwrap_or(p.failure_threshold);
        p.startup_seconds = r.startup_seconds;
        p.liveness = r.liveness.as_deref().and_then(rule_action);
        if let Some(action) = rule_action(r) {
            p.action = action;
            return p;
        }
    }
    if let Some(hc) = svc.healthcheck.as_ref().filter(|h| !h.disabled) {
        let written = |t: &HealthTest| match t {
            HealthTest::Exec(argv) => argv.clone(),
            HealthTest::Shell(cmd) => shell_words::split(cmd).unwrap_or_else(|_| vec![cmd.clone()]),
        };
        if hc.test.as_ref().is_some_and(|t| literal_password(&written(t))) {
            warnings.push(
                Warning::new(
                    WarningKind::Probe,
                    format!("service `{}`: its healthcheck carries a password (`-u user:password` or a URL's); it is not copied into the pod, which is probed on its port instead", svc.name),
                )
                .service(&svc.name),
            );
        } else if let Some(test) = &hc.test {
            p.action = match test {
                HealthTest::Exec(argv)
                    if argv.iter().any(|a| known.list.iter().any(|(s, _)| a.contains(s.as_str()))) =>
                {
                    ProbeAction::Exec(shell(&shell_words::join(argv)))
                }
                HealthTest::Exec(argv) => ProbeAction::Exec(argv.iter().map(|a| hosts.rewrite(a, None)).collect()),
                HealthTest::Shell(cmd) => ProbeAction::Exec(shell(cmd)),
            };
            timings(&mut p, hc);
            return p;
        }
        // Timings without a test keep the image's own check in compose; ours (the port below)
        // runs on compose's schedule all the same.
        timings(&mut p, hc);
    }
    match ports.first() {
        Some(port) => p.action = ProbeAction::Tcp(*port),
        None => {
            warnings.push(
                Warning::new(
                    WarningKind::Probe,
                    format!(
                        "service `{}` has no TCP port and no healthcheck; its probe only checks that PID 1 runs",
                        svc.name
                    ),
                )
                .service(&svc.name),
            );
            p.action = ProbeAction::Exec(vec!["sh".into(), "-c".into(), "kill -0 1".into()]);
        }
    }
    p
}

/// Whether an HTTP probe's path is answered by the workload's own config files (nginx's
/// `location = /healthz { return 200; }`) rather than passed on (`proxy_pass`) to another service.
pub(super) fn answered_by_files(action: &ProbeAction, files: &BTreeMap<String, String>) -> bool {
    let ProbeAction::Http { path, .. } = action else { return false };
    let local = format!("location = {path} {{");
    files.values().any(|t| {
        t.split(local.as_str()).nth(1).is_some_and(|rest| {
            rest.split('}').next().is_some_and(|b| b.contains("return ") && !b.contains("proxy_pass"))
        })
    })
}

/// Whether a command's words hold a password written out: `curl -u user:pw`, `--user=user:pw`, a
/// URL's `user:pw@` (a `$VARIABLE` in its place is read at run time, and an already scrubbed `***`
/// hides nothing: both are fine). The healthcheck translation and the release report use it.
pub fn literal_password<S: AsRef<str>>(words: &[S]) -> bool {
    let written = |pw: &str| !pw.is_empty() && !pw.contains('$') && !pw.starts_with('*');
    let creds = |w: &str| w.split_once(':').is_some_and(|(_, pw)| written(pw));
    let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
    let words = words.as_slice();
    words.iter().enumerate().any(|(i, &w)| {
        let next = words.get(i + 1).copied().unwrap_or_default();
        let short = w.starts_with('-') && !w.starts_with("--");
        ((w == "-u" || w == "--user") && creds(next))
            || w.strip_prefix("--user=").is_some_and(creds)
            || (short && w.len() > 2 && w.starts_with("-u") && creds(&w[2..]))
            // curl's flags bundled: `-fsu admin:pw`
            || (short && w.len() > 2 && w.ends_with('u') && creds(next))
            // mysql and mysqladmin: `-pPASSWORD`, `--password=PASSWORD`
            || (short && w.len() > 2 && w.starts_with("-p") && written(&w[2..]))
            || w.strip_prefix("--password=").is_some_and(written)
            // a header carrying a key or a token: `-H 'X-Api-Key: …'`, `Authorization: Bearer …`
            || header_secret(w)
            || super::settings::url_with_credentials(w).is_some_and(|(a, b)| !w[a..b].contains('$'))
    })
}

/// A header word with a literal credential: `Authorization: …`, `X-Api-Key: …`, `…-Token: …`.
fn header_secret(w: &str) -> bool {
    let Some((name, value)) = w.split_once(':') else { return false };
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    !value.is_empty()
        && !value.contains('$')
        && !name.contains('/')
        && (name == "authorization" || name.ends_with("-key") || name.ends_with("-token") || name.contains("api-key"))
}

/// A compose healthcheck's interval, timeout, retries and start period on a probe.
pub(super) fn timings(p: &mut Probe, hc: &crate::read::compose::Healthcheck) {
    if let Some(i) = hc.interval {
        p.period_seconds = i as i32;
    }
    if let Some(t) = hc.timeout {
        p.timeout_seconds = (t as i32).min(p.period_seconds.max(1));
    }
    if let Some(r) = hc.retries {
        p.failure_threshold = (r as i32).max(1);
    }
    if hc.start_period.is_some() {
        p.startup_seconds = hc.start_period.map(|s| s as i32);
    }
}

/// The check a probe rule names, if any.
pub(super) fn rule_action(r: &crate::rules::ProbeRule) -> Option<ProbeAction> {
    if let Some(h) = &r.http {
        return Some(ProbeAction::Http { path: h.path.clone(), port: h.port });
    }
    if let Some(port) = r.tcp {
        return Some(ProbeAction::Tcp(port));
    }
    r.exec.clone().map(ProbeAction::Exec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// nginx's own `location = /healthz { return 200; }` answers the probe; a location that passes
    /// the path on, another path, or a probe that is not HTTP is not answered by the files.
    #[test]
    fn a_probe_path_the_config_returns_itself_is_answered_by_the_files() {
        let http = ProbeAction::Http { path: "/healthz".into(), port: 80 };
        let files = |text: &str| BTreeMap::from([("default.conf".to_string(), text.to_string())]);
        let own = files("server {\n  location = /healthz {\n    access_log off;\n    return 200 \"ok\";\n  }\n}\n");
        assert!(answered_by_files(&http, &own));
        let passed = files("location = /healthz {\n  return 200;\n  proxy_pass http://api:5001;\n}\n");
        assert!(!answered_by_files(&http, &passed));
        assert!(!answered_by_files(&http, &files("location = /other {\n  return 200;\n}\n")));
        assert!(!answered_by_files(&ProbeAction::Tcp(80), &own));
    }
}
