"""Strict offline checks of rendered Kubernetes documents (the project's own validator).

Reads outputs of `kubectl kustomize` (one file each) and checks every document:
  - against the strict JSON schemas that kubernetes-validate bundles, for several Kubernetes
    versions (unknown fields are errors; a built-in kind with no schema is an error);
  - custom resources against the OpenAPI schemas of the CustomResourceDefinitions in the folder
    given as third argument (tests/fixtures/crds/, see its PROVENANCE.md); a custom kind without
    one is an error;
  - a few rules the API server enforces that schemas do not express: object names,
    selectors against template labels, resource quantities.

Usage: validate_k8s.py VERSIONS CRD_FOLDER RENDERED... (VERSIONS: `1.29,1.37`, or empty for the
default). For each file in turn, prints one line per problem, then
`SUMMARY <documents> <versions> <problems>`. Exit 0 when it ran.
"""

import functools
import os
import re
import sys

try:
    import jsonschema
    import kubernetes_validate
    import yaml
    from kubernetes_validate import utils
except ImportError as e:
    # validate-k8s installs the pinned packages and runs this again.
    print(f"validate_k8s.py: {e}", file=sys.stderr)
    sys.exit(3)

# kubernetes-validate reads and parses a kind's schema file, and the whole _definitions.json, on
# every call, and lists its bundled versions twice per call: read each once per run instead (the
# validation itself is unchanged; a run over one tree spent most of its time re-reading JSON).
utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
utils.all_versions = functools.lru_cache(maxsize=None)(utils.all_versions)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN = re.compile(rf"^{LABEL}(\.{LABEL})*$")
SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


def versions_to_check(wanted):
    """The versions asked for, else the newest four bundled and 1.29 (our oldest)."""
    bundled = sorted({v.rsplit(".", 1)[0] for v in utils.all_versions()}, key=lambda v: tuple(map(int, v.split("."))))
    if wanted:
        asked = [".".join(v.strip().lstrip("v").split(".")[:2]) for v in wanted.split(",") if v.strip()]
        missing = [v for v in asked if v not in bundled]
        if missing:
            sys.exit(f"kubernetes-validate bundles {bundled[0]}..{bundled[-1]}, not {', '.join(missing)}")
        return asked
    return sorted(set(bundled[-4:]) | ({"1.29"} & set(bundled)), key=lambda v: tuple(map(int, v.split("."))))


def pod_spec(doc):
    spec = doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}
    if doc["kind"] == "Pod":
        return spec
    return (spec.get("template") or {}).get("spec") or {}


def api_server_rules(doc):
    """What the API server would refuse although the schema allows it."""
    kind, meta = doc["kind"], doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    if kind in ("Service", "Namespace"):
        if not SERVICE_NAME.match(name) or len(name) > 63:
            yield f"metadata.name {name!r} is not a DNS-1035 label"
    elif name and (not SUBDOMAIN.match(name) or len(name) > 253):
        yield f"metadata.name {name!r} is not a DNS-1123 subdomain"
    spec = doc.get("spec") or {}
    if kind in WORKLOADS:
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        for key, value in selector.items():
            if labels.get(key) != value:
                yield f"spec.selector.matchLabels {key}={value} is not a label of spec.template"
    pod = pod_spec(doc)
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        for section in ("requests", "limits"):
            for resource, quantity in ((container.get("resources") or {}).get(section) or {}).items():
                if not QUANTITY.match(str(quantity)):
                    yield f"container {container.get('name')}: resources.{section}.{resource} {quantity!r} is not a quantity"


def crd_schemas(folder):
    """Every served version of the CustomResourceDefinitions in `folder` (*.yaml) →
    {(apiVersion, kind): openAPIV3Schema}."""
    schemas = {}
    if not folder or not os.path.isdir(folder):
        return schemas
    for file in sorted(os.listdir(folder)):
        if not file.endswith(".yaml"):
            continue
        with open(os.path.join(folder, file)) as f:
            for crd in yaml.load_all(f, Loader=LOADER):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for version in spec["versions"]:
                    if version.get("served"):
                        api_version = f"{spec['group']}/{version['name']}"
                        schemas[(api_version, spec["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return schemas


def strict(schema):
    """A CRD's structural schema with unknown fields refused, as the API server prunes/refuses them."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            if not schema.get("x-kubernetes-preserve-unknown-fields"):
                out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def main():
    wanted, crd_folder, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    versions = versions_to_check(wanted)
    custom = {}  # read when the first custom resource comes
    for path in paths:
        check_file(path, versions, crd_folder, custom)


def check_file(path, versions, crd_folder, custom):
    """Print the problems of one rendered file, then its SUMMARY line."""
    with open(path) as f:
        docs = [d for d in yaml.load_all(f, Loader=LOADER) if d is not None]
    problems = []
    for doc in docs:
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            problems.append(f"document without apiVersion and kind: {str(doc)[:60]!r}")
            continue
        meta = doc.get("metadata") or {}
        where = f"{doc['kind']} {meta.get('namespace', '-')}/{meta.get('name', '?')}"
        try:
            problems.extend(f"{where}: {p}" for p in api_server_rules(doc))
        except (AttributeError, TypeError) as e:
            problems.append(f"{where}: malformed ({e})")
        failed = {}
        custom_kind = False
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                at = ".".join(map(str, e.path)) or "(root)"
                failed.setdefault(f"{at}: {e.message}", []).append(version)
            except kubernetes_validate.SchemaNotFoundError:
                custom_kind = True
                break
        if custom_kind:
            if not custom:
                custom.update(crd_schemas(crd_folder))
            schema = custom.get((doc["apiVersion"], doc["kind"]))
            if schema is None:
                problems.append(f"{where}: no schema for {doc['apiVersion']} {doc['kind']} (removed, misspelt, or a custom resource whose CRD is not in tests/fixtures/crds)")
                continue
            for error in jsonschema.Draft7Validator(strict(schema)).iter_errors(doc):
                at = ".".join(map(str, error.path)) or "(root)"
                problems.append(f"{where} [{doc['apiVersion']} schema]: {at}: {error.message}")
            continue
        problems.extend(f"{where} [k8s {','.join(vs)}]: {msg}" for msg, vs in failed.items())
    for p in problems:
        print("ERROR", p)
    print("SUMMARY", len(docs), ",".join(versions), len(problems))


if __name__ == "__main__":
    main()
