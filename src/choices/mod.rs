//! What the command line decides about a run. The CLI builds the `Choices` once, checks them
//! (`check`) and passes them on: the plan layers those a rules file could equally say over the
//! rules (`over`: the namespace, services run outside, the way in, the HA profile) and hands the
//! rest to the passes that decide with them (the secret source, the StorageClasses, the cluster's
//! ranges, the registry, autoscaling). GENERATED.md records the flags as lines, which the next run
//! merges with the command line's (`recorded`).

mod check;
mod over;
mod recorded;

use std::collections::BTreeMap;

use crate::rules::{GatewayRule, IngressRule, Rules, SecretSource};

pub use check::{is_cidr, is_registry};
pub use recorded::{merge, Change, Choice, Kind};

/// Deployment choices from the command line. Its `Debug` form is part of GENERATED.md's rules
/// fingerprint (`fingerprint`): a field added, renamed or moved changes the fingerprint of every
/// tree made with choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    /// Services run outside the cluster: a compose name, an older name or the workload name.
    pub external: Vec<String>,
    /// Service type of the services the rules expose (ClusterIP, NodePort or LoadBalancer).
    pub expose: Option<String>,
    /// An Ingress in front of the exposed service.
    pub ingress: Option<IngressRule>,
    /// A Gateway API HTTPRoute in front of the exposed service.
    pub gateway: Option<GatewayRule>,
    /// Where the Secrets' values come from.
    pub secrets: SecretSource,
    /// `--storage-class`: class of the ReadWriteOnce claims (empty: the cluster's default).
    pub storage_class: Option<String>,
    /// `--rwx-storage-class`: class of the ReadWriteMany claims (empty: the cluster's default).
    pub rwx_storage_class: Option<String>,
    /// Namespace of every object (a DNS label).
    pub namespace: Option<String>,
    /// The cluster's DNS domain (`cluster.local`).
    pub cluster_domain: Option<String>,
    /// `--cluster-cidr` and `--service-cidr`: the cluster's own address ranges, added to every
    /// `egress.internet_except` and given to templates as `COMPOSE2DIFY_CLUSTER_RANGES`.
    pub cluster_ranges: Vec<String>,
    /// `--allow-egress`: ranges the fenced workloads may reach all the same (templates:
    /// `COMPOSE2DIFY_ALLOWED_RANGES`).
    pub allowed_ranges: Vec<String>,
    /// The public URL is https (`--public-url https://…`, or an Ingress with TLS).
    pub public_https: bool,
    /// `--ha`: the rules' `ha` profile of every service.
    pub ha: bool,
    /// `--autoscale`: the rules' `autoscale` HorizontalPodAutoscalers (implies `ha`).
    pub autoscale: bool,
    /// `--registry HOST[/PATH]`: every image is pulled from there.
    pub registry: Option<String>,
    /// `--service-account-annotation WORKLOAD:KEY=VALUE`: (workload, key, value).
    pub service_account_annotations: Vec<(String, String, String)>,
}

impl Choices {
    /// The entry point sits behind an Ingress (or route) controller, which sets `X-Forwarded-*`.
    pub fn behind_proxy(&self) -> bool {
        self.ingress.is_some() || self.gateway.is_some()
    }

    /// `--registry`, without a trailing `/`.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref().map(|r| r.trim_end_matches('/'))
    }

    /// The fingerprint GENERATED.md gives the rules in force: the rule files' own, or, when a
    /// choice changes what they decide, the files' and the choices' together. A public URL's
    /// scheme alone changes only settings, which GENERATED.md records anyway.
    pub fn fingerprint(&self, rules: &Rules) -> String {
        if *self == (Choices { public_https: self.public_https, ..Choices::default() }) {
            return rules.fingerprint.clone();
        }
        crate::hash::sha256(format!("{}{:?}", rules.fingerprint, self).as_bytes())
    }

    /// `--expose TYPE` for the services that publish ports, when those are the entry points: the
    /// rules (as their files say) expose no service of their own and name no other way in.
    pub fn published_service_type(&self, rules: &Rules) -> Option<String> {
        let entry_points = rules.published_ports_are_entry_points && over::exposed(rules).is_empty();
        self.expose.clone().filter(|_| entry_points && !self.behind_proxy())
    }

    /// The Japanese of the reasons the choices give services (for the guide), by their English.
    pub fn ja(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if !self.external.is_empty() {
            let reason = &over::reasons().external;
            out.insert(reason.en.clone(), reason.ja.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{load, Preset};

    /// Without a choice that changes what the rules decide, GENERATED.md names the rule files'
    /// fingerprint; with one, the choices' too.
    #[test]
    fn the_fingerprint_is_the_files_unless_a_choice_changes_the_rules() {
        let rules = load(Preset::Dify, None).unwrap();
        assert_eq!(Choices::default().fingerprint(&rules), rules.fingerprint);
        assert_eq!(Choices { public_https: true, ..Default::default() }.fingerprint(&rules), rules.fingerprint);
        let gp3 = Choices { storage_class: Some("gp3".into()), ..Default::default() };
        assert_ne!(gp3.fingerprint(&rules), rules.fingerprint);
        assert_ne!(gp3.fingerprint(&rules), Choices { ha: true, ..Default::default() }.fingerprint(&rules));
    }

    /// The `Debug` form the fingerprint hashes: the trees made with choices keep their
    /// fingerprint only while it stays exactly this.
    #[test]
    fn the_fingerprinted_form_of_the_choices_is_stable() {
        let gp3 = Choices { storage_class: Some("gp3".into()), ..Default::default() };
        assert_eq!(
            format!("{gp3:?}"),
            "Choices { external: [], expose: None, ingress: None, gateway: None, secrets: Files, \
             storage_class: Some(\"gp3\"), rwx_storage_class: None, namespace: None, cluster_domain: None, \
             cluster_ranges: [], allowed_ranges: [], public_https: false, ha: false, autoscale: false, \
             registry: None, service_account_annotations: [] }"
        );
    }
}
