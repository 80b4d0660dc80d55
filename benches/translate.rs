//! End to end in process for the newest vendored release, and per stage.
//! Run: `cargo bench --bench translate`. CI builds it (`cargo bench --no-run`).
//!
//! Building objects and serializing them are one step inside `emit::emit` (each file's objects are
//! serialized as they are built, by private builders); only the network policies are built by a
//! public function, so they are the stage measured as build and serialize apart.

use std::path::PathBuf;

use compose2dify::choices::Choices;
use compose2dify::guide::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{emit, generate, plan, read::dotenv, read::interpolate, read::upstream, read::yaml, tree, Settings};
use criterion::{criterion_group, criterion_main, Criterion};
use yaml_serde::Value;

fn newest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose/dify-1.14.1/docker-compose.yaml")
}

/// Every string of the compose file that interpolation reads (those with a `$`).
fn dollar_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('$') => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| dollar_strings(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| dollar_strings(v, out)),
        Value::Tagged(t) => dollar_strings(&t.value, out),
        _ => {}
    }
}

fn stages(c: &mut Criterion) {
    let opts = upstream::Options { compose: newest(), ..Default::default() };
    let rules = rules::load(Preset::Dify, None).expect("rules");
    let project = upstream::load(&opts).expect("load");
    let planned = plan::plan(&project, &rules, &Choices::default()).expect("plan");
    let compose_text = std::fs::read_to_string(newest()).expect("compose");
    let env_text = std::fs::read_to_string(newest().with_file_name(".env.example")).expect(".env.example");
    let mut strings = Vec::new();
    dollar_strings(&yaml::parse(&newest(), &compose_text, "compose file").expect("yaml"), &mut strings);

    c.bench_function("1.14.1/end-to-end (read, plan, emit, no disk writes)", |b| {
        b.iter(|| {
            let project = upstream::load(&opts).expect("load");
            generate(&project, &rules, Settings { lang: Lang::En, ..Default::default() }).expect("generate")
        })
    });
    c.bench_function("1.14.1/read (yaml, merge, interpolate, env files)", |b| {
        b.iter(|| upstream::load(&opts).expect("load"))
    });
    c.bench_function("1.14.1/read: yaml and merge keys only", |b| {
        b.iter(|| yaml::parse(&newest(), &compose_text, "compose file").expect("yaml"))
    });
    c.bench_function("1.14.1/read: env source (.env.example parse and expand)", |b| {
        b.iter(|| {
            let entries = dotenv::parse(&env_text).expect("parse");
            dotenv::expand(&entries, &|_| None, &|_| None).expect("expand")
        })
    });
    c.bench_function("1.14.1/read: interpolate every ${...} string of the compose file", |b| {
        let lookup = |k: &str| project.env.get(k).cloned();
        b.iter(|| {
            strings
                .iter()
                .map(|s| interpolate::interpolate(s, &lookup).expect("interpolate").value.len())
                .sum::<usize>()
        })
    });
    c.bench_function("rules/load (preset dify)", |b| b.iter(|| rules::load(Preset::Dify, None).expect("rules")));
    c.bench_function("1.14.1/plan", |b| b.iter(|| plan::plan(&project, &rules, &Choices::default()).expect("plan")));
    c.bench_function("1.14.1/emit+serialize", |b| {
        b.iter(|| {
            let mut t = tree::Tree::default();
            emit::emit(&planned, &mut t);
            t
        })
    });
    c.bench_function("1.14.1/network policies: build objects", |b| b.iter(|| emit::network_policies(&planned)));
    let policies = emit::network_policies(&planned);
    c.bench_function("1.14.1/network policies: serialize", |b| b.iter(|| emit::to_yaml(&policies)));
}

criterion_group!(benches, stages);
criterion_main!(benches);
