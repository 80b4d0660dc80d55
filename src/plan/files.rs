//! Config files: templates rendered with the service's settings, the rules' inserts, and the
//! one-shot services folded in as init containers on the storage they prepare.

use std::collections::BTreeMap;

use crate::choices::Choices;
use crate::names::{dns_label, HostMap};
use crate::read::compose::{MountSource, Service};
use crate::read::interpolate;
use crate::read::project::{HostPath, Project};
use crate::rules::{Rules, ServiceRule};
use crate::warning::{Warning, WarningKind};

use super::{FoldedInit, Volume, VolumeSource};

/// The folded one-shot services whose bind sources `svc` mounts too, each as an init container on
/// the pod volume of that source (a claim), at the folded service's own mount path.
pub(super) fn folded_inits(
    svc: &Service,
    folded: &[(&Service, &crate::rules::FoldRule, Option<String>)],
    volumes: &[Volume],
    rules: &Rules,
    hosts: &HostMap,
) -> Vec<FoldedInit> {
    let mut out = Vec::new();
    for (one_shot, fold, reason) in folded {
        let argv: Vec<String> = one_shot
            .entrypoint
            .iter()
            .chain(one_shot.command.iter())
            .flat_map(|c| c.argv().iter().map(|a| hosts.rewrite(a, None)))
            .collect();
        for theirs in &one_shot.volumes {
            let MountSource::Bind(src) = &theirs.source else { continue };
            let ours = svc.volumes.iter().filter(|m| m.source == MountSource::Bind(src.clone()));
            let volume = ours.filter_map(|m| {
                volumes.iter().find(|v| {
                    matches!(v.source, VolumeSource::SharedClaim(_) | VolumeSource::Claim(_))
                        && v.mounts.iter().any(|mt| mt.path == m.target)
                })
            });
            if let (Some(v), false) = (volume.into_iter().next(), argv.is_empty()) {
                out.push(FoldedInit {
                    name: dns_label(&one_shot.name),
                    image: one_shot.image.clone().unwrap_or_default(),
                    command: argv.clone(),
                    volume: v.name.clone(),
                    mount_path: theirs.target.clone(),
                    security: rules.defaults.security.layered(&fold.security),
                    reason: reason.clone(),
                    findings: fold.findings.clone(),
                });
            }
        }
    }
    out
}

/// Whether config files name a Service by its fully qualified name: `suffix` (`dify.svc.cluster.local`)
/// after a dot.
pub(super) fn name_fqdns(files: &BTreeMap<String, String>, suffix: &str) -> bool {
    let suffix = format!(".{suffix}");
    files.values().any(|t| t.contains(&suffix))
}

/// A file's text with the rules' inserts for its path (`path`: where the container reads it).
pub(super) fn insert_text(
    text: &str,
    path: &str,
    rule: &ServiceRule,
    service: &str,
    warnings: &mut Vec<Warning>,
) -> String {
    let mut out = text.to_string();
    for ins in rule.inserts.iter().filter(|i| i.file == path) {
        let lines: Vec<&str> = out.lines().collect();
        let indent_of = |line: &str| line[..line.len() - line.trim_start().len()].to_string();
        let block = |indent: &str| -> Vec<String> {
            ins.text.lines().map(|l| if l.is_empty() { String::new() } else { format!("{indent}{l}") }).collect()
        };
        let mut result: Vec<String> = Vec::new();
        let mut done = false;
        for line in &lines {
            let starts =
                |anchor: &Option<String>| anchor.as_ref().is_some_and(|a| line.trim_start().starts_with(a.as_str()));
            if starts(&ins.before) && !done {
                result.extend(block(&indent_of(line)));
                done = true;
            }
            if ins.replace.as_deref().is_some_and(|r| line.trim() == r) {
                result.extend(block(&indent_of(line)));
                done = true;
                continue;
            }
            result.push(line.to_string());
            if starts(&ins.after) {
                result.extend(block(&format!("{}    ", indent_of(line))));
                done = true;
            }
        }
        if !done && ins.optional {
            continue;
        }
        if !done {
            let anchor = ins.after.as_deref().or(ins.before.as_deref()).or(ins.replace.as_deref()).unwrap_or_default();
            warnings.push(Warning::new(WarningKind::Config, format!(
                "service `{service}`: the rules insert text into `{path}` at `{anchor}`, which the file lacks; nothing was inserted"
            )).service(service));
            continue;
        }
        let mut joined = result.join("\n");
        if out.ends_with('\n') {
            joined.push('\n');
        }
        out = joined;
    }
    out
}

/// Variables for rendering templates: the service's settings, then the rules' derived ones.
pub(super) fn template_vars(
    rule: &ServiceRule,
    rules: &Rules,
    choices: &Choices,
    env: &BTreeMap<String, String>,
    project: &Project,
    svc: &Service,
) -> BTreeMap<String, String> {
    let mut vars = env.clone();
    vars.extend(builtin_vars(rules, choices));
    for (name, var) in &rule.template_vars {
        let on = var.when.as_ref().is_none_or(|w| vars.get(w).is_some_and(|v| v.eq_ignore_ascii_case("true")));
        let value = if !on {
            String::new()
        } else if let Some(path) = &var.template {
            let source = svc.volumes.iter().find(|m| &m.target == path).and_then(|m| match &m.source {
                MountSource::Bind(src) => project.host_paths.get(src),
                _ => None,
            });
            match source {
                Some(HostPath::File(text)) => envsubst(text, &vars),
                _ => String::new(),
            }
        } else if let Some(v) = &var.value {
            let lookup = |k: &str| vars.get(k).cloned();
            interpolate::interpolate(v, &lookup).map(|i| i.value).unwrap_or_else(|_| v.clone())
        } else {
            String::new()
        };
        vars.insert(name.clone(), value);
    }
    vars
}

/// What every template and insert may use besides the service's settings: the cluster's own
/// ranges (`COMPOSE2DIFY_CLUSTER_RANGES`, space-separated, maybe empty), the ranges let through
/// (`COMPOSE2DIFY_ALLOWED_RANGES`; none: `255.255.255.255/32`, an address no request goes to, so
/// a list is never empty), the cluster's name suffixes (`COMPOSE2DIFY_CLUSTER_NAMES`: `.svc`,
/// `.cluster.local` and the cluster domain), and the scheme the entry point passes on
/// (`COMPOSE2DIFY_FORWARDED_PROTO`: the controller's `X-Forwarded-Proto` behind an Ingress or
/// route, else nginx's own `$scheme`).
fn builtin_vars(rules: &Rules, choices: &Choices) -> BTreeMap<String, String> {
    let mut names = vec![".svc".to_string(), ".cluster.local".to_string()];
    let own = format!(".{}", rules.dns.cluster_domain);
    if !names.contains(&own) {
        names.push(own);
    }
    let allowed = if choices.allowed_ranges.is_empty() {
        "255.255.255.255/32".to_string()
    } else {
        choices.allowed_ranges.join(" ")
    };
    let proto = if choices.behind_proxy() { "$http_x_forwarded_proto" } else { "$scheme" };
    BTreeMap::from([
        ("COMPOSE2DIFY_CLUSTER_RANGES".to_string(), choices.cluster_ranges.join(" ")),
        ("COMPOSE2DIFY_ALLOWED_RANGES".to_string(), allowed),
        ("COMPOSE2DIFY_CLUSTER_NAMES".to_string(), names.join(" ")),
        ("COMPOSE2DIFY_FORWARDED_PROTO".to_string(), proto.to_string()),
    ])
}

/// `envsubst` with an explicit variable list: `$NAME` and `${NAME}` of known names are replaced,
/// everything else (nginx's own `$host`, `$scheme`…) stays as it is.
pub fn envsubst(text: &str, vars: &BTreeMap<String, String>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let (name_start, braced) = if bytes.get(i + 1) == Some(&b'{') { (i + 2, true) } else { (i + 1, false) };
        let len = bytes[name_start.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let name = &text[name_start.min(text.len())..(name_start + len).min(text.len())];
        let end = if braced { name_start + len + 1 } else { name_start + len };
        let closed = !braced || bytes.get(name_start + len) == Some(&b'}');
        if len > 0 && closed && !name.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(value) = vars.get(name) {
                out.push_str(&text[copied..i]);
                out.push_str(value);
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ServiceRule;

    /// A Service's fully qualified name in a config file is found; its short name, or the suffix of
    /// another namespace, is not.
    #[test]
    fn fully_qualified_names_in_config_files() {
        let files = |text: &str| BTreeMap::from([("default.conf".to_string(), text.to_string())]);
        let suffix = "dify.svc.cluster.local";
        assert!(name_fqdns(&files("proxy_pass http://api.dify.svc.cluster.local:5001;"), suffix));
        assert!(!name_fqdns(&files("proxy_pass http://api:5001;"), suffix));
        assert!(!name_fqdns(&files("proxy_pass http://api.other.svc.cluster.local:5001;"), suffix));
    }

    #[test]
    fn envsubst_replaces_known_only() {
        let vars = BTreeMap::from([("NGINX_PORT".to_string(), "80".to_string()), ("X".to_string(), "1".to_string())]);
        assert_eq!(envsubst("listen ${NGINX_PORT}; $host $X ${Y}", &vars), "listen 80; $host 1 ${Y}");
    }

    #[test]
    fn inserts_after_every_opening_line_or_before_the_first() {
        let ins = |after: Option<&str>, before: Option<&str>, text: &str| crate::rules::InsertRule {
            file: "/f".into(),
            after: after.map(Into::into),
            before: before.map(Into::into),
            replace: None,
            optional: false,
            text: text.into(),
        };
        let rule = |i| ServiceRule { inserts: vec![i], ..ServiceRule::default() };
        let mut warnings = Vec::new();
        let conf = "server {\n  listen 80;\n}\nserver {\n}\n";
        let got = insert_text(conf, "/f", &rule(ins(Some("server {"), None, "a;\nb;\n")), "s", &mut warnings);
        assert_eq!(got, "server {\n    a;\n    b;\n  listen 80;\n}\nserver {\n    a;\n    b;\n}\n");
        let squid = "acl x src all\n  http_access allow x\nhttp_access deny all\n";
        let got =
            insert_text(squid, "/f", &rule(ins(None, Some("http_access"), "http_access deny y\n")), "s", &mut warnings);
        assert_eq!(got, "acl x src all\n  http_access deny y\n  http_access allow x\nhttp_access deny all\n");
        assert!(warnings.is_empty());
        // Another file is left alone; a missing anchor is said, not silently skipped.
        assert_eq!(insert_text(conf, "/other", &rule(ins(Some("server {"), None, "a;")), "s", &mut warnings), conf);
        assert_eq!(insert_text("x\n", "/f", &rule(ins(Some("server {"), None, "a;")), "s", &mut warnings), "x\n");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A line replaced where it is, with its indent; a missing one is said.
        let replace = |line: &str| crate::rules::InsertRule {
            file: "/f".into(),
            replace: Some(line.into()),
            text: "proxy_set_header X $y;\n".into(),
            ..crate::rules::InsertRule::default()
        };
        let proxy = "a;\n  proxy_set_header X $scheme;\nb;\n";
        let got = insert_text(proxy, "/f", &rule(replace("proxy_set_header X $scheme;")), "s", &mut warnings);
        assert_eq!(got, "a;\n  proxy_set_header X $y;\nb;\n");
        insert_text(proxy, "/f", &rule(replace("gone;")), "s", &mut warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
