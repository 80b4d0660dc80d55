//! How cost grows with the number of services: synthetic Dify-shaped compose folders
//! (`support/synth.rs`) of 10, 100, 1,000 and 5,000 services, `--preset generic`, in process,
//! end to end (read, plan, emit; no disk writes) and per stage.
//! Run: `cargo bench --bench scale` (a few minutes; the large sizes take 10 samples).

#[path = "support/synth.rs"]
mod synth;

use compose2dify::choices::Choices;
use compose2dify::guide::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{emit, generate, plan, read::upstream, tree, Settings};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 4] = [10, 100, 1000, 5000];

fn scale(c: &mut Criterion) {
    let rules = rules::load(Preset::Generic, None).expect("rules");
    let work = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("synthetic");
    for n in SIZES {
        let compose = synth::write(&work.path().join(n.to_string()), n).expect("synthetic compose");
        let opts = upstream::Options { compose, ..Default::default() };
        let project = upstream::load(&opts).expect("load");
        let planned = plan::plan(&project, &rules, &Choices::default()).expect("plan");
        group.sample_size(if n >= 1000 { 10 } else { 20 });
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("end-to-end", n), &opts, |b, opts| {
            b.iter(|| {
                let project = upstream::load(opts).expect("load");
                generate(&project, &rules, Settings { lang: Lang::En, ..Default::default() }).expect("generate")
            })
        });
        group.bench_with_input(BenchmarkId::new("read", n), &opts, |b, opts| {
            b.iter(|| upstream::load(opts).expect("load"))
        });
        group.bench_with_input(BenchmarkId::new("plan", n), &project, |b, project| {
            b.iter(|| plan::plan(project, &rules, &Choices::default()).expect("plan"))
        });
        group.bench_with_input(BenchmarkId::new("emit+serialize", n), &planned, |b, planned| {
            b.iter(|| {
                let mut t = tree::Tree::default();
                emit::emit(planned, &mut t);
                t
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
