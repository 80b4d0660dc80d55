//! The whole generated tree of every vendored release, as one snapshot each. Review a change of
//! these like the pull request an operator would review.

use crate::common::*;
use compose2dify::guide::Lang;
use compose2dify::rules::{self, Preset};
use compose2dify::{generate, read::upstream, Settings};

fn tree(release: &str) -> String {
    let opts = upstream::Options { compose: compose(release), ..Default::default() };
    let project = upstream::load(&opts).expect("load");
    let rules = rules::load(Preset::Dify, None).expect("rules");
    let (_, tree) = generate(&project, &rules, Settings { lang: Lang::En, ..Default::default() }).expect("generate");
    // The build's commit is not part of the tree's meaning.
    tree.render().replace(compose2dify::TOOL_VERSION, "[version]")
}

#[test]
fn every_release_tree() {
    for release in RELEASES {
        insta::assert_snapshot!(format!("tree-{release}"), tree(release));
    }
}

#[test]
fn output_is_byte_stable_in_process() {
    assert_eq!(tree("1.14.1"), tree("1.14.1"));
}
