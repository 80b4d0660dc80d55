//! End to end in process for the newest vendored release, and per stage.
//! Run: `cargo bench`. CI builds it (`cargo bench --no-run`).

use std::path::PathBuf;

use compose2dify::readme::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{emit, generate, plan, tree, upstream, Settings};
use criterion::{criterion_group, criterion_main, Criterion};

fn newest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose/dify-1.14.1/docker-compose.yaml")
}

fn stages(c: &mut Criterion) {
    let opts = upstream::Options { compose: newest(), ..Default::default() };
    let rules = rules::load(Preset::Dify, None).expect("rules");
    let project = upstream::load(&opts).expect("load");
    let planned = plan::plan(&project, &rules).expect("plan");

    c.bench_function("1.14.1/end-to-end (read, plan, emit, no disk writes)", |b| {
        b.iter(|| {
            let project = upstream::load(&opts).expect("load");
            generate(&project, &rules, Settings { lang: Lang::En }).expect("generate")
        })
    });
    c.bench_function("1.14.1/read (yaml, merge, interpolate, env files)", |b| {
        b.iter(|| upstream::load(&opts).expect("load"))
    });
    c.bench_function("rules/load (preset dify)", |b| b.iter(|| rules::load(Preset::Dify, None).expect("rules")));
    c.bench_function("1.14.1/plan", |b| b.iter(|| plan::plan(&project, &rules).expect("plan")));
    c.bench_function("1.14.1/emit+serialize", |b| {
        b.iter(|| {
            let mut t = tree::Tree::default();
            emit::emit(&planned, &mut t);
            t
        })
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
