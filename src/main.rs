//! The command line. Exit codes: 0 done (or up to date), 1 `--check` found drift, 2 refused input.

mod cli;

use cli::{args::*, diff::*, generate::*, image_facts::*, messages::*, recorded::*, secrets::*, upgrade::*};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use compose2dify::commands::secrets;
use compose2dify::error::Error;

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
