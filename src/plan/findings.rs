//! The security findings a tree accepts: what checkov (`validate-k8s --security`) reports on the
//! emitted objects, predicted from the plan, each with the reason from the rules. The generated
//! README lists them, and a test compares the list with checkov's own report.

pub use crate::plan::Finding;
use crate::plan::{Plan, Workload};
use crate::rules::Rules;

/// Checks every tree fails on purpose, named once in the README instead of per object: digest
/// pinning, secrets read as environment variables (how Dify reads them), image-defined user IDs
/// and the image pull policy.
pub const NOT_LISTED: &[&str] = &["CKV_K8S_43", "CKV_K8S_35", "CKV_K8S_40", "CKV_K8S_15"];

/// The findings of every workload and Job of the plan, in resource order.
pub fn accepted(plan: &Plan, rules: &Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    // A service running in another's pod (network_mode) has no object: its container's checks are
    // its host's.
    for w in plan.workloads.iter().filter(|w| w.joins.is_none()) {
        let kind = w.kind.object_kind();
        let object = w.one_shot.as_ref().map_or(&w.name, |o| &o.object_name);
        // Each object with the volumes of its pod: a folded init container runs only in a pod that
        // mounts its volume (the migration Job mounts no claim).
        let mut resources = vec![(format!("{kind}.{}.{object}", plan.namespace), object, &w.volumes)];
        resources.extend(w.jobs.iter().map(|j| (format!("Job.{}.{}", plan.namespace, j.name), &j.name, &j.volumes)));
        let rule = rules.service(&w.upstream);
        let mut own = failed_checks(w);
        for j in plan.workloads.iter().filter(|j| j.joins.as_deref() == Some(w.name.as_str())) {
            own.extend(failed_checks(j));
        }
        own.sort_unstable();
        own.dedup();
        for (resource, object, volumes) in resources {
            let folded: Vec<&crate::plan::FoldedInit> =
                w.folded.iter().filter(|f| volumes.iter().any(|v| v.name == f.volume)).collect();
            let mut checks = own.clone();
            for f in &folded {
                checks.extend(folded_checks(f).into_iter().filter(|c| !own.contains(c)));
            }
            checks.sort_unstable();
            checks.dedup();
            for check in checks {
                // A check only a folded init container fails is explained by its fold rule.
                let by_fold = folded.iter().find_map(|f| f.findings.get(check)).filter(|_| !own.contains(&check));
                let reason = by_fold
                    .or_else(|| w.compose_findings.get(check))
                    .or_else(|| rule.and_then(|r| r.findings.get(check)))
                    .or_else(|| rules.findings.get(check))
                    .cloned()
                    .unwrap_or_else(|| rules.defaults.reasons.no_reason.clone());
                out.push(Finding {
                    check_id: check.to_string(),
                    resource: resource.clone(),
                    object: object.clone(),
                    reason,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.resource, &a.check_id).cmp(&(&b.resource, &b.check_id)));
    out
}

/// The checks a folded one-shot init container fails (its image tag, capabilities added back).
/// Init containers count as containers for checkov; it runs as root, which CKV_K8S_23 judges by
/// the pod and main container only.
fn folded_checks(f: &crate::plan::FoldedInit) -> Vec<&'static str> {
    let mut checks = Vec::new();
    if crate::plan::image_tag(&f.image).is_none_or(|t| t == "latest") {
        checks.push("CKV_K8S_14");
    }
    if f.security.read_only_root != Some(true) {
        checks.push("CKV_K8S_22");
    }
    if f.security.add_capabilities.as_ref().is_some_and(|c| !c.is_empty()) {
        checks.push("CKV_K8S_25");
    }
    checks
}

/// The checkov checks a workload's pods fail, from the decisions in its plan.
fn failed_checks(w: &Workload) -> Vec<&'static str> {
    let s = &w.security;
    let mut checks = Vec::new();
    if !w.resources.limits.contains_key("cpu") {
        checks.push("CKV_K8S_11"); // CPU limits
    }
    if crate::plan::image_tag(&w.image).is_none_or(|t| t == "latest") {
        checks.push("CKV_K8S_14"); // image tag fixed
    }
    if s.read_only_root != Some(true) {
        checks.push("CKV_K8S_22"); // read-only root filesystem
    }
    if s.run_as_non_root != Some(true) {
        checks.push("CKV_K8S_23"); // root containers
    }
    if s.add_capabilities.as_ref().is_some_and(|c| !c.is_empty()) {
        checks.push("CKV_K8S_25"); // added capabilities
    }
    if s.add_capabilities.as_ref().is_some_and(|c| c.iter().any(|c| c == "SYS_ADMIN" || c == "ALL")) {
        checks.push("CKV_K8S_39"); // CAP_SYS_ADMIN
    }
    if s.privileged == Some(true) {
        checks.push("CKV_K8S_16"); // privileged containers
    }
    if s.allow_privilege_escalation != Some(false) {
        checks.push("CKV_K8S_20"); // allowPrivilegeEscalation
    }
    let drops = |cap: &str| s.drop_capabilities.as_ref().is_some_and(|d| d.iter().any(|d| d == "ALL" || d == cap));
    if !drops("NET_RAW") {
        checks.push("CKV_K8S_28"); // NET_RAW
    }
    if !drops("ALL") {
        checks.push("CKV_K8S_37"); // capabilities not all dropped
    }
    checks.sort_unstable();
    checks
}
