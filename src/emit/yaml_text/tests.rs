//! The writer against `yaml_serde` itself: random documents and strings, and typical objects,
//! must come out byte for byte the same.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;

use super::{write, Unsupported};

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Node {
    Str(String),
    Int(i64),
    Bool(bool),
    Null(()),
    Map(BTreeMap<String, Node>),
    List(Vec<Node>),
}

fn same(value: &impl Serialize) {
    let want = yaml_serde::to_string(value).unwrap();
    let mut got = String::new();
    match write(value, &mut got) {
        Ok(()) => assert_eq!(got, want),
        // Only complex keys (`? …`, a key with a line break) are left to yaml_serde here.
        Err(Unsupported) => {
            assert!(want.starts_with("? ") || want.contains("\n? ") || want.contains(" ? "), "{want}")
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "b",
        "Z",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        ":",
        ": ",
        "#",
        " #",
        "-",
        "- ",
        "?",
        "'",
        "\"",
        "\\",
        ",",
        "[",
        "]",
        "{",
        "}",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "0",
        "1",
        "7",
        "0x1f",
        "0o7",
        "0b1",
        "+",
        ".",
        "e",
        "E",
        "inf",
        ".inf",
        "nan",
        "null",
        "~",
        "true",
        "False",
        "yes",
        "é",
        "日本",
        "\u{a0}",
        "\u{85}",
        "\u{feff}",
        "\u{1b}",
        "\r",
        "\0",
        "\u{7f}",
        "\u{1f600}",
        "---",
        "...",
        "=",
        "/",
        "$",
        "{{",
    ]);
    prop::collection::vec(pieces, 0..8).prop_map(|p| p.concat())
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        text().prop_map(Node::Str),
        any::<i64>().prop_map(Node::Int),
        any::<bool>().prop_map(Node::Bool),
        Just(Node::Null(())),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::btree_map(text(), inner.clone(), 0..5).prop_map(Node::Map),
            prop::collection::vec(inner, 0..5).prop_map(Node::List),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn writes_what_yaml_serde_writes(n in node()) {
        same(&n);
    }

    #[test]
    fn single_strings(s in text()) {
        same(&s);
        same(&BTreeMap::from([(s.clone(), s.clone())]));
        same(&BTreeMap::from([("k", vec![s.clone()])]));
    }
}

#[test]
fn typical_object() {
    let mut data = BTreeMap::new();
    data.insert("nginx.conf".to_string(), "server {\n  listen 80;\n}\n".to_string());
    data.insert("lead".to_string(), "  indented\nthen\n\n".to_string());
    data.insert("PORT".to_string(), "8080".to_string());
    data.insert("EMPTY".to_string(), String::new());
    data.insert("URL".to_string(), "http://x:1/a#b".to_string());
    let cm = k8s_openapi::api::core::v1::ConfigMap { data: Some(data), ..Default::default() };
    let mut got = String::new();
    write(&cm, &mut got).unwrap();
    assert_eq!(got, yaml_serde::to_string(&cm).unwrap());
}

#[test]
fn numbers_and_words() {
    for s in [
        "0",
        "012",
        "-0",
        "+1",
        "0x",
        "0xg",
        "0x1F",
        "-0x1f",
        "+0x1",
        "0x-1",
        "1e3",
        "1.",
        ".5",
        "-.inf",
        "+.inf",
        "1_000",
        "١",
        "True",
        "tRUE",
        "no",
        "NaN",
        "infinity",
        "-",
        "--",
        "+-1",
        "99999999999999999999999999999999999999999",
        "1e400",
        "0o",
        "0b2",
        "-0b1",
        "+-0x1",
        "--1",
    ] {
        same(&s);
    }
}
