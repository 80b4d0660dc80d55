//! Changes Kubernetes cannot apply in place. A run over a tree compares each object it writes with
//! the same object of the tree on disk; a field the API server refuses to change (a claim's
//! StorageClass, a StatefulSet's claim templates, a Service's clusterIP, a Job's template, …) makes
//! the next `kubectl apply` fail half-way, or, for a claim moved to another name or namespace,
//! starts from an empty volume. Each such change is named with the steps that make it safe.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::tree::Tree;

/// One change the cluster cannot apply in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recreate {
    /// The tree file that holds the object.
    pub file: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// The field, as a path (`spec.storageClassName`).
    pub field: String,
    pub before: String,
    pub after: String,
}

impl Recreate {
    /// What to do so that the change is safe, for this object.
    pub fn steps(&self) -> String {
        let (ns, name) = (&self.namespace, &self.name);
        let kind = self.kind.to_lowercase();
        if self.after == REMOVED {
            return format!(
                "it leaves the tree, and a GitOps sync (or `kubectl apply --prune`) deletes it{}; if that is what you meant (--external, another profile), add --allow-recreate, else keep the choice that made it",
                if self.kind == "StatefulSet" { " and stops what it runs (its claims stay)" } else { "" }
            );
        }
        if self.field == "metadata.namespace" || self.field == "metadata.name" {
            let old = if self.field == "metadata.name" {
                format!("{ns}/{}", self.before)
            } else {
                format!("{}/{name}", self.before)
            };
            return format!(
                "a new, empty {kind} {ns}/{name} is made and the data stays with {old}: back it up there (the tree's README, Backups), apply, restore it into the new one, then delete the old one"
            );
        }
        match self.kind.as_str() {
            "PersistentVolumeClaim" => format!(
                "back up the claim's data (the tree's README, Backups), scale its workloads to 0, `kubectl -n {ns} delete pvc {name}`, apply, then restore the data into the new claim"
            ),
            "StatefulSet" => format!(
                "`kubectl -n {ns} delete statefulset {name} --cascade=orphan` (its pods and claims stay), then apply; claims made from the old templates keep their old spec"
            ),
            "Job" => format!("`kubectl -n {ns} delete job {name}` (it has done its work), then apply"),
            _ => format!(
                "`kubectl -n {ns} delete {kind} {name}`, then apply at once (it is away in between)"
            ),
        }
    }
}

impl fmt::Display for Recreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{} ({}): {} {} → {}; {}",
            self.kind,
            self.namespace,
            self.name,
            self.file,
            self.field,
            self.before,
            self.after,
            self.steps()
        )
    }
}

/// What `after` says of an object that leaves the tree.
const REMOVED: &str = "removed";

/// The fields of a kind that cannot change once the object exists.
fn fixed_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "PersistentVolumeClaim" => &["spec.storageClassName", "spec.accessModes", "spec.volumeMode"],
        "StatefulSet" => {
            &["spec.selector", "spec.serviceName", "spec.podManagementPolicy", "spec.volumeClaimTemplates"]
        }
        "Deployment" => &["spec.selector"],
        "Service" => &["spec.clusterIP"],
        "Job" => &["spec.selector", "spec.template"],
        _ => &[],
    }
}

/// Kinds whose object holds data: another name or namespace at the same place is a new, empty one.
fn holds_data(kind: &str) -> bool {
    matches!(kind, "PersistentVolumeClaim" | "StatefulSet")
}

/// The changes of `tree` against the tree on disk (`old`: tree-relative path → text, the tool's own
/// YAML files) that Kubernetes cannot apply in place.
pub fn changes(old: &BTreeMap<String, String>, tree: &Tree) -> Vec<Recreate> {
    // Each file parsed once, for the comparison file by file and for what leaves the tree.
    let old: BTreeMap<&str, Vec<Value>> = old.iter().map(|(f, t)| (f.as_str(), objects(t))).collect();
    let new: BTreeMap<&str, Vec<Value>> = tree.files.iter().map(|(f, t)| (f.as_str(), objects(t))).collect();
    let mut out = Vec::new();
    for (file, objects) in &new {
        let Some(before) = old.get(file) else { continue };
        for new in objects {
            let kind = str_at(new, "kind");
            if fixed_fields(&kind).is_empty() {
                continue;
            }
            let name = str_at(new, "metadata.name");
            let namespace = str_at(new, "metadata.namespace");
            let recreate = |field: &str, before: String, after: String| Recreate {
                file: file.to_string(),
                kind: kind.clone(),
                name: name.clone(),
                namespace: namespace.clone(),
                field: field.into(),
                before,
                after,
            };
            let same_kind: Vec<&Value> = before.iter().filter(|o| str_at(o, "kind") == kind).collect();
            let Some(old) = same_kind.iter().find(|o| str_at(o, "metadata.name") == name) else {
                // Another name in the same file: for a claim or a database, the data stays behind.
                if let (true, [old]) = (holds_data(&kind), same_kind.as_slice()) {
                    out.push(recreate("metadata.name", str_at(old, "metadata.name"), name.clone()));
                }
                continue;
            };
            if holds_data(&kind) && str_at(old, "metadata.namespace") != namespace {
                out.push(recreate("metadata.namespace", str_at(old, "metadata.namespace"), namespace.clone()));
                continue;
            }
            for field in fixed_fields(&kind) {
                let (a, b) = (at(old, field), at(new, field));
                if a == b {
                    continue;
                }
                match claim_template_changes(a, b) {
                    Some(detail) if !detail.is_empty() => {
                        out.extend(detail.into_iter().map(|(f, x, y)| recreate(&format!("{field}[{f}"), x, y)))
                    }
                    _ => out.push(recreate(field, shown(a), shown(b))),
                }
            }
            if kind == "PersistentVolumeClaim" {
                let field = "spec.resources.requests.storage";
                let (a, b) = (str_at(old, field), str_at(new, field));
                if matches!((bytes(&a), bytes(&b)), (Some(a), Some(b)) if b < a) {
                    out.push(recreate(field, a, b));
                }
            }
        }
    }
    out.extend(removed(&old, &new, &out));
    out
}

/// Objects that hold data (claims, StatefulSets) in the tree on disk and nowhere in the new tree,
/// unless already named as moved.
fn removed(old: &BTreeMap<&str, Vec<Value>>, new: &BTreeMap<&str, Vec<Value>>, named: &[Recreate]) -> Vec<Recreate> {
    let identity = |o: &Value| (str_at(o, "kind"), str_at(o, "metadata.namespace"), str_at(o, "metadata.name"));
    let kept: std::collections::BTreeSet<(String, String, String)> = new.values().flatten().map(identity).collect();
    let mut out = Vec::new();
    for (file, objects) in old {
        for o in objects.iter().filter(|o| holds_data(&str_at(o, "kind"))) {
            let (kind, namespace, name) = identity(o);
            let moved =
                named.iter().any(|r| r.file == *file && r.kind == kind && (r.before == name || r.before == namespace));
            if !moved && !kept.contains(&(kind.clone(), namespace.clone(), name.clone())) {
                out.push(Recreate {
                    file: file.to_string(),
                    kind,
                    name,
                    namespace,
                    field: "the object".into(),
                    before: "in the tree".into(),
                    after: REMOVED.into(),
                });
            }
        }
    }
    out
}

/// A StatefulSet's claim templates compared one by one (by name): the class, modes and size that
/// differ, as `NAME].spec.…` fields; None when the templates themselves were added or removed.
fn claim_template_changes(a: Option<&Value>, b: Option<&Value>) -> Option<Vec<(String, String, String)>> {
    let (a, b) = (a?.as_array()?, b?.as_array()?);
    let name = |t: &Value| str_at(t, "metadata.name");
    if a.len() != b.len() || a.iter().any(|t| !b.iter().any(|u| name(u) == name(t))) {
        return None;
    }
    let mut out = Vec::new();
    for t in a {
        let u = b.iter().find(|u| name(u) == name(t))?;
        for field in ["spec.storageClassName", "spec.accessModes", "spec.resources.requests.storage", "spec.volumeMode"]
        {
            if at(t, field) != at(u, field) {
                out.push((format!("{}].{field}", name(t)), shown(at(t, field)), shown(at(u, field))));
            }
        }
    }
    Some(out)
}

/// The documents of a YAML text; a file that does not parse (hand-edited) or expands past the
/// node budget (an alias bomb) is compared by none.
fn objects(text: &str) -> Vec<Value> {
    let Ok(docs) = crate::read::yaml::documents(text) else { return Vec::new() };
    docs.iter()
        .filter(|doc| !doc.is_null())
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
        .unwrap_or_default()
}

fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn str_at(value: &Value, path: &str) -> String {
    at(value, path).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A field's value for a message: short, one line, "(none)" when absent.
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) if s.is_empty() => "\"\"".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 60 {
                "(changed)".into()
            } else {
                text
            }
        }
    }
}

/// A storage quantity in bytes (`20Gi`, `500M`, `1073741824`); None for anything else.
fn bytes(quantity: &str) -> Option<f64> {
    let units: [(&str, f64); 12] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) =
        units.iter().find_map(|(u, f)| quantity.strip_suffix(u).map(|n| (n, *f))).unwrap_or((quantity, 1.0));
    number.parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: dify\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: efs-sc\n  resources:\n    requests:\n      storage: 20Gi\n";

    fn run(before: &str, after: &str) -> Vec<Recreate> {
        let old = BTreeMap::from([("base/pvc.yaml".to_string(), before.to_string())]);
        let mut tree = Tree::default();
        tree.add("base/pvc.yaml", after);
        changes(&old, &tree)
    }

    #[test]
    fn a_claim_keeps_its_class_modes_and_size() {
        assert!(run(CLAIM, CLAIM).is_empty());
        let found = run(CLAIM, &CLAIM.replace("  storageClassName: efs-sc\n", ""));
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].field.as_str(), found[0].before.as_str(), found[0].after.as_str()),
            ("spec.storageClassName", "efs-sc", "(none)")
        );
        assert!(found[0].steps().contains("kubectl -n dify delete pvc data"), "{}", found[0].steps());
        assert_eq!(run(CLAIM, &CLAIM.replace("20Gi", "10Gi"))[0].field, "spec.resources.requests.storage");
        assert!(run(CLAIM, &CLAIM.replace("20Gi", "30Gi")).is_empty(), "growing is done in place");
        assert_eq!(run(CLAIM, &CLAIM.replace("ReadWriteOnce", "ReadWriteMany"))[0].field, "spec.accessModes");
    }

    #[test]
    fn a_claim_under_another_name_or_namespace_starts_empty() {
        assert_eq!(run(CLAIM, &CLAIM.replace("name: data", "name: data2"))[0].field, "metadata.name");
        let moved = &run(CLAIM, &CLAIM.replace("namespace: dify", "namespace: ai"))[0];
        assert_eq!(moved.field, "metadata.namespace");
        assert!(moved.steps().contains("the data stays with dify/data"), "{}", moved.steps());
    }

    #[test]
    fn a_service_keeps_its_cluster_ip_and_a_job_its_template() {
        let svc = "kind: Service\nmetadata:\n  name: db\n  namespace: dify\nspec:\n  clusterIP: None\n  ports: [{port: 5432}]\n";
        assert!(run(svc, &svc.replace("5432", "5433")).is_empty(), "ports change in place");
        assert_eq!(run(svc, &svc.replace("  clusterIP: None\n", ""))[0].field, "spec.clusterIP");
        let job = "kind: Job\nmetadata:\n  name: m\n  namespace: dify\nspec:\n  template:\n    spec:\n      containers: [{image: a:1}]\n";
        let found = run(job, &job.replace("a:1", "a:2"));
        assert_eq!(
            (found[0].field.as_str(), found[0].after.as_str()),
            ("spec.template", r#"{"spec":{"containers":[{"image":"a:2"}]}}"#)
        );
        assert!(found[0].steps().contains("delete job m"));
    }

    #[test]
    fn a_claim_that_leaves_the_tree_is_named_wherever_it_was() {
        let two = format!("{CLAIM}---\n{}", CLAIM.replace("name: data", "name: wal"));
        let found = run(&two, &format!("{CLAIM}---\n{}", CLAIM.replace("name: data", "name: wal2")));
        assert!(found.iter().any(|r| r.name == "wal" && r.after == REMOVED), "{found:?}");
        assert!(found.iter().find(|r| r.after == REMOVED).unwrap().steps().contains("--allow-recreate"));
        assert!(run(&two, &two).is_empty());
    }

    #[test]
    fn a_claim_template_change_names_the_template_and_field() {
        let sts = "kind: StatefulSet\nmetadata:\n  name: db\n  namespace: dify\nspec:\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      storageClassName: gp3\n";
        let found = run(sts, &sts.replace("gp3", "io2"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].field.as_str(), found[0].before.as_str(), found[0].after.as_str()),
            ("spec.volumeClaimTemplates[data].spec.storageClassName", "gp3", "io2")
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_compared() {
        assert!(run("kind: [", CLAIM).is_empty());
        assert_eq!(bytes("1.5Gi"), Some(1.5 * 1024f64.powi(3)));
        assert_eq!(bytes("x"), None);
    }
}
