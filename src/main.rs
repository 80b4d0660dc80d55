//! The command line. Exit codes: 0 done (or up to date), 1 `--check` found drift, 2 refused input.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use compose2dify::choices::{Change, Choice, Choices, Kind as ChoiceKind};
use compose2dify::error::Error;
use compose2dify::guide::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{commands::secrets, read::upstream, tree::write, Settings};

const EXAMPLES: &str = "Examples:
  compose2dify docker/docker-compose.yaml -o k8s            write (or update) the tree
  compose2dify docker/docker-compose.yaml -o k8s --check    exit 1 with a diff if the tree is stale
  compose2dify docker/docker-compose.yaml -o -              print every object, write nothing
  compose2dify docker/docker-compose.yaml -o k8s --set VECTOR_STORE=qdrant
  compose2dify -f docker/docker-compose.yaml -f prod.yaml -o k8s   merge files in order
  compose2dify secrets k8s --new                            fill every secret.yaml from its .example (first install)
  compose2dify secrets k8s --from-cluster                   ... with the values of the installed Secrets
  compose2dify diff old/docker-compose.yaml new/docker-compose.yaml > report.md
  compose2dify completions bash > /etc/bash_completion.d/compose2dify

Exit codes: 0 done or up to date, 1 --check found drift, 2 refused input (nothing written).";

#[derive(Parser, Debug)]
#[command(name = "compose2dify", version = compose2dify::TOOL_VERSION, about = "Turn Dify's docker-compose.yaml into a complete kustomize tree")]
#[command(args_conflicts_with_subcommands = true, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    generate: GenerateArgs,
    /// Print only errors (and, with --check, the diff).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print every note on every run and each file written or removed.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create every secret.yaml of a generated tree from its .example, with random values.
    Secrets {
        /// The generated tree (default: k8s).
        #[arg(default_value = "k8s")]
        dir: PathBuf,
        /// Make or complete the Secrets in the cluster (kubectl's current context) instead of
        /// secret.yaml files: for trees generated with `--secrets external`.
        #[arg(long, conflicts_with_all = ["new", "from_cluster"])]
        apply: bool,
        /// A first install: invent values although the tree has no secret.yaml yet (refused
        /// without it, since a fresh clone of a live install would rotate every password).
        #[arg(long)]
        new: bool,
        /// Take the values the tree's Secrets hold in the cluster (kubectl's current context): for
        /// a fresh clone of an installed tree.
        #[arg(long)]
        from_cluster: bool,
        /// Take the secret settings of a Docker Compose install's .env (SECRET_KEY, DB_PASSWORD,
        /// …); empty ones and published defaults are generated.
        #[arg(long, value_name = "FILE")]
        from_env: Option<PathBuf>,
        /// The kubectl to run with --apply or --from-cluster (default: kubectl).
        #[arg(long, value_name = "PATH")]
        kubectl: Option<PathBuf>,
        /// An age identity file (as age-keygen writes it) to read a `--secrets sops` tree's
        /// secret.sops.yaml files, keeping their values (default: $SOPS_AGE_KEY_FILE).
        #[arg(long, value_name = "FILE")]
        age_identity: Option<PathBuf>,
    },
    /// Print, as Markdown for a pull request, what changed between two releases' compose files.
    Diff(DiffArgs),
    /// Carry your customized .env and envs/**/*.env beside OLD to NEW's folder (new files from NEW's
    /// .example with your changed settings put back); prints what was kept and what upstream added.
    CarryEnv {
        /// The old release's docker/docker-compose.yaml.
        old: PathBuf,
        /// The new release's docker/docker-compose.yaml.
        new: PathBuf,
    },
    /// Regenerate a tree for another release with the choices recorded in its GENERATED.md; a
    /// generation flag after NEW (`--secrets external`, `--check`, `--strict`, …) changes only what
    /// it names.
    Upgrade {
        /// The generated tree.
        dir: PathBuf,
        /// The new release's docker/docker-compose.yaml.
        compose: PathBuf,
        /// Any flag of the main command but -o and compose files: a choice to change while moving
        /// release, or --check, --strict, --allow-downgrade, --allow-recreate, --reset-choices.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "FLAGS")]
        flags: Vec<std::ffi::OsString>,
    },
    /// For maintainers: the line of mappings/dify-images.yaml for an image tag, read from a folder
    /// holding that tag's sources (a checkout at the tag, or tests/fixtures/images/<image>/<tag>).
    ImageFacts {
        /// The image as the table names it (`langgenius/dify-api`).
        image: String,
        /// The tag (`1.14.2`, `0.6.1-local`); with --files, not needed.
        #[arg(required_unless_present = "files")]
        tag: Option<String>,
        /// The folder of the tag's sources.
        #[arg(required_unless_present = "files")]
        dir: Option<PathBuf>,
        /// Print the files the table reads for this image instead, one a line.
        #[arg(long)]
        files: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
    /// Dify's docker/docker-compose.yaml (with .env or .env.example beside it); `-` reads it from
    /// standard input, with the current folder as its folder. More files are merged over it in
    /// order, with compose's merge rules; relative paths in every file are read from the first one's
    /// folder.
    compose: Vec<PathBuf>,
    /// A compose file (repeatable, as `docker compose -f` and `kompose -f`): the same as naming the
    /// files as arguments.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "compose")]
    files: Vec<PathBuf>,
    /// With a single compose file, do not merge the `compose.override.yaml` /
    /// `docker-compose.override.yaml` beside it (which `docker compose` merges in that folder).
    #[arg(long)]
    no_override: bool,
    /// Output folder; `-` prints every object of the tree to standard output and writes nothing.
    #[arg(short, long, default_value = "k8s")]
    output: PathBuf,
    /// Write into a folder that holds files but no tree of compose2dify (no .compose2dify-manifest).
    #[arg(long)]
    force: bool,
    /// Read variables from this file instead of .env / .env.example beside the compose file.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Also read files (env files, includes, bind-mounted files) below this folder; by default only
    /// the compose file's own folder is read. Repeatable.
    #[arg(long, value_name = "DIR")]
    allow_read: Vec<PathBuf>,
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
    /// Treat warnings (untranslated keys, unknown services, image tags whose facts are assumed) as
    /// errors.
    #[arg(long)]
    strict: bool,
    /// Let an image move to an older tag, or from a release to a pre-release, over an existing tree
    /// (refused without it: data written by a newer server may not be readable by an older one).
    #[arg(long)]
    allow_downgrade: bool,
    /// Start from no choices instead of the ones the tree on disk records (GENERATED.md); the ones
    /// left out are printed.
    #[arg(long)]
    reset_choices: bool,
    /// Write a change that Kubernetes cannot apply in place (a claim's StorageClass, a StatefulSet's
    /// claim templates, a Service's clusterIP, a Job's template, …); refused without it, with the
    /// steps that make it safe.
    #[arg(long)]
    allow_recreate: bool,
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
    /// IngressClass of the Ingress (default: the cluster's default class). With `nginx`, the body
    /// size and proxy timeouts follow the release's own nginx settings.
    #[arg(long, value_name = "CLASS", requires = "ingress_host")]
    ingress_class: Option<String>,
    /// Namespace of every object (default: the rules', `dify`); nginx's upstream names follow.
    #[arg(long, value_name = "NAME")]
    namespace: Option<String>,
    /// The cluster's DNS domain (default `cluster.local`); nginx's upstream and resolver names follow.
    #[arg(long, value_name = "DOMAIN")]
    cluster_domain: Option<String>,
    /// The address users type in their browser (`https://dify.example.com`): every setting that
    /// sends a browser, webhook caller or plugin somewhere takes it (default with --ingress-host:
    /// that host). A --set of one of them wins.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// An annotation of the Ingress (repeatable); it wins over the annotations derived from settings.
    #[arg(long = "ingress-annotation", value_name = "KEY=VALUE", requires = "ingress_host")]
    ingress_annotations: Vec<String>,
    /// Add a Gateway API HTTPRoute that attaches to this Gateway (`NAME` in the app's namespace, or
    /// `NAMESPACE/NAME`); its host name comes from --public-url (or --ingress-host).
    #[arg(long, value_name = "[NAMESPACE/]NAME")]
    gateway: Option<String>,
    /// The Gateway's listener the route attaches to (its sectionName; default: every listener).
    #[arg(long, value_name = "LISTENER", requires = "gateway")]
    gateway_section: Option<String>,
    /// Also write the Gateway, of this GatewayClass, with an HTTP listener (and an HTTPS one with
    /// --gateway-tls-secret).
    #[arg(long, value_name = "CLASS", requires = "gateway")]
    gateway_class: Option<String>,
    /// TLS for the created Gateway's HTTPS listener from this Secret (type kubernetes.io/tls, in the
    /// app's namespace).
    #[arg(long, value_name = "SECRET", requires = "gateway_class")]
    gateway_tls_secret: Option<String>,
    /// Namespace of the Gateway's data plane, which nginx's NetworkPolicy admits (default: the
    /// Gateway's namespace).
    #[arg(long, value_name = "NAMESPACE", requires = "gateway")]
    gateway_namespace: Option<String>,
    /// An address block (CIDR) of a data plane outside the cluster, which nginx's NetworkPolicy
    /// admits (repeatable): your VPC's for an AWS ALB, Google's proxies' for GKE. Without
    /// --gateway-namespace, no namespace is admitted then.
    #[arg(long = "gateway-source", value_name = "CIDR", requires = "gateway")]
    gateway_sources: Vec<String>,
    /// StorageClass of every ReadWriteOnce claim; "" (the default) is the cluster's default class.
    #[arg(long, value_name = "NAME")]
    storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claim (dify-storage): a shared file system (EFS, Azure
    /// Files, Filestore, NFS, CephFS); "" is the cluster's default class. Object storage
    /// (--set STORAGE_TYPE=s3) needs none.
    #[arg(long, value_name = "NAME")]
    rwx_storage_class: Option<String>,
    /// Where Secrets come from: `files` (secret.yaml from templates, git-ignored), `sops`
    /// (secret.sops.yaml encrypted to --age recipients, committed), `external` (created in the cluster
    /// with `compose2dify secrets DIR --apply`; the tree only names them) or `external-secrets`
    /// (ExternalSecret objects reading --secret-store).
    #[arg(long, value_name = "MODE", default_value = "files", value_parser = ["files", "external", "external-secrets", "sops"])]
    secrets: String,
    /// With --secrets sops: an age recipient (`age1…`) the secret.sops.yaml files are encrypted to
    /// (repeatable); give your Flux cluster's key and your team's.
    #[arg(long = "age", value_name = "RECIPIENT")]
    age: Vec<String>,
    /// The external-secrets.io store the ExternalSecrets read from.
    #[arg(long, value_name = "NAME")]
    secret_store: Option<String>,
    /// Kind of that store.
    #[arg(long, value_name = "KIND", default_value = "SecretStore", value_parser = ["SecretStore", "ClusterSecretStore"])]
    secret_store_kind: String,
    /// The cluster's pod address range (repeatable): never reached by the egress-fenced workloads or
    /// through the SSRF proxy (EKS: the VPC's range; GKE: the pod range; AKS: 10.244.0.0/16).
    #[arg(long = "cluster-cidr", value_name = "CIDR")]
    cluster_cidrs: Vec<String>,
    /// The cluster's Service address range (repeatable), likewise (EKS: 10.100.0.0/16 or
    /// 172.20.0.0/16; GKE: 34.118.224.0/20; AKS: 10.0.0.0/16).
    #[arg(long = "service-cidr", value_name = "CIDR")]
    service_cidrs: Vec<String>,
    /// An address range the egress-fenced workloads and the SSRF proxy may reach although it is
    /// private (repeatable): a model endpoint or database in your network.
    #[arg(long = "allow-egress", value_name = "CIDR")]
    allow_egress: Vec<String>,
    /// Remote keys are this prefix and the variable's name (`dify/DB_PASSWORD`).
    #[arg(long, value_name = "PREFIX", default_value = "dify/")]
    secret_prefix: String,
    /// The production profile: at least two replicas, a PodDisruptionBudget and topology spread for
    /// every stateless workload (the rules' `ha`); the scheduler and the data stores stay single.
    #[arg(long)]
    ha: bool,
    /// A HorizontalPodAutoscaler (CPU) for api, web, worker and sandbox (the rules' `autoscale`);
    /// implies --ha. Needs metrics-server in the cluster.
    #[arg(long)]
    autoscale: bool,
    /// Pull every image from this registry (`HOST[:PORT][/PATH]`): the image's own registry is
    /// dropped, Docker Hub's official images become `library/NAME`, tags and digests are kept.
    #[arg(long, value_name = "HOST[/PATH]")]
    registry: Option<String>,
    /// An annotation of a workload's ServiceAccount (repeatable), for IRSA or Workload Identity:
    /// `api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify`.
    #[arg(long = "service-account-annotation", value_name = "WORKLOAD:KEY=VALUE")]
    service_account_annotations: Vec<String>,
}

/// The `--secrets` choice, checked: a store is named for `external-secrets`, and only then.
fn secret_source(args: &GenerateArgs) -> Result<rules::SecretSource, Error> {
    let store = args.secret_store.as_deref();
    match (args.secrets.as_str(), store) {
        ("external-secrets", None) => Err(Error::usage(
            "--secrets external-secrets needs the store the ExternalSecrets read from",
            "name it: --secret-store vault (and --secret-store-kind ClusterSecretStore for a cluster-wide one)",
        )),
        ("external-secrets", Some(name)) if !compose2dify::names::is_dns_label(name) => Err(Error::usage(
            format!("--secret-store `{name}` is not a DNS label (lower-case letters, digits and `-`, at most 63)"),
            "pass the store's metadata.name, e.g. --secret-store vault-backend",
        )),
        ("external-secrets", Some(name)) => Ok(rules::SecretSource::ExternalSecrets {
            store: name.to_string(),
            store_kind: args.secret_store_kind.clone(),
            prefix: args.secret_prefix.clone(),
        }),
        (mode, Some(_)) => Err(Error::usage(
            format!("--secret-store is only read with --secrets external-secrets, not with --secrets {mode}"),
            "add --secrets external-secrets, or drop --secret-store",
        )),
        ("sops", None) if args.age.is_empty() => Err(Error::usage(
            "--secrets sops needs the age recipients the files are encrypted to",
            "name them: --age age1… (repeatable: your GitOps controller's key and each person's who edits them)",
        )),
        ("sops", None) => {
            for r in &args.age {
                compose2dify::commands::sops::recipient(r).map_err(|e| {
                    Error::usage(
                        format!("--age `{}` is not an age recipient: {e}", compose2dify::text::escape_hidden(r)),
                        "pass a public key as age-keygen prints it (age1…)",
                    )
                })?;
            }
            Ok(rules::SecretSource::Sops { recipients: args.age.clone() })
        }
        (mode, None) if !args.age.is_empty() => Err(Error::usage(
            format!("--age is only read with --secrets sops, not with --secrets {mode}"),
            "add --secrets sops, or drop --age",
        )),
        ("external", None) => Ok(rules::SecretSource::External),
        _ => Ok(rules::SecretSource::Files),
    }
}

fn main() -> ExitCode {
    let matches = parse(&globals_after_command(std::env::args_os().collect())).unwrap_or_else(|e| e.exit());
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let out = Messages { quiet: cli.quiet, verbose: cli.verbose, paint: paint() };
    match try_main(cli, &matches, &out) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.report(out.paint));
            ExitCode::from(2)
        }
    }
}

/// Flags that say how to run, not what the tree is: they are not recorded as choices.
const NOT_CHOICES: &[&str] = &[
    "compose",
    "files",
    "output",
    "check",
    "strict",
    "force",
    "allow_downgrade",
    "allow_recreate",
    "reset_choices",
    "quiet",
    "verbose",
    "help",
    "version",
];

/// `compose2dify -q upgrade …`: -q and -v before a subcommand's name go after it (the main
/// command's own arguments would otherwise take the name for a compose file).
fn globals_after_command(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let global = |a: &std::ffi::OsString| ["-q", "--quiet", "-v", "--verbose"].iter().any(|g| a == g);
    let leading = argv.iter().skip(1).take_while(|a| global(a)).count();
    let named = argv
        .get(1 + leading)
        .and_then(|a| a.to_str())
        .is_some_and(|name| Cli::command().get_subcommands().any(|c| c.get_name() == name));
    if leading > 0 && named {
        let flags: Vec<_> = argv.drain(1..1 + leading).collect();
        argv.splice(2..2, flags);
    }
    argv
}

/// The command line parsed. A flag that needs another (`--ingress-class` needs `--ingress-host`) may
/// lean on a choice the tree records: such a line is parsed loosely here and strictly again once the
/// recorded choices are in (`with_recorded`).
fn parse(argv: &[std::ffi::OsString]) -> Result<ArgMatches, clap::Error> {
    match Cli::command().try_get_matches_from(argv) {
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            match Cli::command().ignore_errors(true).try_get_matches_from(argv) {
                Ok(m) if m.subcommand().is_none() => Ok(m),
                _ => Err(e),
            }
        }
        parsed => parsed,
    }
}

/// Choices that name a file or folder to read. GENERATED.md records them relative to the compose
/// file's folder, so a run from another folder, or `upgrade` to another release's folder, finds them
/// there; a recorded one is replayed only inside that folder (a forged line never reads elsewhere).
const FILE_CHOICES: &[&str] = &["env-file", "mappings", "allow-read"];

/// The folder of the first compose file (the current folder for standard input), as typed.
fn compose_folder(args: &GenerateArgs) -> PathBuf {
    let first = args.compose.first().or(args.files.first()).filter(|p| p.as_os_str() != "-");
    first.and_then(|p| p.parent()).unwrap_or(Path::new("")).to_path_buf()
}

fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    compose2dify::read::paths::normalize(&cwd.join(path))
}

/// A choice as GENERATED.md records it: a file choice relative to the compose file's folder when it
/// is inside it, absolute otherwise.
fn as_recorded(choice: &Choice, home: &Path) -> Choice {
    match &choice.value {
        Some(v) if FILE_CHOICES.contains(&choice.long.as_str()) => {
            let path = absolute(Path::new(v));
            let value = match path.strip_prefix(home) {
                Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => path.to_string_lossy().into_owned(),
            };
            Choice { long: choice.long.clone(), value: Some(value) }
        }
        _ => choice.clone(),
    }
}

/// A recorded choice as a command line gives it (a file choice joined to the compose file's folder
/// as typed, so the inputs are named as the first run named them).
fn as_given(choice: &Choice, folder: &Path) -> Choice {
    match &choice.value {
        Some(v) if FILE_CHOICES.contains(&choice.long.as_str()) => {
            Choice { long: choice.long.clone(), value: Some(folder.join(v).to_string_lossy().into_owned()) }
        }
        _ => choice.clone(),
    }
}

/// A recorded file choice is replayed only when it reads inside the compose file's folder and the
/// file is there: `--allow-read` (which widens what a run reads) and a path outside must be given
/// on the command line again; a file the new release's folder lacks is said, not read elsewhere.
fn replayable(choice: &Choice, home: &Path, generated: &Path) -> Result<(), Error> {
    let Some(value) = choice.value.as_deref().filter(|_| FILE_CHOICES.contains(&choice.long.as_str())) else {
        return Ok(());
    };
    let flag = format!("--{} {}", choice.long, compose2dify::text::escape_hidden(value));
    let relative = Path::new(value);
    let inside = relative.is_relative() && !relative.components().any(|c| matches!(c, std::path::Component::ParentDir));
    if choice.long == "allow-read" || !inside {
        return Err(Error::file(
            generated,
            format!("the recorded `{flag}` reads outside the compose file's folder ({}); a recorded choice never does", home.display()),
            format!("give `--{} PATH` on the command line for this run (it is recorded again), or remove that line from GENERATED.md's Choices", choice.long),
        ));
    }
    if !home.join(relative).exists() {
        return Err(Error::file(
            generated,
            format!("the recorded `{flag}` is not in {}", home.display()),
            format!(
                "moving to another release's folder, bring the file along (`compose2dify carry-env OLD NEW` carries .env and envs/**), or give `--{} PATH`",
                choice.long
            ),
        ));
    }
    Ok(())
}

/// Choices that mean something only with one value of another flag: (choice, flag, value).
const ONLY_WITH: &[(&str, &str, &str)] = &[
    ("secret-store", "secrets", "external-secrets"),
    ("secret-store-kind", "secrets", "external-secrets"),
    ("secret-prefix", "secrets", "external-secrets"),
    ("age", "secrets", "sops"),
];

/// The generation flags given on the command line, in the order clap lists them: what GENERATED.md
/// records (one `--flag value` line each) and the next run over the tree starts from.
fn choices(matches: &ArgMatches) -> Vec<Choice> {
    if matches.subcommand().is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for arg in Cli::command().get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_CHOICES.contains(&id) || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(long) = arg.get_long() else { continue };
        match matches.get_raw(id) {
            Some(values) if arg.get_action().takes_values() => {
                for value in values {
                    out.push(Choice { long: long.into(), value: Some(value.to_string_lossy().into_owned()) });
                }
            }
            _ => out.push(Choice { long: long.into(), value: None }),
        }
    }
    out
}

/// The kind of a generation flag, by its long name; None for a flag that is not a choice (a file
/// to read, the output folder, a flag that says how to run) or not a flag at all.
fn choice_kind(cli: &clap::Command, long: &str) -> Option<ChoiceKind> {
    let arg = cli.get_arguments().find(|a| a.get_long() == Some(long))?;
    if NOT_CHOICES.contains(&arg.get_id().as_str()) {
        return None;
    }
    let keyed = arg.get_value_names().is_some_and(|names| names.iter().any(|n| n.contains('=')));
    Some(match arg.get_action() {
        clap::ArgAction::SetTrue => ChoiceKind::Switch,
        clap::ArgAction::Append if keyed => ChoiceKind::Keyed,
        clap::ArgAction::Append => ChoiceKind::Many,
        _ => ChoiceKind::One,
    })
}

/// The choices the tree in `dir` records (its GENERATED.md's Choices), each checked to be one
/// generation flag and its value: a forged line never names a file to read, an output folder or a
/// flag that says how to run. None when the folder holds no GENERATED.md or one that records none.
fn recorded_in(dir: &Path) -> Result<Option<Vec<Choice>>, Error> {
    let generated = dir.join("GENERATED.md");
    if generated.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = compose2dify::read::scope::read_tree_text(&generated, 4 << 20).map_err(|e| {
        Error::file(
            &generated,
            format!("cannot read: {e}"),
            "pass a tree compose2dify generated (-o DIR of an earlier run)",
        )
    })?;
    let Some(lines) = compose2dify::recorded_choices(&text) else { return Ok(None) };
    let cli = Cli::command();
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        let shown = compose2dify::text::escape_hidden(line);
        let choice = Choice::parse(line).map_err(|e| {
            Error::file(
                &generated,
                format!("`{shown}` is not a recorded choice: {e}"),
                "fix or remove that line of ## Choices",
            )
        })?;
        if choice_kind(&cli, &choice.long).is_none_or(|k| (k == ChoiceKind::Switch) != choice.value.is_none()) {
            let known = cli.get_arguments().any(|a| a.get_long() == Some(choice.long.as_str()));
            let what = if known {
                "a recorded choice (one generation flag and its value)"
            } else {
                "a flag of this compose2dify"
            };
            return Err(Error::file(
                &generated,
                format!("`{shown}` is not {what}"),
                "remove that line from GENERATED.md's Choices",
            ));
        }
        out.push(choice);
    }
    Ok(Some(out))
}

/// The run over an existing tree starts from the choices it records: `argv` again with the recorded
/// choices that the command line does not change put before its own words, parsed once more. The
/// changes are said on stderr. Returns the generation flags and the choices to record.
fn with_recorded(
    argv: Vec<std::ffi::OsString>,
    matches: &ArgMatches,
    recorded: Option<Vec<Choice>>,
    out: &Messages,
) -> Result<(GenerateArgs, Vec<String>), Error> {
    let args = GenerateArgs::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
    let folder = compose_folder(&args);
    let home = absolute(&folder);
    let given: Vec<Choice> = choices(matches).iter().map(|c| as_recorded(c, &home)).collect();
    let generated = args.output.join("GENERATED.md");
    let recorded = recorded.unwrap_or_default();
    let cli = Cli::command();
    if args.reset_choices || recorded.is_empty() {
        for choice in recorded.iter().filter(|c| args.reset_choices && !given.contains(c)) {
            out.labelled("choice", "36", &Change::Dropped(choice.clone()).to_string());
        }
        // Parsed strictly now: nothing recorded stands in for a flag that needs another.
        let matches = Cli::command().try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
        let args = GenerateArgs::from_arg_matches(&matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
        return Ok((args, given.iter().map(Choice::line).collect()));
    }
    let (mut kept, mut changes) =
        compose2dify::choices::merge(&recorded, &given, |long| choice_kind(&cli, long).unwrap_or(ChoiceKind::One));
    // A recorded choice that means something only with one value of another flag goes when that
    // flag now has another value.
    let value_of = |long: &str| {
        given.iter().chain(&kept).find(|c| c.long == long).and_then(|c| c.value.clone()).unwrap_or_default()
    };
    let orphaned: Vec<Choice> = kept
        .iter()
        .filter(|c| ONLY_WITH.iter().any(|(only, flag, value)| c.long == *only && value_of(flag) != *value))
        .cloned()
        .collect();
    kept.retain(|c| !orphaned.contains(c));
    changes.extend(orphaned.into_iter().map(Change::Dropped));
    let shown: Vec<String> = kept.iter().map(Choice::line).collect();
    if !kept.is_empty() {
        out.say(&format!("choices: {} kept from {}: {}", kept.len(), generated.display(), shown.join(" ")));
    }
    for change in &changes {
        out.labelled("choice", "36", &change.to_string());
    }
    for choice in &kept {
        replayable(choice, &home, &generated)?;
    }
    let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut again: Vec<std::ffi::OsString> = argv[..1].to_vec();
    again.extend(kept.iter().flat_map(|c| as_given(c, &folder).words()).map(Into::into));
    again.extend(argv[1..split].iter().cloned());
    again.extend(argv[split..].iter().cloned());
    let matches = Cli::command().try_get_matches_from(&again).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        Error::file(
            &generated,
            format!("the choices it records and the command line's do not go together: {first}"),
            "change that flag too on the command line, or add --reset-choices and give every choice again",
        )
    })?;
    let args = GenerateArgs::from_arg_matches(&matches).map_err(|e| Error::usage(e.to_string(), "see --help"))?;
    Ok((args, choices(&matches).iter().map(|c| as_recorded(c, &home).line()).collect()))
}

/// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
fn paint() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What the user asked to see on stderr (`-q`, `-v`), and whether it may be coloured.
struct Messages {
    quiet: bool,
    verbose: bool,
    paint: bool,
}

impl Messages {
    fn say(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn detail(&self, line: &str) {
        if self.verbose {
            eprintln!("{line}");
        }
    }

    /// `label: text`, the label coloured on a terminal. The text may hold input (a name, a value):
    /// control characters are escaped, so it stays one line (a CI log reads `::error …` lines).
    fn labelled(&self, label: &str, colour: &str, text: &str) {
        let text = &*compose2dify::text::escape_hidden(text);
        if self.paint {
            self.say(&format!("\x1b[{colour}m{label}\x1b[0m: {text}"));
        } else {
            self.say(&format!("{label}: {text}"));
        }
    }
}

/// Standard output that ends quietly when the reader has gone (`… | head`), as other CLIs do.
fn print_out(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::usage(format!("cannot write to standard output: {e}"), "check where the output goes")),
    }
}

fn try_main(cli: Cli, matches: &ArgMatches, out: &Messages) -> Result<ExitCode, Error> {
    match cli.command {
        Some(Command::Secrets { dir, apply, new, from_cluster, from_env, kubectl, age_identity }) => {
            if kubectl.is_some() && !apply && !from_cluster {
                return Err(Error::usage(
                    "--kubectl is only run with --apply or --from-cluster",
                    "add --from-cluster (secret.yaml files) or --apply (Secrets in the cluster), or drop --kubectl",
                ));
            }
            let env = from_env.as_deref().map(read_env).transpose()?;
            if !apply {
                let kubectl = from_cluster.then(|| kubectl.unwrap_or_else(|| "kubectl".into()));
                let identity = age_identity
                    .or_else(|| std::env::var_os("SOPS_AGE_KEY_FILE").filter(|v| !v.is_empty()).map(PathBuf::from))
                    .map(|path| {
                        let bytes = compose2dify::read::scope::read_named(&path, 1 << 20)
                            .map_err(|r| Error::file(&path, r.to_string(), r.help()))?;
                        let text = String::from_utf8(bytes).map_err(|_| {
                            Error::file(&path, "is not an age identity file", "pass the file age-keygen wrote")
                        })?;
                        Ok::<_, Error>((path, text))
                    })
                    .transpose()?;
                let sources = secrets::Sources { new, cluster: kubectl, env, identity, ..Default::default() };
                return secrets_command(&dir, sources, out);
            }
            let kubectl = kubectl.unwrap_or_else(|| "kubectl".into());
            let applied = secrets::apply(&dir, &kubectl, env.as_ref())?;
            say_origins(&applied.origins, env.as_ref(), out);
            for s in &applied.kept {
                out.say(&format!("kept    secret {s}"));
            }
            for s in &applied.created {
                out.say(&format!("created secret {s}"));
            }
            for (s, keys) in &applied.added {
                out.say(&format!("added   secret {s}: {}", keys.join(", ")));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Diff(args)) => diff_command(args),
        Some(Command::CarryEnv { old, new }) => {
            let carried = compose2dify::commands::carry::carry(&old, &new)?;
            for c in &carried {
                out.say(&format!("carried {} ({} of your settings)", c.file, c.kept.len() + c.dropped_upstream.len()));
            }
            print_out(&compose2dify::commands::carry::report(&carried))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Upgrade { dir, compose, flags }) => upgrade_command(&dir, &compose, flags, out),
        Some(Command::ImageFacts { image, tag, dir, files }) => image_facts_command(&image, tag, dir, files),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "compose2dify", &mut script);
            print_out(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
        None => generate_command(&cli.generate, matches, out),
    }
}

/// Entry point of `compose2dify upgrade DIR NEW_COMPOSE [FLAGS]`: the main job on another release
/// over a tree that records its choices; a flag after NEW changes only that choice, and a recorded
/// choice that no longer applies is an error.
fn upgrade_command(
    dir: &Path,
    compose: &Path,
    flags: Vec<std::ffi::OsString>,
    out: &Messages,
) -> Result<ExitCode, Error> {
    let mut argv: Vec<std::ffi::OsString> = vec!["compose2dify".into(), compose.into(), "-o".into(), dir.into()];
    argv.extend(flags);
    let matches = parse(&argv).unwrap_or_else(|e| e.exit());
    let args = GenerateArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // -q and -v after NEW count as well as before `upgrade`.
    let inner = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let out = &Messages { quiet: out.quiet || inner.quiet, verbose: out.verbose || inner.verbose, paint: out.paint };
    if args.compose.len() != 1 || !args.files.is_empty() {
        return Err(Error::usage(
            "upgrade takes one compose file, the new release's",
            "name the tree, then the new docker-compose.yaml, then the flags to change",
        ));
    }
    let generated = dir.join("GENERATED.md");
    let Some(recorded) = recorded_in(dir)? else {
        return Err(Error::file(
            &generated,
            "records no choices (not a tree of compose2dify, or made by an older one)",
            "generate it once more with your flags (compose2dify NEW -o DIR …); from then on `upgrade` repeats them",
        ));
    };
    let (args, lines) = with_recorded(argv, &matches, Some(recorded), out)?;
    out.say(&format!(
        "upgrade: {} with {}",
        compose.display(),
        if lines.is_empty() { "no choices".to_string() } else { lines.join(" ") }
    ));
    generate_with(args, lines, true, out)
}

/// Entry point of `compose2dify image-facts IMAGE TAG DIR`: the table line of a tag, from its sources.
fn image_facts_command(image: &str, tag: Option<String>, dir: Option<PathBuf>, files: bool) -> Result<ExitCode, Error> {
    let rules = rules::load(Preset::Dify, None)?;
    let rule = rules.images.get(image).ok_or_else(|| {
        Error::usage(
            format!("`{image}` is not in the image facts table"),
            format!("name one of: {}", rules.images.keys().cloned().collect::<Vec<_>>().join(", ")),
        )
    })?;
    if files {
        print_out(&compose2dify::rules::images::source_files(rule).into_iter().map(|f| f + "\n").collect::<String>())?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(tag), Some(dir)) = (tag, dir) else {
        return Err(Error::usage(
            "image-facts needs a tag and a folder",
            "run `compose2dify image-facts IMAGE TAG DIR`",
        ));
    };
    let mut texts = std::collections::BTreeMap::new();
    for file in compose2dify::rules::images::source_files(rule) {
        let path = dir.join(&file);
        if let Ok(text) = compose2dify::read::scope::read_tree_text(&path, 1 << 20) {
            texts.insert(file, text);
        }
    }
    if texts.is_empty() {
        return Err(Error::file(
            &dir,
            "holds none of the files the table reads",
            "pass the folder of the tag's sources",
        ));
    }
    if compose2dify::rules::images::dockerfile_of(rule, |p| texts.get(p).map(String::as_str)).is_none() {
        return Err(Error::file(
            &dir,
            format!("holds none of the Dockerfiles the table reads ({})", rule.dockerfile.join(", ")),
            "pass the folder of the tag's sources, with its Dockerfile",
        ));
    }
    let (user, facts) = compose2dify::rules::images::detect(rule, |p| texts.get(p).map(String::as_str));
    let reads = match compose2dify::rules::images::detect_reads(rule, |p| texts.get(p).map(String::as_str)) {
        Some(names) => match rule.reads.iter().find(|(_, set)| **set == names) {
            Some((set, _)) => format!(", reads: {set}"),
            None => format!("}}  # a new reads set: [{}]\n", names.into_iter().collect::<Vec<_>>().join(", ")),
        },
        None => String::new(),
    };
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(", facts: [{}]", facts.into_iter().collect::<Vec<_>>().join(", "))
    };
    let line = format!("\"{tag}\": {{user: {}{facts}{reads}", yaml_user(&user.to_string()));
    print_out(&if line.ends_with('\n') { line } else { line + "}\n" })?;
    Ok(ExitCode::SUCCESS)
}

/// A user as the table writes it: `root` bare, ids quoted (`"1001:1001"`).
fn yaml_user(user: &str) -> String {
    if user == "root" {
        user.to_string()
    } else {
        format!("\"{user}\"")
    }
}

/// A compose install's `.env` for `--from-env`, read with the Dify rules' pairs and published
/// defaults.
fn read_env(path: &Path) -> Result<compose2dify::commands::secret_env::EnvValues, Error> {
    let rules = rules::load(Preset::Dify, None)?;
    compose2dify::commands::secret_env::read(path, &rules.secrets.pairs, &rules.secrets.public_values)
}

/// Where this run's values came from, by name (never a value).
fn say_origins(
    origins: &secrets::Origins,
    env: Option<&compose2dify::commands::secret_env::EnvValues>,
    out: &Messages,
) {
    let list = |names: &[String]| names.join(", ");
    if !origins.cluster.is_empty() {
        out.say(&format!("from the cluster: {}", list(&origins.cluster)));
    }
    if let Some(env) = env {
        if !origins.env.is_empty() {
            out.say(&format!("from {}: {}", env.file.display(), list(&origins.env)));
        }
    }
    if !origins.chosen.is_empty() {
        out.say(&format!("from --set: {}", list(&origins.chosen)));
    }
    if !origins.generated.is_empty() {
        let why = match env {
            Some(env) => format!(" ({} leaves them unset, empty or at a published default)", env.file.display()),
            None => String::new(),
        };
        out.say(&format!("generated{why}: {}", list(&origins.generated)));
    }
    if let Some(env) = env {
        let empty: Vec<&str> = env.empty.iter().filter(|k| origins.generated.contains(k)).map(String::as_str).collect();
        if !empty.is_empty() {
            // Dify 1.14.1's api keeps a SECRET_KEY left empty in its storage, as .dify_secret_key
            // (api/configs/secret_key.py, GENERATED_SECRET_KEY_FILENAME).
            let stored = if empty.contains(&"SECRET_KEY") {
                " (Dify 1.14.1 and later keep an empty SECRET_KEY's generated key in the storage folder, volumes/app/storage/.dify_secret_key)"
            } else {
                ""
            };
            out.labelled(
                "note",
                "36",
                &format!(
                    "{} leaves {} empty, so they were generated: if the install made its own value{stored}, put it into the secret files before the first start",
                    env.file.display(),
                    empty.join(", ")
                ),
            );
        }
    }
}

/// Entry point of `compose2dify secrets DIR`.
fn secrets_command(dir: &Path, sources: secrets::Sources, out: &Messages) -> Result<ExitCode, Error> {
    if let Some(recipients) = secrets::sops_recipients(dir) {
        out.say(&format!(
            "secrets: encrypted to the age recipients {} records: {}",
            dir.join("GENERATED.md").display(),
            recipients.join(", ")
        ));
    }
    let report = secrets::setup_from(dir, &sources)?;
    for p in &report.resealed {
        out.say(&format!("sealed again to the recipients: {}", p.display()));
    }
    if !report.reseal_needed.is_empty() {
        out.labelled(
            "warning",
            "33",
            &format!(
                "{} file(s) are encrypted to other age recipients than the tree names (one was added or removed), e.g. {}: run again with --age-identity FILE (or SOPS_AGE_KEY_FILE) to seal them to the new set",
                report.reseal_needed.len(),
                report.reseal_needed[0].display()
            ),
        );
    }
    for p in &report.kept {
        out.say(&format!("kept    {}", p.display()));
    }
    for p in &report.created {
        out.say(&format!("created {}", p.display()));
    }
    for (p, keys) in &report.added {
        out.say(&format!("added   {}: {}", p.display(), keys.join(", ")));
    }
    say_origins(&report.origins, sources.env.as_ref(), out);
    if !report.differ_from_cluster.is_empty() {
        out.labelled(
            "warning",
            "33",
            &format!(
                "the secret.yaml files here keep values that differ from the cluster's for: {} (applying them changes the live passwords; remove those files and run again with --from-cluster to take the cluster's)",
                report.differ_from_cluster.join(", ")
            ),
        );
    }
    for (p, keys) in &report.stale {
        out.labelled(
            "note",
            "36",
            &format!(
                "{} keeps keys its .example no longer has (remove them when done): {}",
                p.display(),
                keys.join(", ")
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Entry point of `compose2dify diff OLD NEW`: both folders are read as generation reads them.
fn diff_command(args: DiffArgs) -> Result<ExitCode, Error> {
    let rules = rules::load(args.preset, args.mappings.as_deref())?;
    let expected = expected_compose(&rules);
    let read = |compose: PathBuf| {
        upstream::load(&upstream::Options {
            compose,
            expected: expected.clone(),
            checkout_files: compose2dify::rules::images::checkout_files(&rules.images),
            ..Default::default()
        })
    };
    let old = read(args.old)?;
    let new = read(args.new)?;
    print_out(&compose2dify::commands::diff::report(&old, &new, &rules)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Entry point of the main job: read upstream, plan, emit, write or check. Over an existing tree,
/// the run starts from the choices it records.
fn generate_command(args: &GenerateArgs, matches: &ArgMatches, out: &Messages) -> Result<ExitCode, Error> {
    refuse_mistyped_command(args)?;
    let recorded = if args.output.as_os_str() == "-" { None } else { recorded_in(&args.output)? };
    let (args, lines) = with_recorded(std::env::args_os().collect(), matches, recorded, out)?;
    generate_with(args, lines, false, out)
}

/// `compose2dify upgarde …` names no file: say which command was meant, rather than that the file
/// `upgarde` does not exist.
fn refuse_mistyped_command(args: &GenerateArgs) -> Result<(), Error> {
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
fn generate_with(
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
type SecretSets = std::collections::BTreeMap<String, String>;

fn without_secret_sets(
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
                secret.insert(format!("CHANGE_ME_{canonical}"), value);
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
fn url_passwords_out(
    set: &mut [(String, String)],
    recorded: Vec<String>,
    rules: &rules::Rules,
    secret: &mut SecretSets,
) -> Result<Vec<String>, Error> {
    let mut rewritten: Vec<(String, String)> = Vec::new();
    for (key, value) in set.iter_mut() {
        let Some((a, b)) = compose2dify::plan::url_with_credentials(value) else { continue };
        let password = value[a..b].to_string();
        if password.starts_with("CHANGE_ME_") {
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
fn refuse_invented_secrets(dir: &Path) -> Result<(), Error> {
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
fn secret_files_with(dir: &Path, sets: &SecretSets, out: &Messages) -> Result<(), Error> {
    let report = secrets::setup_with(dir, sets)?;
    for p in &report.created {
        out.say(&format!("created {}", p.display()));
    }
    if !report.kept.is_empty() || !report.added.is_empty() {
        out.labelled("note", "36", "existing secret.yaml files keep their values; change a secret there");
    }
    Ok(())
}

/// The compose file the rules are for, as an error's help names it (`Dify's
/// docker/docker-compose.yaml`); none for the generic preset.
fn expected_compose(rules: &rules::Rules) -> Option<String> {
    match (&rules.guide.product, &rules.guide.compose_file) {
        (Some(product), Some(file)) => Some(format!("{product}'s {file}")),
        (Some(product), None) => Some(format!("{product}'s compose file")),
        _ => None,
    }
}

/// What to read: the compose files (the first, or standard input, and those merged over it), the
/// env file, `--set`s and profiles.
fn read_options(args: &mut GenerateArgs) -> Result<upstream::Options, Error> {
    let mut files =
        if args.files.is_empty() { std::mem::take(&mut args.compose) } else { std::mem::take(&mut args.files) };
    if files.is_empty() {
        return Err(Error::usage(
            "no compose file given",
            "run `compose2dify path/to/docker/docker-compose.yaml -o k8s`",
        ));
    }
    let compose = files.remove(0);
    if files.iter().any(|f| f.as_os_str() == "-") || (compose.as_os_str() == "-" && !files.is_empty()) {
        return Err(Error::usage(
            "`-` (standard input) can only be the one compose file",
            "write the piped file to disk to merge it with others",
        ));
    }
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
    let stdin = if compose.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
            Error::usage(format!("cannot read the compose file from standard input: {e}"), "pipe a compose file in")
        })?;
        Some(bytes)
    } else {
        None
    };
    let compose = if stdin.is_some() { PathBuf::from("<stdin>") } else { compose };
    Ok(upstream::Options {
        compose,
        more: files,
        find_override: !args.no_override,
        env_file: args.env_file.take(),
        allow_read: std::mem::take(&mut args.allow_read),
        set,
        derived: Vec::new(),
        profiles: (!args.profiles.is_empty()).then(|| std::mem::take(&mut args.profiles)),
        stdin,
        expected: None,
        checkout_files: Default::default(),
    })
}

/// `--gateway [NAMESPACE/]NAME` and the flags that go with it; the route's host name is that of
/// `--public-url`, else `--ingress-host` (none for an IP address: the route then matches any host).
fn gateway_choice(args: &mut GenerateArgs) -> Option<rules::GatewayRule> {
    let gateway = args.gateway.take()?;
    let (namespace, name) = match gateway.split_once('/') {
        Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
        None => (None, gateway),
    };
    let from_url = args.public_url.as_deref().and_then(|u| u.split_once("://")).map(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_ascii_lowercase()
    });
    let hostname = from_url
        .or_else(|| args.ingress_host.clone())
        .filter(|h| compose2dify::names::is_dns_subdomain(h) && h.parse::<std::net::Ipv4Addr>().is_err());
    let sources = std::mem::take(&mut args.gateway_sources);
    // A data plane outside the cluster comes from its addresses, not from a namespace.
    let data_plane_namespace =
        args.gateway_namespace.take().or_else(|| namespace.clone().filter(|_| sources.is_empty()));
    Some(rules::GatewayRule {
        name,
        namespace,
        section: args.gateway_section.take(),
        class: args.gateway_class.take(),
        tls_secret: args.gateway_tls_secret.take(),
        data_plane_namespace,
        sources,
        hostname,
    })
}

/// What the way in means for the entry point, on stderr: behind an Ingress or a route its Service
/// is ClusterIP unless `--expose` says otherwise; ingress-nginx is retired.
fn say_way_in(choices: &Choices, out: &Messages) {
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

/// Whether a CIDR's address has bits set past its prefix (`10.0.0.1/8`).
fn has_host_bits(cidr: &str) -> bool {
    let Some((address, bits)) = cidr.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u32>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if bits <= 32 => u32::from(a).checked_shl(bits).unwrap_or(0) != 0,
        Ok(std::net::IpAddr::V6(a)) if bits <= 128 => u128::from(a).checked_shl(bits).unwrap_or(0) != 0,
        _ => false,
    }
}

/// `--ingress-annotation KEY=VALUE`s.
fn ingress_annotations(args: &GenerateArgs) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut annotations = std::collections::BTreeMap::new();
    for item in &args.ingress_annotations {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::usage(
                format!("--ingress-annotation `{item}` is not KEY=VALUE"),
                "write it as --ingress-annotation nginx.ingress.kubernetes.io/proxy-body-size=100m",
            )
        })?;
        annotations.insert(k.to_string(), v.to_string());
    }
    Ok(annotations)
}

/// `--service-account-annotation WORKLOAD:KEY=VALUE`, split: (workload, key, value).
fn service_account_annotations(args: &GenerateArgs) -> Result<Vec<(String, String, String)>, Error> {
    args.service_account_annotations
        .iter()
        .map(|item| {
            item.split_once(':')
                .and_then(|(w, kv)| kv.split_once('=').map(|(k, v)| (w.to_string(), k.to_string(), v.to_string())))
                .filter(|(w, k, _)| !w.is_empty() && !k.is_empty())
                .ok_or_else(|| {
                    Error::usage(
                        format!("--service-account-annotation `{item}` is not WORKLOAD:KEY=VALUE"),
                        "write it as --service-account-annotation api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify",
                    )
                })
        })
        .collect()
}

/// The project, read once with the public URL's settings (when `--public-url` or `--ingress-host`
/// gives one) and the rules' in-cluster addresses (`internal_url`): the reader sets each where the
/// release has the setting and no `--set` names it. Without a public URL, a note when a
/// browser-facing setting points at localhost.
fn read_with_public_url(
    args: &GenerateArgs,
    mut opts: upstream::Options,
    rules: &rules::Rules,
    out: &Messages,
) -> Result<compose2dify::read::project::Project, Error> {
    let scheme = if args.ingress_tls_secret.is_some() { "https" } else { "http" };
    let public_url = args.public_url.clone().or_else(|| args.ingress_host.as_ref().map(|h| format!("{scheme}://{h}")));
    // A URL that is not one is refused once the inputs are read, after the warning that the rules
    // have no use for it.
    let (public, bad_url) = match public_url.as_deref().map(|url| rules.public_settings(url)) {
        Some(Err(e)) => (Vec::new(), Some(e)),
        Some(Ok(settings)) => (settings, None),
        None => (Vec::new(), None),
    };
    opts.derived = public;
    opts.derived.extend(rules.internal_url.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut project = upstream::load(&opts)?;
    if public_url.is_some() && rules.public_url.is_empty() {
        out.labelled(
            "warning",
            "33",
            "--public-url changes nothing: the rules name no public-URL settings (`public_url` in a --mappings file)",
        );
    }
    if let Some(e) = bad_url {
        return Err(e);
    }
    let localhost =
        || rules.public_url.keys().find(|k| project.env.get(*k).is_some_and(|v| v.contains("://localhost")));
    if let Some(key) = public_url.is_none().then(localhost).flatten().cloned() {
        project.notes.push(format!(
            "{key} and other browser-facing settings point at localhost; pass --public-url https://<your domain> (see the tree's README, Public URL)"
        ));
    }
    Ok(project)
}

/// The override file merged (every run), the notes about the inputs (the first run, or with
/// --verbose), and every warning.
fn say_notes_and_warnings(
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

/// `upgrade` refuses a recorded choice that changes nothing; `--strict` refuses any warning.
fn refuse_warnings(plan: &compose2dify::plan::Plan, upgrade: bool, strict: bool) -> Result<(), Error> {
    let dropped: Vec<&str> = plan
        .warnings
        .iter()
        .filter(|w| w.kind == compose2dify::warning::WarningKind::UnusedChoice)
        .map(|w| w.text.as_str())
        .collect();
    if upgrade && !dropped.is_empty() {
        return Err(Error::usage(
            format!("a recorded choice no longer applies to this release: {}", dropped.join("; ")),
            "remove or change that line of the tree's GENERATED.md (## Choices), then run upgrade again",
        ));
    }
    if strict && !plan.warnings.is_empty() {
        return Err(Error::usage(
            format!("{} warning(s) with --strict", plan.warnings.len()),
            "cover the services and keys named above in a rules file (--mappings), or drop --strict",
        ));
    }
    Ok(())
}

/// Refuses to move an image of the tree on disk to an older tag, or from a release to a
/// pre-release. When the release itself moves forward, an image its compose file moves back is
/// upstream's own choice: said, not refused.
fn refuse_downgrade(plan: &compose2dify::plan::Plan, out: &Path, messages: &Messages) -> Result<(), Error> {
    let old = write::images_on_disk(out);
    let mut backwards: Vec<(String, String)> = Vec::new();
    for new in plan.workloads.iter().map(|w| w.image.as_str()) {
        for before in &old {
            if let Some(how) = compose2dify::commands::diff::backwards(Some(before), Some(new)) {
                let line = format!("{before} → {new} ({how})");
                if !backwards.iter().any(|(l, _)| *l == line) {
                    backwards.push((line, new.to_string()));
                }
            }
        }
    }
    if backwards.is_empty() {
        return Ok(());
    }
    // The release's own image (the one whose tag names the release) decides who moved.
    let release_image = plan.workloads.iter().map(|w| w.image.as_str()).find(|i| {
        compose2dify::plan::image_tag(i).is_some() && compose2dify::plan::image_tag(i) == plan.release.as_deref()
    });
    let release_moves_back = release_image.is_none_or(|r| backwards.iter().any(|(_, new)| new == r));
    let lines: Vec<&str> = backwards.iter().map(|(l, _)| l.as_str()).collect();
    if !release_moves_back {
        messages.labelled(
            "warning",
            "33",
            &format!(
                "release {} moves image(s) back itself (its compose file names them): {}; read its release notes before you apply",
                plan.release.as_deref().unwrap_or("?"),
                lines.join(", ")
            ),
        );
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{} would move image(s) to an older tag or to a pre-release: {}; data written by a newer server may not be readable by an older one, and a pre-release may not be upgradable to the next release",
            out.display(),
            lines.join(", ")
        ),
        "check that this is the release you meant; to go there on purpose (say, after restoring a backup made with that release), add --allow-downgrade",
    ))
}

/// Refuses a change the cluster cannot apply in place (with `--check`, says it), naming each object,
/// its field and the steps that make it safe.
fn refuse_recreate(tree: &compose2dify::tree::Tree, dir: &Path, check: bool, out: &Messages) -> Result<(), Error> {
    let found = compose2dify::tree::immutable::changes(&write::yaml_on_disk(dir), tree);
    if found.is_empty() {
        return Ok(());
    }
    if check {
        for r in &found {
            out.labelled("warning", "33", &format!("Kubernetes cannot change this in place: {r}"));
        }
        return Ok(());
    }
    let lines: Vec<String> = found.iter().map(|r| format!("\n  - {r}")).collect();
    Err(Error::usage(
        format!(
            "{} would change what Kubernetes cannot change in place, so the next apply fails (or a claim starts empty):{}",
            dir.display(),
            lines.concat()
        ),
        "take the steps named for each object, then run again with --allow-recreate; or keep the old value (the flag that set it, or --reset-choices to see the recorded ones)",
    ))
}

/// The tree to standard output (`-o -`), compared with the folder (`--check`: exit 1 when out of
/// date), or written into it.
fn deliver(
    tree: &compose2dify::tree::Tree,
    args: &GenerateArgs,
    workloads: usize,
    out: &Messages,
) -> Result<ExitCode, Error> {
    if args.output.as_os_str() == "-" {
        if args.check {
            return Err(Error::usage(
                "--check compares with a folder, not with `-o -`",
                "pass the tree's folder to -o",
            ));
        }
        let objects = tree.objects();
        // A config file may hold a token its pod fills at start; only a Secret's are left to the user.
        let placeholders: usize = objects
            .split("\n---\n")
            .filter(|doc| doc.lines().any(|l| l == "kind: Secret"))
            .map(|doc| compose2dify::commands::secrets::tokens(doc).len())
            .sum();
        if placeholders > 0 {
            out.labelled(
                "warning",
                "33",
                &format!(
                    "the printed Secrets hold {} (CHANGE_ME_…), not secrets: write a tree with -o DIR and fill it with `compose2dify secrets DIR`, or replace them before you apply",
                    plural(placeholders, "placeholder")
                ),
            );
        }
        print_out(&objects)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        return Ok(match write::check(tree, &args.output) {
            None => {
                out.say(&format!("{} is up to date", args.output.display()));
                ExitCode::SUCCESS
            }
            Some(diff) => {
                print_out(&diff)?;
                out.say(&format!("{} is out of date: re-run without --check to update it", args.output.display()));
                ExitCode::from(1)
            }
        });
    }
    let outcome = write::write(tree, &args.output)?;
    out.say(&format!(
        "wrote {}: {}, {} changed, {} unchanged, {} removed",
        args.output.display(),
        plural(workloads, "workload"),
        plural(outcome.written, "file"),
        outcome.unchanged,
        outcome.removed.len()
    ));
    for file in &outcome.changed {
        out.detail(&format!("wrote   {file}"));
    }
    for r in &outcome.removed {
        out.say(&format!("removed {r}"));
    }
    for line in &outcome.ignored {
        out.labelled(
            "warning",
            "33",
            &format!(
                "{} names {}, which compose2dify never writes: the line is ignored (remove it)",
                write::MANIFEST,
                compose2dify::text::escape_hidden(line)
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the Secrets come from, said on the first write (the choice matters before anyone commits),
/// and the step still to take on every write that leaves one.
fn say_secret_step(
    source: &rules::SecretSource,
    tree: &compose2dify::tree::Tree,
    dir: &Path,
    first_run: bool,
    out: &Messages,
) {
    let none_yet = secrets::no_secret_files(dir);
    let missing = tree
        .files
        .keys()
        .filter_map(|f| f.strip_suffix(".example"))
        .filter(|f| f.ends_with("secret.yaml") && !dir.join(f).exists())
        .count();
    let dir = compose2dify::error::display_path(dir);
    let next = match source {
        rules::SecretSource::Files => {
            if first_run {
                out.labelled(
                    "secrets",
                    "36",
                    "this tree keeps its Secrets in secret.yaml files that git ignores (--secrets files, the default): whoever applies the tree keeps them, and a fresh clone cannot build without them. For a team or GitOps, choose where they live now: --secrets external (created in the cluster), external-secrets (a store) or sops (encrypted in git) — see the tree's README, Secrets",
                );
            }
            if none_yet {
                format!(
                    "choose where the Secrets' values come from: `compose2dify secrets {dir} --new` (a first install), `--from-cluster` (a clone of an installed tree) or `--from-env docker/.env` (moving from Docker Compose)"
                )
            } else if missing > 0 {
                format!(
                    "`compose2dify secrets {dir}` adds the {} this tree still lacks (the values of the others are kept)",
                    plural(missing, "secret.yaml file")
                )
            } else {
                return;
            }
        }
        rules::SecretSource::Sops { .. } if none_yet => format!(
            "write the encrypted secret files: `compose2dify secrets {dir} --new` (a first install; --from-cluster or --from-env docker/.env otherwise), commit the secret.sops.yaml files, and give Flux the age key (see the tree's README, Secrets)"
        ),
        rules::SecretSource::External if first_run => format!(
            "make the Secrets in the cluster before the first apply: `compose2dify secrets {dir} --apply` (add --from-env docker/.env when moving from Docker Compose)"
        ),
        rules::SecretSource::ExternalSecrets { store, .. } if first_run => {
            format!("put every remote key the tree's README lists (Secrets) into the store `{store}` before the first apply")
        }
        _ => return,
    };
    out.labelled("next", "36", &next);
}

/// `1 file`, `2 files`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
