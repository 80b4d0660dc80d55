//! Choices as state. GENERATED.md records the generation flags a tree was made with; the next run
//! over that tree (a plain run or `upgrade`) starts from them, and a flag on the command line
//! changes only what it names. This module holds the merge of the recorded lines with the given
//! ones; the command line (`cli/recorded.rs`) says which flags are choices and of which kind.

use std::fmt;

/// How a flag's values combine with the recorded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A flag without a value (`--no-override`): given, it is on; recorded, it stays on.
    Switch,
    /// One value (`--secrets files`): the given value replaces the recorded one.
    One,
    /// A list (`--external redis`): given values are added to the recorded ones.
    Many,
    /// A list of `KEY=VALUE` (`--set`, `--ingress-annotation`): a given key replaces the recorded
    /// value of that key; other keys are kept.
    Keyed,
}

/// One choice: a flag's long name (without `--`) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub long: String,
    pub value: Option<String>,
}

impl Choice {
    /// One line of GENERATED.md's Choices: `--long 'value'` (the value shell-quoted).
    pub fn line(&self) -> String {
        match &self.value {
            Some(v) => format!("--{} {}", self.long, shell_words::quote(v)),
            None => format!("--{}", self.long),
        }
    }

    /// The words of the line, as a command line passes them.
    pub fn words(&self) -> Vec<String> {
        let mut out = vec![format!("--{}", self.long)];
        out.extend(self.value.clone());
        out
    }

    /// A recorded line read back: one `--flag` with at most one value (`--flag value` or
    /// `--flag=value`). Anything else is not a line the tool writes.
    pub fn parse(line: &str) -> Result<Choice, String> {
        let words = shell_words::split(line).map_err(|e| e.to_string())?;
        let Some(flag) = words.first().and_then(|w| w.strip_prefix("--")).filter(|f| !f.is_empty()) else {
            return Err("it does not start with a --flag".into());
        };
        match (flag.split_once('='), words.len()) {
            (Some((long, value)), 1) => Ok(Choice { long: long.into(), value: Some(value.into()) }),
            (None, 1) => Ok(Choice { long: flag.into(), value: None }),
            (None, 2) => Ok(Choice { long: flag.into(), value: Some(words[1].clone()) }),
            _ => Err("it holds more than one flag and its value".into()),
        }
    }

    fn key(&self) -> Option<&str> {
        self.value.as_deref().map(|v| v.split_once('=').map_or(v, |(k, _)| k))
    }
}

/// What a run does to one recorded choice, for stderr and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The command line replaced a recorded value.
    Changed { before: Choice, after: Choice },
    /// The command line added a choice the tree did not record.
    Added(Choice),
    /// `--reset-choices` left it out.
    Dropped(Choice),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Changed { before, after } => write!(f, "changed {} → {}", before.line(), after.line()),
            Change::Added(c) => write!(f, "added   {}", c.line()),
            Change::Dropped(c) => write!(f, "dropped {}", c.line()),
        }
    }
}

/// The recorded choices that still hold after the command line's (`given`), and what changed.
/// `kind` names each flag's kind; every recorded flag has one (the caller has checked).
pub fn merge(recorded: &[Choice], given: &[Choice], kind: impl Fn(&str) -> Kind) -> (Vec<Choice>, Vec<Change>) {
    let mut kept = Vec::new();
    let mut changes = Vec::new();
    for r in recorded {
        let same_flag: Vec<&Choice> = given.iter().filter(|g| g.long == r.long).collect();
        if same_flag.is_empty() {
            kept.push(r.clone());
            continue;
        }
        match kind(&r.long) {
            Kind::Switch => {}
            Kind::One => {
                if same_flag[0].value != r.value {
                    changes.push(Change::Changed { before: r.clone(), after: same_flag[0].clone() });
                }
            }
            Kind::Many => {
                if !same_flag.iter().any(|g| g.value == r.value) {
                    kept.push(r.clone());
                }
            }
            Kind::Keyed => match same_flag.iter().find(|g| g.key() == r.key()) {
                Some(g) if g.value != r.value => {
                    changes.push(Change::Changed { before: r.clone(), after: (*g).clone() })
                }
                Some(_) => {}
                None => kept.push(r.clone()),
            },
        }
    }
    for g in given {
        let recorded_flag = recorded.iter().any(|r| r.long == g.long);
        let new = match kind(&g.long) {
            Kind::Switch | Kind::One => !recorded_flag,
            Kind::Many => !recorded.iter().any(|r| r == g),
            Kind::Keyed => !recorded.iter().any(|r| r.long == g.long && r.key() == g.key()),
        };
        if new {
            changes.push(Change::Added(g.clone()));
        }
    }
    (kept, changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(line: &str) -> Choice {
        Choice::parse(line).unwrap()
    }

    fn kind(long: &str) -> Kind {
        match long {
            "no-override" => Kind::Switch,
            "external" => Kind::Many,
            "set" => Kind::Keyed,
            _ => Kind::One,
        }
    }

    #[test]
    fn a_given_value_replaces_only_its_own_flag() {
        let recorded = [c("--ingress-host dify.example.com"), c("--secrets files"), c("--storage-class efs-sc")];
        let (kept, changes) = merge(&recorded, &[c("--secrets external")], kind);
        assert_eq!(kept, [c("--ingress-host dify.example.com"), c("--storage-class efs-sc")]);
        assert_eq!(changes, [Change::Changed { before: c("--secrets files"), after: c("--secrets external") }]);
    }

    #[test]
    fn lists_grow_and_keys_are_replaced_in_place() {
        let recorded = [c("--external redis"), c("--set A=1"), c("--set B=2"), c("--no-override")];
        let given = [c("--external redis"), c("--external postgres"), c("--set B=3"), c("--no-override")];
        let (kept, changes) = merge(&recorded, &given, kind);
        assert_eq!(kept, [c("--set A=1")]);
        assert_eq!(
            changes,
            [
                Change::Changed { before: c("--set B=2"), after: c("--set B=3") },
                Change::Added(c("--external postgres")),
            ]
        );
    }

    #[test]
    fn the_same_value_again_is_no_change() {
        let recorded = [c("--secrets external"), c("--set A=1")];
        let (kept, changes) = merge(&recorded, &[c("--secrets external"), c("--set A=1")], kind);
        assert!(kept.is_empty());
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_line_is_one_flag_and_one_value() {
        assert_eq!(c("--set=A=1"), Choice { long: "set".into(), value: Some("A=1".into()) });
        assert_eq!(c("--set 'A=x y'").line(), "--set 'A=x y'");
        assert!(Choice::parse("--set A=1 --force").is_err());
        assert!(Choice::parse("set A=1").is_err());
        assert!(Choice::parse("--").is_err());
        assert!(Choice::parse("--set 'A=1").is_err());
    }
}
