//! The Pod Security Standard each workload meets ("restricted", "baseline" or "privileged", from
//! the list in the Kubernetes documentation, Pod Security Standards), over every container of its
//! pod; the Namespace enforces the level every pod meets, and the guide says why a pod is not
//! "restricted".

use crate::rules::Security;

use super::{PodSecurity, RestrictedGap, Workload};

/// The capabilities "baseline" lets a container add (Pod Security Standards, "Capabilities").
pub const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The level a workload's pod meets, and what keeps each container from "restricted".
pub(super) fn assess(w: &mut Workload) {
    let mut gaps = Vec::new();
    let mut level = PodSecurity::Restricted;
    let mut containers: Vec<(Option<String>, &Security)> = vec![(None, &w.security)];
    containers.extend(w.folded.iter().map(|f| (Some(f.name.clone()), &f.security)));
    for (init, s) in containers {
        let (l, gap) = container_level(s);
        level = level.min(l);
        if let Some(mut gap) = gap {
            gap.init = init;
            gaps.push(gap);
        }
    }
    w.pod_security = level;
    w.restricted_gaps = gaps;
}

/// One container's level, and what keeps it from "restricted".
fn container_level(s: &Security) -> (PodSecurity, Option<RestrictedGap>) {
    let added: Vec<String> = s.add_capabilities.clone().unwrap_or_default();
    let privileged = s.privileged == Some(true);
    let seccomp_ok = matches!(s.seccomp.as_deref(), Some("RuntimeDefault" | "Localhost"));
    let baseline = !privileged
        && s.seccomp.as_deref() != Some("Unconfined")
        && added.iter().all(|c| BASELINE_CAPABILITIES.contains(&c.trim_start_matches("CAP_")));
    let gap = RestrictedGap {
        init: None,
        root: s.run_as_non_root != Some(true) || s.run_as_user == Some(0),
        capabilities: added.into_iter().filter(|c| c != "NET_BIND_SERVICE").collect(),
        escalation: s.allow_privilege_escalation != Some(false),
        drops_all: s.drop_capabilities.as_ref().is_some_and(|d| d.iter().any(|c| c == "ALL")),
        seccomp: seccomp_ok,
        privileged,
    };
    let restricted =
        baseline && !gap.root && gap.capabilities.is_empty() && !gap.escalation && gap.drops_all && gap.seccomp;
    match (baseline, restricted) {
        (_, true) => (PodSecurity::Restricted, None),
        (true, false) => (PodSecurity::Baseline, Some(gap)),
        (false, _) => (PodSecurity::Privileged, Some(gap)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hardened() -> Security {
        Security {
            allow_privilege_escalation: Some(false),
            drop_capabilities: Some(vec!["ALL".into()]),
            seccomp: Some("RuntimeDefault".into()),
            run_as_non_root: Some(true),
            run_as_user: Some(1001),
            ..Security::default()
        }
    }

    #[test]
    fn levels_follow_the_standard() {
        assert_eq!(container_level(&hardened()).0, PodSecurity::Restricted);
        let bind = Security { add_capabilities: Some(vec!["NET_BIND_SERVICE".into()]), ..hardened() };
        assert_eq!(container_level(&bind).0, PodSecurity::Restricted);
        let root = Security { run_as_non_root: None, run_as_user: Some(0), ..hardened() };
        let (level, gap) = container_level(&root);
        assert_eq!((level, gap.map(|g| g.root)), (PodSecurity::Baseline, Some(true)));
        let chown = Security { add_capabilities: Some(vec!["CHOWN".into(), "DAC_OVERRIDE".into()]), ..hardened() };
        assert_eq!(container_level(&chown).0, PodSecurity::Baseline);
        let raw = Security { add_capabilities: Some(vec!["NET_RAW".into()]), ..hardened() };
        assert_eq!(container_level(&raw).0, PodSecurity::Privileged);
        let search = Security { add_capabilities: Some(vec!["DAC_READ_SEARCH".into()]), ..hardened() };
        assert_eq!(container_level(&search).0, PodSecurity::Privileged);
        let privileged = Security { privileged: Some(true), ..hardened() };
        assert_eq!(container_level(&privileged).0, PodSecurity::Privileged);
        let escalates = Security { allow_privilege_escalation: None, ..hardened() };
        assert_eq!(container_level(&escalates).0, PodSecurity::Baseline);
    }
}
