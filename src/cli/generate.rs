//! The main job: read, plan, emit, and what the run says about it.

use crate::cli::{args::*, deliver::*, messages::*, options::*, recorded::*};
use clap::{ArgMatches, CommandFactory};
use compose2dify::choices::Choices;
use compose2dify::error::Error;
use compose2dify::guide::Lang;
use compose2dify::rules::{self};
use compose2dify::{commands::secrets, read::upstream, tree::write, Settings};
use std::path::Path;
use std::process::ExitCode;

/// Entry point of the main job: read upstream, plan, emit, write or check. Over an existing tree,
/// the run starts from the choices it records.
pub(crate) fn generate_command(args: &GenerateArgs, matches: &ArgMatches, out: &Messages) -> Result<ExitCode, Error> {
    refuse_mistyped_command(args)?;
    let recorded = if args.output.as_os_str() == "-" { None } else { recorded_in(&args.output)? };
    let (args, lines) = with_recorded(std::env::args_os().collect(), matches, recorded, out)?;
    generate_with(args, lines, false, out)
}

/// `compose2dify upgarde …` names no file: say which command was meant, rather than that the file
/// `upgarde` does not exist.
pub(crate) fn refuse_mistyped_command(args: &GenerateArgs) -> Result<(), Error> {
    let Some(word) = args.compose.first().and_then(|p| p.to_str()) else { return Ok(()) };
    if word == "-" || word.contains(['/', '.']) || Path::new(word).exists() {
        return Ok(());
    }
    let cli = Cli::command();
    let near = cli
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|name| strsim::damerau_levenshtein(word, name) <= 2 || name.starts_with(word))
        .min_by_key(|name| strsim::damerau_levenshtein(word, name));
    match near {
        Some(name) => Err(Error::usage(
            format!("`{word}` is neither a compose file nor a command"),
            format!("did you mean `compose2dify {name}`? (compose2dify --help lists the commands)"),
        )),
        None => Ok(()),
    }
}

/// The main job; `upgrade` refuses a `--set` that no longer changes anything (a choice the new
/// release dropped) instead of warning.
pub(crate) fn generate_with(
    mut args: GenerateArgs,
    recorded: Vec<String>,
    upgrade: bool,
    out: &Messages,
) -> Result<ExitCode, Error> {
    // Each choice is one line of GENERATED.md: a value with a newline would forge the lines after it.
    if let Some(bad) = recorded.iter().find(|c| c.chars().any(compose2dify::text::is_hidden)) {
        return Err(Error::usage(
            format!("the choice {} holds a control character", compose2dify::text::escape_hidden(bad)),
            "pass values on one line, without control characters",
        ));
    }
    let secrets = secret_source(&args)?;
    let opts = read_options(&mut args)?;
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout && !args.check && !args.force {
        write::refuse_foreign(&args.output)?;
    }
    let annotations = ingress_annotations(&args)?;
    let rules = rules::load(args.preset, args.mappings.as_deref())?;
    let (recorded, mut secret_sets) = without_secret_sets(recorded, &rules, out)?;
    let mut opts = opts;
    let recorded = url_passwords_out(&mut opts.set, recorded, &rules, &mut secret_sets)?;
    let opts = upstream::Options {
        expected: expected_compose(&rules),
        checkout_files: compose2dify::rules::images::checkout_files(&rules.images),
        ..opts
    };
    let mut project = read_with_public_url(&args, opts, &rules, out)?;
    // The route's host name comes from the public URL or the Ingress host: read before the Ingress
    // takes it.
    let gateway = gateway_choice(&mut args);
    let public_https =
        args.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) || args.ingress_tls_secret.is_some();
    let choices = Choices {
        external: std::mem::take(&mut args.external),
        expose: std::mem::take(&mut args.expose),
        ingress: args.ingress_host.take().map(|host| rules::IngressRule {
            host,
            port: None,
            tls_secret: args.ingress_tls_secret.take(),
            class: args.ingress_class.take(),
            annotations,
        }),
        gateway,
        secrets,
        storage_class: args.storage_class.take(),
        rwx_storage_class: args.rwx_storage_class.take(),
        namespace: args.namespace.take(),
        cluster_domain: args.cluster_domain.take(),
        cluster_ranges: std::mem::take(&mut args.cluster_cidrs)
            .into_iter()
            .chain(std::mem::take(&mut args.service_cidrs))
            .collect(),
        allowed_ranges: std::mem::take(&mut args.allow_egress),
        public_https,
        ha: args.ha || args.autoscale,
        autoscale: args.autoscale,
        registry: args.registry.take(),
        service_account_annotations: service_account_annotations(&args)?,
    };
    let services: Vec<String> = project.services.keys().cloned().collect();
    choices.check(&rules, &services)?;
    say_way_in(&choices, out);
    let lang = if args.lang == "ja" { Lang::Ja } else { Lang::En };
    let settings = Settings { lang, choices, recorded };
    let (plan, tree) = compose2dify::generate_freeing(&mut project, &rules, settings)?;
    // Notes describe the inputs; a tree already generated from them has seen them once.
    let first_run = to_stdout || !args.output.join(write::MANIFEST).is_file();
    say_notes_and_warnings(&project, &plan, first_run, out);
    refuse_warnings(&plan, upgrade, args.strict)?;
    if !to_stdout && !args.check && !args.allow_downgrade {
        refuse_downgrade(&plan, &args.output, out)?;
    }
    if !to_stdout && !args.allow_recreate {
        refuse_recreate(&tree, &args.output, args.check, out)?;
    }
    let files_mode = plan.secret_source == rules::SecretSource::Files;
    if !secret_sets.is_empty() && !to_stdout && !args.check && files_mode && !first_run {
        refuse_invented_secrets(&args.output)?;
    }
    let code = deliver(&tree, &args, plan.workloads.len(), out)?;
    if !secret_sets.is_empty() && !to_stdout && !args.check && files_mode {
        secret_files_with(&args.output, &secret_sets, out)?;
    }
    if !to_stdout && !args.check {
        say_secret_step(&plan.secret_source, &tree, &args.output, first_run, out);
    }
    // The process ends here: freeing the read project, the plan and the tree one allocation at a
    // time would only delay the exit (about 4% of a 2,000-service run).
    std::mem::forget((project, plan, tree));
    Ok(code)
}

/// The choices to record, without a `--set` of a secret-looking setting: its value is never written
/// into GENERATED.md or the guide (both committed), nor printed; a note says where it belongs.
/// The `--set`s left out are returned as placeholder → value, for the tree's secret files.
pub(crate) type SecretSets = std::collections::BTreeMap<String, String>;

pub(crate) fn without_secret_sets(
    recorded: Vec<String>,
    rules: &rules::Rules,
    out: &Messages,
) -> Result<(Vec<String>, SecretSets), Error> {
    let matcher = rules::SecretMatcher::new(&rules.secrets)?;
    let mut kept = Vec::with_capacity(recorded.len());
    let mut secret = SecretSets::new();
    for choice in recorded {
        let words = shell_words::split(&choice).unwrap_or_default();
        let set = match words.as_slice() {
            [flag, set] if flag == "--set" => set.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())),
            _ => None,
        };
        // A URL's host and path shape the tree (its password becomes a placeholder there): such a
        // value is recorded like any other choice.
        match set.filter(|(k, v)| matcher.is_secret(k) && !v.contains("://")) {
            Some((key, value)) => {
                let safe = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
                if !safe {
                    return Err(Error::usage(
                        format!("--set {key}: the value has characters other than letters, digits and -._~, so it is not written into secret.yaml as is"),
                        "put the value into the tree's secret.yaml yourself (`compose2dify secrets DIR` makes the others), and leave it out of --set",
                    ));
                }
                out.labelled(
                    "note",
                    "36",
                    &format!("--set {key}: a secret, so it is not recorded in GENERATED.md or the guide; its value goes into the tree's secret.yaml files when they are made (with --secrets files), else put it in your secret store"),
                );
                let canonical = rules.secrets.pairs.get(&key).cloned().unwrap_or(key);
                secret.insert(compose2dify::placeholders::placeholder(&canonical), value);
            }
            None => kept.push(choice),
        }
    }
    Ok((kept, secret))
}

/// A `--set` whose value is a URL with a password (`postgres://u:PASSWORD@db/app`) shapes the tree
/// by its host and path, but its password is a secret: the setting (and the recorded choice) get
/// the placeholder in its place, and the password goes into the tree's secret.yaml files like a
/// secret `--set`'s value. Nothing committed holds it.
pub(crate) fn url_passwords_out(
    set: &mut [(String, String)],
    recorded: Vec<String>,
    rules: &rules::Rules,
    secret: &mut SecretSets,
) -> Result<Vec<String>, Error> {
    let mut rewritten: Vec<(String, String)> = Vec::new();
    for (key, value) in set.iter_mut() {
        let Some((a, b)) = compose2dify::plan::url_with_credentials(value) else { continue };
        let password = value[a..b].to_string();
        if password.starts_with(compose2dify::placeholders::PREFIX) {
            continue; // a placeholder already (a replayed choice)
        }
        let safe = password.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
        if !safe {
            return Err(Error::usage(
                format!("--set {key}: the URL's password has characters other than letters, digits and -._~ (percent-encoded or not), so it is not written into secret.yaml as is"),
                format!("leave the password out of --set (write --set {key}=… with any password) and put the URL into the tree's secret.yaml yourself"),
            ));
        }
        let token = compose2dify::plan::placeholder(key, rules);
        let masked = format!("{}{token}{}", &value[..a], &value[b..]);
        rewritten.push((format!("{key}={value}"), format!("{key}={masked}")));
        secret.insert(token, password);
        *value = masked;
    }
    Ok(recorded
        .into_iter()
        .map(|choice| {
            let words = shell_words::split(&choice).unwrap_or_default();
            match (words.as_slice(), rewritten.iter().find(|(raw, _)| words.get(1) == Some(raw))) {
                ([flag, _], Some((_, masked))) if flag == "--set" => format!("--set {}", shell_words::quote(masked)),
                _ => choice,
            }
        })
        .collect())
}

/// A secret `--set` over a tree that was generated before but holds no secret.yaml (a fresh clone):
/// making the files now would invent every other value of a possibly live install. Refused before
/// anything is written.
pub(crate) fn refuse_invented_secrets(dir: &Path) -> Result<(), Error> {
    if !secrets::no_secret_files(dir) {
        return Ok(());
    }
    Err(Error::file(
        dir,
        "holds no secret.yaml, so the secret --set would go into new files whose other values are invented: on an installed tree that replaces its passwords",
        format!(
            "first take the running install's values with `compose2dify secrets {} --from-cluster` (or `--new` for a first install), then run this again",
            compose2dify::error::display_path(dir)
        ),
    ))
}

/// The tree's secret files made now, with the values of the secret `--set`s (checked to be ones a
/// YAML plain scalar and a URL both hold as written).
pub(crate) fn secret_files_with(dir: &Path, sets: &SecretSets, out: &Messages) -> Result<(), Error> {
    let report = secrets::setup_with(dir, sets)?;
    for p in &report.created {
        out.say(&format!("created {}", p.display()));
    }
    if !report.kept.is_empty() || !report.added.is_empty() {
        out.labelled("note", "36", "existing secret.yaml files keep their values; change a secret there");
    }
    Ok(())
}

/// What the way in means for the entry point, on stderr: behind an Ingress or a route its Service
/// is ClusterIP unless `--expose` says otherwise; ingress-nginx is retired.
pub(crate) fn say_way_in(choices: &Choices, out: &Messages) {
    if choices.expose.is_none() && (choices.ingress.is_some() || choices.gateway.is_some()) {
        let via = match (&choices.gateway, &choices.ingress) {
            (Some(_), Some(_)) => "the HTTPRoute and the Ingress are the ways in",
            (Some(_), None) => "the HTTPRoute is the one way in",
            _ => "the Ingress is the one way in",
        };
        out.labelled(
            "note",
            "36",
            &format!(
                "the entry point's Service is ClusterIP: {via} (--expose LoadBalancer adds a load balancer of its own)"
            ),
        );
    }
    if let Some(g) = &choices.gateway {
        // Who the entry point's policy admits, said: the data plane's namespace or address blocks.
        let admitted = if !g.sources.is_empty() {
            format!("the address blocks {}", g.sources.join(", "))
        } else {
            format!(
                "the pods of the namespace `{}` (--gateway-namespace names the data plane's)",
                g.data_plane_namespace.as_deref().or(g.namespace.as_deref()).unwrap_or("of the tree")
            )
        };
        out.labelled(
            "note",
            "36",
            &format!("the entry point's NetworkPolicy admits the Gateway's data plane as {admitted}"),
        );
        if g.hostname.is_none() {
            out.labelled(
                "warning",
                "33",
                "the HTTPRoute has no host name (no --public-url or --ingress-host with a DNS name): on a shared Gateway it takes every host no other route claims",
            );
        }
        if g.class.is_some() && g.tls_secret.is_none() && choices.public_https {
            out.labelled(
                "warning",
                "33",
                "the public URL is https, but the Gateway made here has only an HTTP listener: add --gateway-tls-secret SECRET",
            );
        }
        for cidr in g.sources.iter().filter(|c| c.as_str() == "0.0.0.0/0" || c.as_str() == "::/0") {
            out.labelled(
                "warning",
                "33",
                &format!("--gateway-source {cidr} admits every address: name the load balancer's subnets"),
            );
        }
        for cidr in g.sources.iter().filter(|c| has_host_bits(c)) {
            out.labelled(
                "warning",
                "33",
                &format!("--gateway-source {cidr} has bits set past its prefix: the policy takes the whole block; write the block's first address"),
            );
        }
    }
    if choices.ingress.as_ref().is_some_and(|i| i.class.as_deref() == Some("nginx")) {
        out.labelled(
            "warning",
            "33",
            "ingress-nginx is retired (best-effort maintenance ended in March 2026; Gateway API is its successor): consider --gateway (the tree's README shows how)",
        );
    }
}

/// The override file merged (every run), the notes about the inputs (the first run, or with
/// --verbose), and every warning.
pub(crate) fn say_notes_and_warnings(
    project: &compose2dify::read::project::Project,
    plan: &compose2dify::plan::Plan,
    first_run: bool,
    out: &Messages,
) {
    // Said on every run: the tree differs from the compose file named on the command line.
    if let (true, Some(file)) = (project.found_override, project.merged.last()) {
        out.labelled(
            "note",
            "36",
            &format!(
                "{file} is merged over {}, as `docker compose` does in that folder (--no-override leaves it out)",
                project.compose_name
            ),
        );
    }
    for note in &project.notes {
        if first_run || out.verbose {
            out.labelled("note", "36", note);
        }
    }
    for w in &plan.warnings {
        out.labelled("warning", "33", &w.to_string());
    }
    for image in plan.unpinned() {
        out.labelled(
            "warning",
            "33",
            &format!("image {image} is not pinned (`:latest` or no tag): every start may pull another build; pin a digest in your overlay's `images:` (the tree's README, Images)"),
        );
    }
}
