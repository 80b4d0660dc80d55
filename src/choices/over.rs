//! The choices a rules file could equally make, layered over the rules in force as a `--mappings`
//! file is: the namespace and cluster domain, the services run outside the cluster, the Service
//! type and way in of the services the rules expose, their `ha` profile, ServiceAccount annotations.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Choices;
use crate::error::{Error, Result};
use crate::rules::{Kind, Rules, Text};

/// The reasons the choices give a service, in both languages of the guide (`reasons.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Reasons {
    /// A service `--external` runs outside the cluster.
    pub external: Text,
}

pub(super) fn reasons() -> &'static Reasons {
    static REASONS: OnceLock<Reasons> = OnceLock::new();
    REASONS.get_or_init(|| {
        yaml_serde::from_str(include_str!("reasons.yaml")).expect("src/choices/reasons.yaml is a valid Reasons")
    })
}

/// The rule keys of the services the rules expose: a Service type other than ClusterIP.
pub(super) fn exposed(rules: &Rules) -> Vec<String> {
    rules
        .services
        .iter()
        .filter(|(_, r)| r.service_type.as_deref().is_some_and(|t| t != "ClusterIP"))
        .map(|(k, _)| k.clone())
        .collect()
}

impl Choices {
    /// The rules with the choices a rules file could equally make layered over them; the rules
    /// themselves when none of the choices is of that kind. `services` are the compose file's
    /// service names.
    pub fn over<'r>(&self, rules: &'r Rules, services: &[String]) -> Result<Cow<'r, Rules>> {
        let layers = self.namespace.is_some()
            || self.cluster_domain.is_some()
            || !self.external.is_empty()
            || self.expose.is_some()
            || self.behind_proxy()
            || self.ha
            || self.autoscale
            || !self.service_account_annotations.is_empty();
        if !layers {
            return Ok(Cow::Borrowed(rules));
        }
        let mut out = rules.clone();
        if let Some(ns) = &self.namespace {
            out.namespace = ns.clone();
        }
        if let Some(domain) = &self.cluster_domain {
            out.dns.cluster_domain = domain.clone();
        }
        for key in self.external_keys(rules, services)? {
            let rule = out.services.entry(key).or_default();
            rule.kind = Some(Kind::External);
            rule.reason = Some(reasons().external.en.clone());
        }
        self.check_way_in(rules)?;
        for key in exposed(rules) {
            let rule = out.services.entry(key).or_default();
            // One way in: behind an Ingress or a route the Service needs no address of its own.
            match &self.expose {
                Some(t) => rule.service_type = Some(t.clone()),
                None if self.behind_proxy() => rule.service_type = Some("ClusterIP".into()),
                None => {}
            }
            if let Some(ingress) = &self.ingress {
                rule.ingress = Some(ingress.clone());
            }
            if let Some(gateway) = &self.gateway {
                rule.gateway = Some(gateway.clone());
            }
        }
        if self.ha || self.autoscale {
            high_availability(&mut out);
        }
        for (key, name, value) in self.annotation_keys(rules, services)? {
            out.services.entry(key).or_default().service_account_annotations.insert(name.clone(), value.clone());
        }
        Ok(Cow::Owned(out))
    }

    /// The rule key of each service `--external` names: a rule's key, older name or workload name,
    /// else a compose service or its workload name (which gets a rule of its own).
    pub(super) fn external_keys(&self, rules: &Rules, services: &[String]) -> Result<Vec<String>> {
        self.external
            .iter()
            .map(|wanted| {
                rules
                    .services
                    .iter()
                    .find(|(k, r)| *k == wanted || r.also.contains(wanted) || r.name.as_ref() == Some(wanted))
                    .map(|(k, _)| k.clone())
                    .or_else(|| services.iter().find(|s| *s == wanted || rules.workload_name(s) == *wanted).cloned())
                    .ok_or_else(|| {
                        Error::usage(
                            format!("--external `{wanted}` names no service of the compose file or the rules"),
                            format!("use a compose service or workload name, one of: {}", services.join(", ")),
                        )
                    })
            })
            .collect()
    }

    /// `--expose`, `--ingress-host` and `--gateway` need a service the rules expose, unless the
    /// compose file's published ports are the entry points (and no Ingress or route is asked for).
    pub(super) fn check_way_in(&self, rules: &Rules) -> Result<()> {
        let none_exposed = exposed(rules).is_empty();
        let published = rules.published_ports_are_entry_points && !self.behind_proxy();
        if none_exposed && !published && (self.expose.is_some() || self.behind_proxy()) {
            return Err(Error::usage(
                "no service is exposed by the rules, so --expose, --ingress-host and --gateway have nothing to apply to",
                "give the entry service `service_type: LoadBalancer` in a rules file (--mappings)",
            ));
        }
        Ok(())
    }

    /// The rule key each `--service-account-annotation` goes to, with its key and value: the rule
    /// of the compose service it names (by workload or compose name), else that service's own.
    pub(super) fn annotation_keys(
        &self,
        rules: &Rules,
        services: &[String],
    ) -> Result<Vec<(String, &String, &String)>> {
        let mut out = Vec::new();
        for (workload, key, value) in &self.service_account_annotations {
            let Some(service) = services.iter().find(|s| rules.workload_name(s) == *workload || *s == workload) else {
                let names: Vec<String> = services.iter().map(|s| rules.workload_name(s)).collect();
                return Err(Error::usage(
                    format!("--service-account-annotation `{workload}` names no workload"),
                    format!("name one of: {}", names.join(", ")),
                ));
            };
            let rule_key = rules.service(service).and_then(|_| {
                rules.services.iter().find(|(k, r)| *k == service || r.also.contains(service)).map(|(k, _)| k.clone())
            });
            out.push((rule_key.unwrap_or_else(|| service.clone()), key, value));
        }
        Ok(out)
    }
}

/// `--ha` (and `--autoscale`): the rules' `ha` profile of every service switched on.
fn high_availability(rules: &mut Rules) {
    for rule in rules.services.values_mut() {
        let Some(ha) = rule.ha.clone() else { continue };
        rule.replicas = Some(rule.replicas.unwrap_or(0).max(ha.replicas));
        if ha.ephemeral_claims {
            for claim in rule.claims.values_mut() {
                claim.ephemeral = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{load, Preset};

    /// `--external` runs the service outside with the choices' reason, whose Japanese the guide gets
    /// from the choices (the rules' table holds only the rule files' texts).
    #[test]
    fn an_external_service_gets_the_reason_in_both_languages() {
        let dify = load(Preset::Dify, None).unwrap();
        let choices = Choices { external: vec!["db_postgres".into()], ..Default::default() };
        let services = ["db_postgres".to_string()];
        let layered = choices.over(&dify, &services).unwrap();
        let rule = layered.service("db_postgres").unwrap();
        assert_eq!(rule.kind, Some(Kind::External));
        let reason = rule.reason.clone().unwrap();
        assert!(choices.ja()[&reason].contains("--external"), "{reason}");
        assert!(!dify.ja.contains_key(&reason));
        assert!(Choices::default().ja().is_empty());
        // The rules as the files say them are not changed.
        assert_ne!(dify.service("db_postgres").and_then(|r| r.kind), Some(Kind::External));
    }

    /// Choices no rules file could make leave the rules as they are, without a copy.
    #[test]
    fn run_choices_leave_the_rules_borrowed() {
        let dify = load(Preset::Dify, None).unwrap();
        let choices = Choices {
            storage_class: Some("gp3".into()),
            registry: Some("mirror.example.com/".into()),
            cluster_ranges: vec!["10.0.0.0/8".into()],
            ..Default::default()
        };
        assert!(matches!(choices.over(&dify, &[]).unwrap(), Cow::Borrowed(_)));
        assert_eq!(choices.registry(), Some("mirror.example.com"));
    }

    /// `--ha` raises the replicas of the services with an `ha` profile and makes their claims
    /// ephemeral where the profile says so; a ServiceAccount annotation lands on the named
    /// workload's rule.
    #[test]
    fn the_ha_profile_and_annotations_are_layered() {
        let dify = load(Preset::Dify, None).unwrap();
        let (key, ha) = dify.services.iter().find_map(|(k, r)| r.ha.clone().map(|h| (k.clone(), h))).unwrap();
        let choices = Choices {
            ha: true,
            service_account_annotations: vec![(
                dify.workload_name(&key),
                "eks.amazonaws.com/role-arn".into(),
                "arn:aws:iam::1:role/x".into(),
            )],
            ..Default::default()
        };
        let layered = choices.over(&dify, std::slice::from_ref(&key)).unwrap();
        let rule = &layered.services[&key];
        assert!(rule.replicas.unwrap() >= ha.replicas);
        assert_eq!(rule.service_account_annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::1:role/x");
        let unknown = Choices { service_account_annotations: vec![("nope".into(), "a".into(), "b".into())], ..choices };
        assert!(unknown.over(&dify, std::slice::from_ref(&key)).is_err());
    }
}
