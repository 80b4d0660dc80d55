//! Warnings: what was read but is not translated faithfully, typed, so every reader takes the same
//! list: stderr (each one, with its place when it has one), `--strict` (any at all), `upgrade` (a
//! recorded choice that changes nothing), and the release report (`diff`: what the rules do not
//! cover).

use std::fmt;

use crate::error::Location;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// A key of a service (or a top-level key) that is neither translated nor ignored by a rule.
    Untranslated,
    /// A service the rules do not cover: translated generically.
    Uncovered,
    /// A service left out (it has no image).
    LeftOut,
    /// A `--set` (or a recorded choice) that changes nothing.
    UnusedChoice,
    /// A setting left out (named without a value).
    Setting,
    /// Mounts, claims, files and storage classes.
    Storage,
    /// A port the Service cannot carry.
    Port,
    /// A probe that checks less than it could.
    Probe,
    /// A user, group or privilege kept as compose asks, or not expressible.
    Security,
    /// Restart policy, placement, rollout, host name.
    Pod,
    /// Networks: network modes, dependencies.
    Network,
    /// An Ingress annotation left out.
    Ingress,
    /// A compose config or secret, or a rule's insert into a file.
    Config,
    /// An image built from source.
    Image,
    /// An image tag whose facts the rules have not read: the nearest known tag's are assumed.
    ImageFacts,
}

/// One warning: its kind, the service and key it is about (when it is about one), where the key is
/// written (when known), and the sentence said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub service: Option<String>,
    pub key: Option<String>,
    pub place: Option<Location>,
    pub text: String,
}

impl Warning {
    pub fn new(kind: WarningKind, text: impl Into<String>) -> Self {
        Warning { kind, service: None, key: None, place: None, text: text.into() }
    }

    /// About this (upstream) service.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// About this key (a service key, a setting, a `--set` variable).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Written here.
    pub fn at(mut self, place: Option<Location>) -> Self {
        self.place = place;
        self
    }
}

/// `file:line:col: text`, or the text alone.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{place}: {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_with_its_place_when_it_has_one() {
        let w = Warning::new(WarningKind::Untranslated, "service `a`: key `x` is not translated").service("a").key("x");
        assert_eq!(w.to_string(), "service `a`: key `x` is not translated");
        let place = Location { file: "compose.yaml".into(), line: 4, column: 5 };
        assert_eq!(w.clone().at(Some(place)).to_string(), "compose.yaml:4:5: service `a`: key `x` is not translated");
        assert_eq!((w.kind, w.service.as_deref(), w.key.as_deref()), (WarningKind::Untranslated, Some("a"), Some("x")));
    }
}
