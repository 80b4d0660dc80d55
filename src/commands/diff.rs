//! `compose2dify diff OLD NEW`: what changed between two Dify releases' `docker/` folders, as
//! Markdown for a pull request body. A pure function over two read projects and the rules, so the
//! report can also say what the rules do not cover yet. Secret values are never printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::error::Result;
use crate::plan;
use crate::plan::image_tag;
use crate::read::compose::{HealthTest, Healthcheck, Mount, MountSource, Service};
use crate::read::project::Project;
use crate::rules::{Kind, Rules, SecretMatcher};
use crate::warning::WarningKind;

/// Shown in place of a value that is secret or holds a secret.
const HIDDEN: &str = "(secret, not shown)";
/// Values longer than this are cut, so one setting cannot swamp the report.
const MAX_VALUE_CHARS: usize = 80;
/// Lists longer than this fold into a `<details>` block.
const FOLD_AFTER: usize = 20;

/// The Markdown report of what changed from `old` to `new`.
pub fn report(old: &Project, new: &Project, rules: &Rules) -> Result<String> {
    let secrets = Secrets::new(old, new, rules)?;
    let old_release = plan::plan(old, rules, &crate::choices::Choices::default())?.release;
    let new_plan = plan::plan(new, rules, &crate::choices::Choices::default())?;
    let new_release = new_plan.release.clone();
    let pairs = pair_services(old, new, rules);
    let changes = [
        services_section(old, new, &pairs, rules),
        images_section(&pairs),
        source_settings_section(old, new, &secrets),
        container_settings_section(&pairs, &secrets),
        service_changes_section(&pairs, &secrets),
        way_in_section(&pairs, rules, &secrets),
        files_section(old, new),
    ];
    // Describes the new release alone, so it is printed even when nothing changed.
    let coverage = coverage_section(old, new, rules);
    let facts = image_facts_section(&new_plan);

    let name = |r: &Option<String>| r.clone().unwrap_or_else(|| "unknown".to_string());
    let mut out = String::new();
    // The application the rules are for (`Dify release 1.14.1`); a generic report is titled `Release`.
    let title = rules.guide.product.as_ref().map_or_else(|| "Release".to_string(), |p| format!("{p} release"));
    if old_release == new_release {
        let _ = writeln!(out, "# {title} {}", name(&new_release));
    } else {
        let _ = writeln!(out, "# {title} {} → {}", name(&old_release), name(&new_release));
    }
    if changes.iter().all(String::is_empty) {
        out.push_str("\nNo changes: both releases define the same services, images, settings and files.\n");
    }
    for s in changes.iter().chain([&coverage, &facts]).filter(|s| !s.is_empty()) {
        out.push('\n');
        out.push_str(s.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// A service of the old release and its counterpart in the new one (by name, or renamed).
struct Pair<'a> {
    old: &'a Service,
    new: &'a Service,
}

struct Pairs<'a> {
    both: Vec<Pair<'a>>,
    added: Vec<&'a Service>,
    removed: Vec<&'a Service>,
}

impl Pair<'_> {
    /// `api`, or `db → db_postgres` for a renamed service.
    fn label(&self) -> String {
        if self.old.name == self.new.name {
            format!("`{}`", self.new.name)
        } else {
            format!("`{}` → `{}`", self.old.name, self.new.name)
        }
    }
}

/// Image without its tag: `langgenius/dify-api`.
fn image_repo(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    image_tag(image).map_or(image, |tag| &image[..image.len() - tag.len() - 1])
}

/// Same name first; then a service that left and one that came are a rename when the rules give
/// both the same Kubernetes name, or else when they run the same image repository.
fn pair_services<'a>(old: &'a Project, new: &'a Project, rules: &Rules) -> Pairs<'a> {
    let mut both = Vec::new();
    let mut added: Vec<&Service> = Vec::new();
    for svc in new.services.values() {
        match old.services.get(&svc.name) {
            Some(o) => both.push(Pair { old: o, new: svc }),
            None => added.push(svc),
        }
    }
    let mut removed: Vec<&Service> = old.services.values().filter(|s| !new.services.contains_key(&s.name)).collect();
    let same_name = |a: &Service, b: &Service| rules.workload_name(&a.name) == rules.workload_name(&b.name);
    let same_image = |a: &Service, b: &Service| match (&a.image, &b.image) {
        (Some(x), Some(y)) => image_repo(x) == image_repo(y),
        _ => false,
    };
    for matches in [&same_name as &dyn Fn(&Service, &Service) -> bool, &same_image] {
        let mut i = 0;
        while i < added.len() {
            match removed.iter().position(|o| matches(o, added[i])) {
                Some(j) => {
                    both.push(Pair { old: removed.remove(j), new: added.remove(i) });
                }
                None => i += 1,
            }
        }
    }
    // Report in the new file's order.
    let order: BTreeMap<&str, usize> = new.services.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    both.sort_by_key(|p| order.get(p.new.name.as_str()).copied().unwrap_or(usize::MAX));
    Pairs { both, added, removed }
}

fn services_section(old: &Project, new: &Project, pairs: &Pairs, rules: &Rules) -> String {
    let mut out = String::new();
    let describe = |s: &Service, project: &Project| {
        let mut text = format!("`{}`", s.name);
        if let Some(image) = &s.image {
            let _ = write!(text, " ({image})");
        }
        if !s.profiles.is_empty() {
            let _ = write!(text, ", profile {}", s.profiles.join(", "));
        } else if !project.active.contains(&s.name) {
            text.push_str(", not active");
        }
        text
    };
    if !pairs.added.is_empty() {
        out.push_str("### Added\n\n");
        for s in &pairs.added {
            let rule = match rules.service(&s.name) {
                Some(r) if matches!(r.kind, Some(Kind::Omit | Kind::Fold)) => {
                    format!("not deployed ({})", r.reason.as_deref().unwrap_or("left out by the rules"))
                }
                Some(_) => format!("becomes `{}`", rules.workload_name(&s.name)),
                None => format!("no rule yet, translated generically as `{}`", rules.workload_name(&s.name)),
            };
            let _ = writeln!(out, "- {}: {rule}", describe(s, new));
        }
        out.push('\n');
    }
    if !pairs.removed.is_empty() {
        out.push_str("### Removed\n\n");
        for s in &pairs.removed {
            let _ = writeln!(out, "- {}", describe(s, old));
        }
        out.push('\n');
    }
    let renamed: Vec<&Pair> = pairs.both.iter().filter(|p| p.old.name != p.new.name).collect();
    if !renamed.is_empty() {
        out.push_str("### Renamed\n\n");
        for p in renamed {
            let _ = writeln!(out, "- {} (Kubernetes name `{}`)", p.label(), rules.workload_name(&p.new.name));
        }
        out.push('\n');
    }
    if out.is_empty() {
        return out;
    }
    format!("## Services\n\n{out}")
}

fn images_section(pairs: &Pairs) -> String {
    let mut rows = String::new();
    let mut back = 0;
    for p in &pairs.both {
        if p.old.image != p.new.image {
            let show =
                |i: &Option<String>| i.as_deref().map_or("(none, build only)".to_string(), crate::text::code_span);
            let mark = match backwards(p.old.image.as_deref(), p.new.image.as_deref()) {
                Some(how) => {
                    back += 1;
                    format!(" **⚠ {how} tag**")
                }
                None => String::new(),
            };
            let _ = writeln!(rows, "| {} | {} | {}{mark} |", p.label(), show(&p.old.image), show(&p.new.image));
        }
    }
    if rows.is_empty() {
        return rows;
    }
    let warning = if back > 0 {
        format!("\n{back} image(s) go backwards (marked ⚠): data written by a newer server may not be readable by an older one. `compose2dify upgrade` refuses this unless `--allow-downgrade` is given.\n")
    } else {
        String::new()
    };
    format!("## Image tags\n\n| service | old | new |\n|---|---|---|\n{rows}{warning}\n")
}

/// How an image moves backwards between two references of one repository (`older`, `pre-release`).
pub fn backwards(old: Option<&str>, new: Option<&str>) -> Option<&'static str> {
    let (old, new) = (old?, new?);
    // One repository, whatever registry or mirror path it is pulled through.
    let (a, b) = (plan::image_repository(old), plan::image_repository(new));
    if a != b && !a.ends_with(&format!("/{b}")) && !b.ends_with(&format!("/{a}")) {
        return None;
    }
    crate::rules::images::backwards(plan::image_tag(old)?, plan::image_tag(new)?)
}

/// The facts the new release's images were given, with every assumption about a tag not read.
fn image_facts_section(plan: &plan::Plan) -> String {
    let assumed: Vec<String> =
        plan.warnings.iter().filter(|w| w.kind == WarningKind::ImageFacts).map(|w| format!("- ⚠ {}", w.text)).collect();
    if plan.images.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Image facts\n\n| image | facts | from |\n|---|---|---|\n");
    for f in &plan.images {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            crate::text::code_span(&format!("{}:{}", f.image, f.tag)),
            f.summary(),
            f.from.describe()
        );
    }
    if !assumed.is_empty() {
        out.push('\n');
        out.push_str(&assumed.join("\n"));
        out.push('\n');
    }
    out
}

/// Variables of the env source (`.env` or `.env.example`).
fn source_settings_section(old: &Project, new: &Project, secrets: &Secrets) -> String {
    // A variable that left the env source but still sets a container setting moved to an env file.
    let still_read: BTreeSet<&str> = new
        .services
        .values()
        .flat_map(|s| s.environment.iter().flat_map(|(k, v)| [k.as_str(), v.origin.as_str()]))
        .collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (k, v) in &new.env {
        match old.env.get(k) {
            None => added.push(format!("{} = {}", crate::text::code_span(k), secrets.value(k, k, v))),
            Some(o) if o != v => changed.push(format!("{}: {}", crate::text::code_span(k), secrets.change(k, k, o, v))),
            Some(_) => {}
        }
    }
    let (moved, removed): (Vec<&String>, Vec<&String>) =
        old.env.keys().filter(|k| !new.env.contains_key(*k)).partition(|k| still_read.contains(k.as_str()));
    let moved: Vec<String> = moved.into_iter().map(|k| crate::text::code_span(k)).collect();
    let removed: Vec<String> = removed.into_iter().map(|k| crate::text::code_span(k)).collect();

    let mut out = String::new();
    out.push_str(&list("Default changed", &changed));
    out.push_str(&list("Removed", &removed));
    out.push_str(&list("Added", &added));
    out.push_str(&list("Moved out of this file (a service's env file or environment still sets them)", &moved));
    if out.is_empty() {
        return out;
    }
    let file = if new.inputs.contains_key(".env") { ".env" } else { ".env.example" };
    format!("## Variables of `{file}`\n\n{out}")
}

/// Container settings (compose `environment` plus the `env_file`s) of services in both releases,
/// one row per setting and change, naming the services it applies to.
fn container_settings_section(pairs: &Pairs, secrets: &Secrets) -> String {
    // One table per kind of change; each row is (setting, value or change) → services.
    let mut changed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut removed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut added: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for p in &pairs.both {
        let (old, new) = (&p.old.environment, &p.new.environment);
        let service = format!("`{}`", p.new.name);
        for (k, v) in new {
            let (table, text) = match old.get(k) {
                None => (&mut added, secrets.value(k, &v.origin, &v.value)),
                Some(o) if o.value != v.value => {
                    let origin = if secrets.is_secret_name(&o.origin) { &o.origin } else { &v.origin };
                    (&mut changed, secrets.change(k, origin, &o.value, &v.value))
                }
                Some(_) => continue,
            };
            table.entry((k.clone(), text)).or_default().push(service.clone());
        }
        for (k, o) in old.iter().filter(|(k, _)| !new.contains_key(*k)) {
            removed.entry((k.clone(), secrets.value(k, &o.origin, &o.value))).or_default().push(service.clone());
        }
    }
    let mut out = String::new();
    for (title, column, rows) in
        [("Default changed", "old → new", &changed), ("Removed", "old value", &removed), ("Added", "value", &added)]
    {
        if rows.is_empty() {
            continue;
        }
        let mut table = format!("| setting | {column} | services |\n|---|---|---|\n");
        for ((k, text), services) in rows {
            let _ = writeln!(table, "| `{k}` | {} | {} |", text.replace('|', "\\|"), services.join(", "));
        }
        if rows.len() > FOLD_AFTER {
            let _ = write!(out, "<details><summary>{title} ({})</summary>\n\n{table}\n</details>\n\n", rows.len());
        } else {
            let _ = write!(out, "{title}:\n\n{table}\n");
        }
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "## Container settings\n\nCompose `environment` and `env_file` values after interpolation, for services in both releases.\n\n{out}"
    )
}

/// Settings the way in takes from a service (the rules' `route_timeouts`, `route_body_size` and
/// `ingress_annotations`) whose value changed: what follows for the HTTPRoute of `--gateway` and
/// the Ingress of `--ingress-class`.
fn way_in_section(pairs: &Pairs, rules: &Rules, secrets: &Secrets) -> String {
    let mut out = String::new();
    for p in &pairs.both {
        let Some(rule) = rules.service(&p.new.name) else { continue };
        let mut uses: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (field, from) in &rule.route_timeouts {
            uses.entry(&from.setting).or_default().push(format!("HTTPRoute `timeouts.{field}` (--gateway)"));
        }
        if let Some(from) = &rule.route_body_size {
            uses.entry(&from.setting).or_default().push("the guide's body-size policies (--gateway)".into());
        }
        for (class, annotations) in &rule.ingress_annotations {
            for (key, from) in annotations {
                uses.entry(&from.setting).or_default().push(format!("Ingress `{key}` (--ingress-class {class})"));
            }
        }
        for (setting, what) in uses {
            let (Some(o), Some(n)) = (p.old.environment.get(setting), p.new.environment.get(setting)) else { continue };
            if o.value != n.value {
                let change = secrets.change(setting, &n.origin, &o.value, &n.value);
                let _ = writeln!(out, "| {} | `{setting}` | {change} | {} |", p.label(), what.join("; "));
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "## The way in

Settings the HTTPRoute or the Ingress in front of a service follow.

| service | setting | old → new | follows it |
|---|---|---|---|
{out}"
    )
}

/// Profiles, ports, volumes, networks and healthchecks of services in both releases.
fn service_changes_section(pairs: &Pairs, secrets: &Secrets) -> String {
    let mut out = String::new();
    for p in &pairs.both {
        let mut lines = Vec::new();
        let (o, n) = (p.old, p.new);
        if o.profiles != n.profiles {
            lines.push(format!("profiles: {} → {}", words(&o.profiles), words(&n.profiles)));
        }
        let port = |s: &Service| -> Vec<String> {
            s.ports
                .iter()
                .map(|p| match &p.published {
                    Some(h) => format!("{h}:{}/{}", p.container, p.protocol),
                    None => format!("{}/{}", p.container, p.protocol),
                })
                .chain(s.expose.iter().map(|e| format!("{e} (expose)")))
                .collect()
        };
        lines.extend(set_change("ports", &port(o), &port(n)));
        let mounts = |s: &Service| -> Vec<String> { s.volumes.iter().map(mount).collect() };
        lines.extend(set_change("volumes", &mounts(o), &mounts(n)));
        let nets = |s: &Service| -> Vec<String> { s.networks.keys().cloned().collect() };
        lines.extend(set_change("networks", &nets(o), &nets(n)));
        if o.healthcheck != n.healthcheck {
            let show = |h: &Option<Healthcheck>| h.as_ref().map_or("none".to_string(), |h| healthcheck(h, secrets));
            lines.push(format!("healthcheck: {} → {}", show(&o.healthcheck), show(&n.healthcheck)));
        }
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {}\n", p.label());
        for l in lines {
            let _ = writeln!(out, "- {l}");
        }
        out.push('\n');
    }
    if out.is_empty() {
        return out;
    }
    format!("## Service changes\n\n{out}")
}

/// Config and env files read beside the compose file (templates, env files), by content hash.
fn files_section(old: &Project, new: &Project) -> String {
    let skip = |name: &str| name == old.compose_name || name == new.compose_name;
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (name, hash) in new.inputs.iter().filter(|(n, _)| !skip(n)) {
        match old.inputs.get(name) {
            None => added.push(crate::text::code_span(name)),
            Some(h) if h != hash => changed.push(crate::text::code_span(name)),
            Some(_) => {}
        }
    }
    let removed: Vec<String> = old
        .inputs
        .keys()
        .filter(|n| !skip(n) && !new.inputs.contains_key(*n))
        .map(|n| crate::text::code_span(n))
        .collect();
    let mut out = String::new();
    out.push_str(&list("Added", &added));
    out.push_str(&list("Removed", &removed));
    out.push_str(&list("Changed", &changed));
    if out.is_empty() {
        return out;
    }
    format!("## Files read beside the compose file\n\n{out}")
}

/// What the rules do not know in the new release: services without a rule and service keys that
/// are neither translated nor ignored with a reason.
fn coverage_section(old: &Project, new: &Project, rules: &Rules) -> String {
    // The plan's own list (`plan::coverage`), of every service of the new release, not only those
    // its profiles deploy.
    let mut items = Vec::new();
    let mut keys: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let found = plan::coverage(new, rules, new.services.values());
    for w in &found {
        let svc = w.service.as_ref().and_then(|s| new.services.get(s));
        match (w.kind, svc, &w.key) {
            (WarningKind::Uncovered, Some(svc), _) => {
                let mut item = format!("service `{}`", svc.name);
                if !svc.profiles.is_empty() {
                    let _ = write!(item, " (profile {})", svc.profiles.join(", "));
                }
                let _ = write!(
                    item,
                    " has no rule: it gets the generic translation as `{}`",
                    rules.workload_name(&svc.name)
                );
                if !old.services.contains_key(&svc.name) {
                    item.push_str("; new in this release");
                }
                items.push(item);
            }
            (WarningKind::Untranslated, Some(svc), Some(key)) => {
                keys.entry(key.as_str()).or_default().push(format!("`{}`", svc.name))
            }
            _ => {}
        }
    }
    for (key, services) in keys {
        items.push(format!("service key `{key}` is neither translated nor ignored (in {})", services.join(", ")));
    }
    items.extend(found.iter().filter(|w| w.service.is_none()).map(|w| w.text.clone()));
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Not covered by the rules yet\n\n");
    for i in items {
        let _ = writeln!(out, "- {i}");
    }
    out
}

/// A titled bullet list, folded when long; empty when there is nothing to list.
fn list(title: &str, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let bullets: String = items.iter().map(|i| format!("- {i}\n")).collect();
    if items.len() > FOLD_AFTER {
        format!("<details><summary>{title} ({})</summary>\n\n{bullets}\n</details>\n\n", items.len())
    } else {
        format!("{title}:\n\n{bullets}\n")
    }
}

fn words(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items
            .iter()
            .map(|i| if i.is_empty() { "`\"\"`".to_string() } else { crate::text::code_span(i) })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `added`/`removed` lines for a list-valued key, compared as sets (order is not a change).
fn set_change(what: &str, old: &[String], new: &[String]) -> Vec<String> {
    let old: BTreeSet<&String> = old.iter().collect();
    let new: BTreeSet<&String> = new.iter().collect();
    let mut out = Vec::new();
    for a in new.difference(&old) {
        out.push(format!("{what}: added {}", crate::text::code_span(a)));
    }
    for r in old.difference(&new) {
        out.push(format!("{what}: removed {}", crate::text::code_span(r)));
    }
    out
}

fn mount(m: &Mount) -> String {
    let source = match &m.source {
        MountSource::Bind(s) => s.clone(),
        MountSource::Volume(v) => format!("volume {v}"),
        MountSource::Anonymous => "anonymous".to_string(),
        MountSource::Tmpfs => "tmpfs".to_string(),
    };
    format!("{source}:{}{}", m.target, if m.read_only { ":ro" } else { "" })
}

fn healthcheck(h: &Healthcheck, secrets: &Secrets) -> String {
    if h.disabled {
        return "disabled".to_string();
    }
    let mut parts = Vec::new();
    match &h.test {
        Some(HealthTest::Exec(argv)) => parts.push(code(&argv.join(" "), secrets)),
        Some(HealthTest::Shell(cmd)) => parts.push(code(cmd, secrets)),
        None => parts.push("(image default)".to_string()),
    }
    for (name, v) in [("interval", h.interval), ("timeout", h.timeout), ("start", h.start_period)] {
        if let Some(s) = v {
            parts.push(format!("{name} {s}s"));
        }
    }
    if let Some(r) = h.retries {
        parts.push(format!("retries {r}"));
    }
    parts.join(", ")
}

/// A value as inline code, cut when long, with known secret values hidden. Table rows escape pipes.
fn code(text: &str, secrets: &Secrets) -> String {
    let text = secrets.scrub(text);
    // A command or value that still carries a credential (a healthcheck's `curl -u user:pw`).
    if plan::literal_password(&text.split_whitespace().collect::<Vec<_>>()) || plan::carries_credential(&text) {
        return HIDDEN.to_string();
    }
    let mut shown: String = text.chars().take(MAX_VALUE_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    if shown.is_empty() {
        return "(empty)".to_string();
    }
    crate::text::code_span(&shown)
}

/// The rules' secret classification, applied to values of both releases.
struct Secrets {
    matcher: SecretMatcher,
    /// Values that are secret somewhere (secret settings' values, published defaults), longest first.
    values: Vec<String>,
}

impl Secrets {
    fn new(old: &Project, new: &Project, rules: &Rules) -> Result<Self> {
        let matcher = SecretMatcher::new(&rules.secrets)?;
        let mut values: BTreeSet<String> = rules.secrets.public_values.iter().cloned().collect();
        for p in [old, new] {
            let source = p.env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let settings = p.services.values().flat_map(|s| {
                s.environment
                    .iter()
                    .flat_map(|(k, v)| [(k.as_str(), v.value.as_str()), (v.origin.as_str(), v.value.as_str())])
            });
            for (k, v) in source.chain(settings) {
                if matcher.is_secret(k) && v.len() >= rules.secrets.min_value_length {
                    values.insert(v.to_string());
                }
            }
        }
        let mut values: Vec<String> = values.into_iter().collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        Ok(Self { matcher, values })
    }

    fn is_secret_name(&self, name: &str) -> bool {
        self.matcher.is_secret(name)
    }

    /// Whether a setting's value must not be shown: a secret name, credentials in a URL, or a
    /// value that holds a known secret.
    fn hides(&self, key: &str, origin: &str, value: &str) -> bool {
        self.matcher.is_secret(key)
            || self.matcher.is_secret(origin)
            || plan::url_with_credentials(value).is_some()
            || plan::carries_credential(value)
            || plan::literal_password(&value.split_whitespace().collect::<Vec<_>>())
            || self.values.iter().any(|s| value.contains(s.as_str()))
    }

    /// One value of a setting as shown in the report.
    fn value(&self, key: &str, origin: &str, value: &str) -> String {
        if self.hides(key, origin, value) {
            HIDDEN.to_string()
        } else {
            code(value, self)
        }
    }

    /// `old → new`, or a note that a secret changed.
    fn change(&self, key: &str, origin: &str, old: &str, new: &str) -> String {
        if self.hides(key, origin, old) || self.hides(key, origin, new) {
            return format!("changed {HIDDEN}");
        }
        format!("{} → {}", code(old, self), code(new, self))
    }

    /// Free text (a healthcheck command, an image) with every known secret value replaced.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.values {
            out = out.replace(s.as_str(), "***");
        }
        if let Some((start, end)) = plan::url_with_credentials(&out) {
            out.replace_range(start..end, "***");
        }
        out
    }
}
