//! The operator guide (the tree's README.md) as text, reviewed like code: the Japanese guide of the
//! newest vendored Dify release (the English one is part of its tree's snapshot, tests/suite/tree/snapshots.rs)
//! and the guide of a generic-preset tree of each corpus family, in both languages.

use crate::common::*;
use compose2dify::guide::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{read::upstream, Settings};

/// The guide of the tree made from `compose` with `preset` in `lang`.
fn guide(compose: std::path::PathBuf, preset: Preset, lang: Lang) -> String {
    let opts = upstream::Options { compose, ..Default::default() };
    let project = upstream::load(&opts).expect("load");
    let rules = rules::load(preset, None).expect("rules");
    let (_, tree) =
        compose2dify::generate(&project, &rules, Settings { lang, ..Default::default() }).expect("generate");
    tree.get("README.md").expect("README.md").to_string()
}

#[test]
fn japanese_guide_of_the_newest_release() {
    let newest = RELEASES.last().expect("a vendored release");
    insta::assert_snapshot!(format!("guide-ja-{newest}"), guide(compose(newest), Preset::Dify, Lang::Ja));
}

/// One case per family of the generic corpus: a web app with its database, a CMS on MySQL, a queue
/// with workers, a broker with its coordinator.
#[test]
fn generic_guide_of_each_corpus_family() {
    for case in ["01-web-db", "25-wordpress-mysql", "27-queue-workers", "33-kafka-zookeeper"] {
        for (lang, tag) in [(Lang::En, "en"), (Lang::Ja, "ja")] {
            insta::assert_snapshot!(
                format!("generic-{case}-{tag}"),
                guide(corpus_compose(case), Preset::Generic, lang)
            );
        }
    }
}

/// The guide of a tree made with the command line's choices: Secrets from outside the tree, chosen
/// storage classes, an Ingress.
#[test]
fn guide_with_choices() {
    let newest = RELEASES.last().expect("a vendored release");
    let cases: [(&str, &[&str]); 2] = [
        (
            "external-secrets-en",
            &[
                "--secrets",
                "external-secrets",
                "--secret-store",
                "vault",
                "--storage-class",
                "gp3",
                "--rwx-storage-class",
                "efs",
                "--ingress-host",
                "dify.example.com",
            ],
        ),
        ("external-ja", &["--secrets", "external", "--rwx-storage-class", "", "--lang", "ja"]),
    ];
    for (name, args) in cases {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("k8s");
        generate(newest, &out, args);
        let readme = std::fs::read_to_string(out.join("README.md")).expect("README.md");
        insta::assert_snapshot!(format!("guide-{newest}-{name}"), readme);
    }
}
