//! The command line's arguments as clap reads them: the main command's flags and each subcommand's.

use clap::{Args, Parser, Subcommand};
use compose2dify::rules::Preset;
use std::path::PathBuf;

pub(crate) const EXAMPLES: &str = "Examples:
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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) generate: GenerateArgs,
    /// Print only errors (and, with --check, the diff).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Also print every note on every run and each file written or removed.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
pub(crate) struct DiffArgs {
    /// The old release's docker/docker-compose.yaml.
    pub(crate) old: PathBuf,
    /// The new release's docker/docker-compose.yaml.
    pub(crate) new: PathBuf,
    /// Rules to judge coverage and secrets by.
    #[arg(long, value_enum, default_value_t = Preset::Dify)]
    pub(crate) preset: Preset,
    /// A rules file layered over the preset.
    #[arg(long, value_name = "FILE")]
    pub(crate) mappings: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    /// Dify's docker/docker-compose.yaml (with .env or .env.example beside it); `-` reads it from
    /// standard input, with the current folder as its folder. More files are merged over it in
    /// order, with compose's merge rules; relative paths in every file are read from the first one's
    /// folder.
    pub(crate) compose: Vec<PathBuf>,
    /// A compose file (repeatable, as `docker compose -f` and `kompose -f`): the same as naming the
    /// files as arguments.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "compose")]
    pub(crate) files: Vec<PathBuf>,
    /// With a single compose file, do not merge the `compose.override.yaml` /
    /// `docker-compose.override.yaml` beside it (which `docker compose` merges in that folder).
    #[arg(long)]
    pub(crate) no_override: bool,
    /// Output folder; `-` prints every object of the tree to standard output and writes nothing.
    #[arg(short, long, default_value = "k8s")]
    pub(crate) output: PathBuf,
    /// Write into a folder that holds files but no tree of compose2dify (no .compose2dify-manifest).
    #[arg(long)]
    pub(crate) force: bool,
    /// Read variables from this file instead of .env / .env.example beside the compose file.
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Option<PathBuf>,
    /// Also read files (env files, includes, bind-mounted files) below this folder; by default only
    /// the compose file's own folder is read. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub(crate) allow_read: Vec<PathBuf>,
    /// Override a variable of the env source before interpolation (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
    /// Activate this compose profile instead of COMPOSE_PROFILES (repeatable).
    #[arg(long = "profile", value_name = "NAME")]
    pub(crate) profiles: Vec<String>,
    /// Rules to use.
    #[arg(long, value_enum, default_value_t = Preset::Dify)]
    pub(crate) preset: Preset,
    /// A rules file layered over the preset.
    #[arg(long, value_name = "FILE")]
    pub(crate) mappings: Option<PathBuf>,
    /// Language of the generated README.
    #[arg(long, value_parser = ["en", "ja"], default_value = "en")]
    pub(crate) lang: String,
    /// Compare with the tree on disk instead of writing: exit 0 up to date, 1 with a diff.
    #[arg(long)]
    pub(crate) check: bool,
    /// Treat warnings (untranslated keys, unknown services, image tags whose facts are assumed) as
    /// errors.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Let an image move to an older tag, or from a release to a pre-release, over an existing tree
    /// (refused without it: data written by a newer server may not be readable by an older one).
    #[arg(long)]
    pub(crate) allow_downgrade: bool,
    /// Start from no choices instead of the ones the tree on disk records (GENERATED.md); the ones
    /// left out are printed.
    #[arg(long)]
    pub(crate) reset_choices: bool,
    /// Write a change that Kubernetes cannot apply in place (a claim's StorageClass, a StatefulSet's
    /// claim templates, a Service's clusterIP, a Job's template, …); refused without it, with the
    /// steps that make it safe.
    #[arg(long)]
    pub(crate) allow_recreate: bool,
    /// Run this service outside the cluster (repeatable): `postgres`, `redis`, `weaviate`, … Its
    /// workload, claims and policies are left out; point its settings at your server with --set.
    #[arg(long, value_name = "SERVICE")]
    pub(crate) external: Vec<String>,
    /// Service type of the entry point (nginx).
    #[arg(long, value_name = "TYPE", value_parser = ["ClusterIP", "NodePort", "LoadBalancer"])]
    pub(crate) expose: Option<String>,
    /// Add an Ingress for this host name in front of the entry point.
    #[arg(long, value_name = "HOST")]
    pub(crate) ingress_host: Option<String>,
    /// TLS for the Ingress from this Secret (type kubernetes.io/tls, in the app's namespace).
    #[arg(long, value_name = "SECRET", requires = "ingress_host")]
    pub(crate) ingress_tls_secret: Option<String>,
    /// IngressClass of the Ingress (default: the cluster's default class). With `nginx`, the body
    /// size and proxy timeouts follow the release's own nginx settings.
    #[arg(long, value_name = "CLASS", requires = "ingress_host")]
    pub(crate) ingress_class: Option<String>,
    /// Namespace of every object (default: the rules', `dify`); nginx's upstream names follow.
    #[arg(long, value_name = "NAME")]
    pub(crate) namespace: Option<String>,
    /// The cluster's DNS domain (default `cluster.local`); nginx's upstream and resolver names follow.
    #[arg(long, value_name = "DOMAIN")]
    pub(crate) cluster_domain: Option<String>,
    /// The address users type in their browser (`https://dify.example.com`): every setting that
    /// sends a browser, webhook caller or plugin somewhere takes it (default with --ingress-host:
    /// that host). A --set of one of them wins.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// An annotation of the Ingress (repeatable); it wins over the annotations derived from settings.
    #[arg(long = "ingress-annotation", value_name = "KEY=VALUE", requires = "ingress_host")]
    pub(crate) ingress_annotations: Vec<String>,
    /// Add a Gateway API HTTPRoute that attaches to this Gateway (`NAME` in the app's namespace, or
    /// `NAMESPACE/NAME`); its host name comes from --public-url (or --ingress-host).
    #[arg(long, value_name = "[NAMESPACE/]NAME")]
    pub(crate) gateway: Option<String>,
    /// The Gateway's listener the route attaches to (its sectionName; default: every listener).
    #[arg(long, value_name = "LISTENER", requires = "gateway")]
    pub(crate) gateway_section: Option<String>,
    /// Also write the Gateway, of this GatewayClass, with an HTTP listener (and an HTTPS one with
    /// --gateway-tls-secret).
    #[arg(long, value_name = "CLASS", requires = "gateway")]
    pub(crate) gateway_class: Option<String>,
    /// TLS for the created Gateway's HTTPS listener from this Secret (type kubernetes.io/tls, in the
    /// app's namespace).
    #[arg(long, value_name = "SECRET", requires = "gateway_class")]
    pub(crate) gateway_tls_secret: Option<String>,
    /// Namespace of the Gateway's data plane, which nginx's NetworkPolicy admits (default: the
    /// Gateway's namespace).
    #[arg(long, value_name = "NAMESPACE", requires = "gateway")]
    pub(crate) gateway_namespace: Option<String>,
    /// An address block (CIDR) of a data plane outside the cluster, which nginx's NetworkPolicy
    /// admits (repeatable): your VPC's for an AWS ALB, Google's proxies' for GKE. Without
    /// --gateway-namespace, no namespace is admitted then.
    #[arg(long = "gateway-source", value_name = "CIDR", requires = "gateway")]
    pub(crate) gateway_sources: Vec<String>,
    /// StorageClass of every ReadWriteOnce claim; "" (the default) is the cluster's default class.
    #[arg(long, value_name = "NAME")]
    pub(crate) storage_class: Option<String>,
    /// StorageClass of the ReadWriteMany claim (dify-storage): a shared file system (EFS, Azure
    /// Files, Filestore, NFS, CephFS); "" is the cluster's default class. Object storage
    /// (--set STORAGE_TYPE=s3) needs none.
    #[arg(long, value_name = "NAME")]
    pub(crate) rwx_storage_class: Option<String>,
    /// Where Secrets come from: `files` (secret.yaml from templates, git-ignored), `sops`
    /// (secret.sops.yaml encrypted to --age recipients, committed), `external` (created in the cluster
    /// with `compose2dify secrets DIR --apply`; the tree only names them) or `external-secrets`
    /// (ExternalSecret objects reading --secret-store).
    #[arg(long, value_name = "MODE", default_value = "files", value_parser = ["files", "external", "external-secrets", "sops"])]
    pub(crate) secrets: String,
    /// With --secrets sops: an age recipient (`age1…`) the secret.sops.yaml files are encrypted to
    /// (repeatable); give your Flux cluster's key and your team's.
    #[arg(long = "age", value_name = "RECIPIENT")]
    pub(crate) age: Vec<String>,
    /// The external-secrets.io store the ExternalSecrets read from.
    #[arg(long, value_name = "NAME")]
    pub(crate) secret_store: Option<String>,
    /// Kind of that store.
    #[arg(long, value_name = "KIND", default_value = "SecretStore", value_parser = ["SecretStore", "ClusterSecretStore"])]
    pub(crate) secret_store_kind: String,
    /// The cluster's pod address range (repeatable): never reached by the egress-fenced workloads or
    /// through the SSRF proxy (EKS: the VPC's range; GKE: the pod range; AKS: 10.244.0.0/16).
    #[arg(long = "cluster-cidr", value_name = "CIDR")]
    pub(crate) cluster_cidrs: Vec<String>,
    /// The cluster's Service address range (repeatable), likewise (EKS: 10.100.0.0/16 or
    /// 172.20.0.0/16; GKE: 34.118.224.0/20; AKS: 10.0.0.0/16).
    #[arg(long = "service-cidr", value_name = "CIDR")]
    pub(crate) service_cidrs: Vec<String>,
    /// An address range the egress-fenced workloads and the SSRF proxy may reach although it is
    /// private (repeatable): a model endpoint or database in your network.
    #[arg(long = "allow-egress", value_name = "CIDR")]
    pub(crate) allow_egress: Vec<String>,
    /// Remote keys are this prefix and the variable's name (`dify/DB_PASSWORD`).
    #[arg(long, value_name = "PREFIX", default_value = "dify/")]
    pub(crate) secret_prefix: String,
    /// The production profile: at least two replicas, a PodDisruptionBudget and topology spread for
    /// every stateless workload (the rules' `ha`); the scheduler and the data stores stay single.
    #[arg(long)]
    pub(crate) ha: bool,
    /// A HorizontalPodAutoscaler (CPU) for api, web, worker and sandbox (the rules' `autoscale`);
    /// implies --ha. Needs metrics-server in the cluster.
    #[arg(long)]
    pub(crate) autoscale: bool,
    /// Pull every image from this registry (`HOST[:PORT][/PATH]`): the image's own registry is
    /// dropped, Docker Hub's official images become `library/NAME`, tags and digests are kept.
    #[arg(long, value_name = "HOST[/PATH]")]
    pub(crate) registry: Option<String>,
    /// An annotation of a workload's ServiceAccount (repeatable), for IRSA or Workload Identity:
    /// `api:eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/dify`.
    #[arg(long = "service-account-annotation", value_name = "WORKLOAD:KEY=VALUE")]
    pub(crate) service_account_annotations: Vec<String>,
}
