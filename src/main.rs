//! The command line. Exit codes: 0 done (or up to date), 1 `--check` found drift, 2 refused input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use compose2dify::error::Error;
use compose2dify::readme::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{secrets, upstream, write, Settings};

#[derive(Parser, Debug)]
#[command(name = "compose2dify", version, about = "Turn Dify's docker-compose.yaml into a complete kustomize tree")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create every secret.yaml of a generated tree from its .example, with random values.
    Secrets {
        /// The generated tree (default: k8s).
        #[arg(default_value = "k8s")]
        dir: PathBuf,
    },
    /// Print, as Markdown for a pull request, what changed between two releases' compose files.
    Diff(DiffArgs),
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The old release's docker/docker-compose.yaml.
    old: PathBuf,
    /// The new release's docker/docker-compose.yaml.
    new: PathBuf,
    /// Rules to judge coverage and secrets by.
    #[arg(long, value_enum, default_value_t = Preset::Dify)]
    preset: Preset,
    /// A rules file layered over the preset.
    #[arg(long, value_name = "FILE")]
    mappings: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Dify's docker/docker-compose.yaml (with .env or .env.example beside it).
    compose: Option<PathBuf>,
    /// Output folder.
    #[arg(short, long, default_value = "k8s")]
    output: PathBuf,
    /// Read variables from this file instead of .env / .env.example beside the compose file.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Override a variable of the env source before interpolation (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Activate this compose profile instead of COMPOSE_PROFILES (repeatable).
    #[arg(long = "profile", value_name = "NAME")]
    profiles: Vec<String>,
    /// Rules to use.
    #[arg(long, value_enum, default_value_t = Preset::Dify)]
    preset: Preset,
    /// A rules file layered over the preset.
    #[arg(long, value_name = "FILE")]
    mappings: Option<PathBuf>,
    /// Language of the generated README.
    #[arg(long, value_parser = ["en", "ja"], default_value = "en")]
    lang: String,
    /// Compare with the tree on disk instead of writing: exit 0 up to date, 1 with a diff.
    #[arg(long)]
    check: bool,
    /// Treat warnings (untranslated keys, unknown services) as errors.
    #[arg(long)]
    strict: bool,
    /// Run this service outside the cluster (repeatable): `postgres`, `redis`, `weaviate`, … Its
    /// workload, claims and policies are left out; point its settings at your server with --set.
    #[arg(long, value_name = "SERVICE")]
    external: Vec<String>,
    /// Service type of the entry point (nginx).
    #[arg(long, value_name = "TYPE", value_parser = ["ClusterIP", "NodePort", "LoadBalancer"])]
    expose: Option<String>,
    /// Add an Ingress for this host name in front of the entry point.
    #[arg(long, value_name = "HOST")]
    ingress_host: Option<String>,
    /// TLS for the Ingress from this Secret (type kubernetes.io/tls, in the app's namespace).
    #[arg(long, value_name = "SECRET", requires = "ingress_host")]
    ingress_tls_secret: Option<String>,
    /// IngressClass of the Ingress (default: the cluster's default class).
    #[arg(long, value_name = "CLASS", requires = "ingress_host")]
    ingress_class: Option<String>,
    /// Namespace of every object (default: the rules', `dify`); nginx's upstream names follow.
    #[arg(long, value_name = "NAME")]
    namespace: Option<String>,
    /// The cluster's DNS domain (default `cluster.local`); nginx's upstream and resolver names follow.
    #[arg(long, value_name = "DOMAIN")]
    cluster_domain: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            ExitCode::from(2)
        }
    }
}

fn report(e: &Error) {
    let mut text = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    if handler.render_report(&mut text, e).is_err() || text.is_empty() {
        text = format!("{e}\n  help: {}\n", e.help);
    }
    // The handler's own first line repeats the message; ours leads with `error:` instead.
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    eprintln!("error: {e}");
    eprint!("{body}");
}

fn try_main(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Some(Command::Secrets { dir }) => secrets_command(&dir),
        Some(Command::Diff(args)) => diff_command(args),
        None => generate_command(cli.generate),
    }
}

/// Entry point of `compose2dify secrets DIR`.
fn secrets_command(dir: &std::path::Path) -> Result<ExitCode, Error> {
    let report = secrets::setup(dir)?;
    for p in &report.kept {
        eprintln!("kept    {}", p.display());
    }
    for p in &report.created {
        eprintln!("created {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Entry point of `compose2dify diff OLD NEW`: both folders are read as generation reads them.
fn diff_command(args: DiffArgs) -> Result<ExitCode, Error> {
    let rules = rules::load(args.preset, args.mappings.as_deref())?;
    let read = |compose: PathBuf| upstream::load(&upstream::Options { compose, ..Default::default() });
    let old = read(args.old)?;
    let new = read(args.new)?;
    print!("{}", compose2dify::diff::report(&old, &new, &rules)?);
    Ok(ExitCode::SUCCESS)
}

/// Entry point of the main job: read upstream, plan, emit, write or check.
fn generate_command(args: GenerateArgs) -> Result<ExitCode, Error> {
    let compose = args.compose.ok_or_else(|| {
        Error::usage("no compose file given", "run `compose2dify path/to/docker/docker-compose.yaml -o k8s`")
    })?;
    let mut set = Vec::new();
    for item in &args.set {
        let (k, v) = item
            .split_once('=')
            .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| {
                Error::usage(format!("--set `{item}` is not KEY=VALUE"), "write it as --set VECTOR_STORE=qdrant")
            })?;
        set.push((k.to_string(), v.to_string()));
    }
    let opts = upstream::Options {
        compose,
        env_file: args.env_file,
        set,
        profiles: (!args.profiles.is_empty()).then_some(args.profiles),
    };
    let mut rules = rules::load(args.preset, args.mappings.as_deref())?;
    let project = upstream::load(&opts)?;
    let choices = rules::Choices {
        external: args.external,
        expose: args.expose,
        ingress: args.ingress_host.map(|host| rules::IngressRule {
            host,
            port: None,
            tls_secret: args.ingress_tls_secret,
            class: args.ingress_class,
        }),
        namespace: args.namespace,
        cluster_domain: args.cluster_domain,
    };
    let services: Vec<String> = project.services.keys().cloned().collect();
    rules.apply(&choices, &services)?;
    let lang = if args.lang == "ja" { Lang::Ja } else { Lang::En };
    let (plan, tree) = compose2dify::generate(&project, &rules, Settings { lang })?;

    for note in &project.notes {
        eprintln!("note: {note}");
    }
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    if args.strict && !plan.warnings.is_empty() {
        return Err(Error::usage(
            format!("{} warning(s) with --strict", plan.warnings.len()),
            "cover the services and keys named above in a rules file (--mappings), or drop --strict",
        ));
    }
    if args.check {
        return Ok(match write::check(&tree, &args.output) {
            None => {
                eprintln!("{} is up to date", args.output.display());
                ExitCode::SUCCESS
            }
            Some(diff) => {
                print!("{diff}");
                eprintln!("{} is out of date: re-run without --check to update it", args.output.display());
                ExitCode::from(1)
            }
        });
    }
    let outcome = write::write(&tree, &args.output)?;
    eprintln!(
        "wrote {}: {} workloads, {} files changed, {} unchanged, {} removed",
        args.output.display(),
        plan.workloads.len(),
        outcome.written,
        outcome.unchanged,
        outcome.removed.len()
    );
    for r in &outcome.removed {
        eprintln!("removed {r}");
    }
    Ok(ExitCode::SUCCESS)
}
