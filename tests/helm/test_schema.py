"""The chart's values schema and values.yaml, checked without a cluster.

- Every property of helm/barcode-pipeline/values.schema.json, at every depth and inside `$defs`,
  carries its own non-empty `description` (what the key does for a user).
- Repeated shapes (a quantity, resources, an image, a component, probes, an HPA ...) are defined
  once under `$defs` and reached with `$ref`; no inline object schema appears twice.
- values.yaml and each ci/*.yaml (merged over values.yaml, as Helm does) validate with the
  `jsonschema` package (draft-07, the dialect the schema declares), and typical mistakes are
  refused where they are made.
- Every key of values.yaml has a comment (the rule is in `test_every_key_of_values_yaml_has_a_comment`).
- When the pinned helm binary is built, Helm itself (which validates values against the schema
  on `lint` and `template`) accepts the schema, resolves its `$ref`s to `$defs`, and refuses a bad
  value deep inside a shared definition.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.install import HELM

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "barcode-pipeline"
SCHEMA_FILE = CHART / "values.schema.json"
VALUES_FILE = CHART / "values.yaml"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
KUBERNETES = "1.37.0"

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
VALUES: dict[str, Any] = yaml.safe_load(VALUES_FILE.read_text())


# ---------------------------------------------------------------------------------------------
# The schema's structure
# ---------------------------------------------------------------------------------------------

def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), f"only local references are used: {pointer}"
    node: Any = SCHEMA
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def documented_schemas() -> list[tuple[str, dict[str, Any]]]:
    """(path, schema) of everything that documents a key: each value of a `properties` map, each
    map-valued `additionalProperties` (the schema of a map's values) and each `$defs` entry.
    Reached from the root and from every `$defs` entry, through `$ref`, allOf/anyOf/oneOf, items,
    then/else and propertyNames. `if` is a condition, not documentation, and is not walked."""
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[int] = set()

    def visit(node: Any, path: str) -> None:
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        if "$ref" in node:
            visit(resolve(node["$ref"]), f"{path}->{node['$ref']}")
        for key, sub in node.get("properties", {}).items():
            found.append((f"{path}.{key}", sub))
            visit(sub, f"{path}.{key}")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            found.append((f"{path}.<any>", extra))
            visit(extra, f"{path}.<any>")
        for keyword in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(node.get(keyword, [])):
                visit(sub, f"{path}/{keyword}[{i}]")
        for keyword in ("items", "then", "else", "propertyNames", "not"):
            visit(node.get(keyword), f"{path}/{keyword}")

    for name, definition in SCHEMA.get("$defs", {}).items():  # first, so paths name the $defs
        found.append((f"$defs.{name}", definition))
        visit(definition, f"$defs.{name}")
    visit(SCHEMA, "$")
    return found


def all_nodes(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, sub in node.items():
            yield from all_nodes(sub, f"{path}.{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from all_nodes(sub, f"{path}[{i}]")


def test_every_property_has_a_description() -> None:
    documented = documented_schemas()
    assert len(documented) > 100  # the walk reached the whole schema, not just the top level
    missing = [path for path, sub in documented
               if not isinstance(sub.get("description"), str) or len(sub["description"].strip()) < 10]
    assert not missing, f"properties without a (meaningful) description: {missing}"
    # Every property of the values, at any depth, is reached (the walk does not stop at a $ref).
    paths = {path.split("->")[0] for path, _ in documented}
    for expected in ("$.components.gateway", "$.default", "$.kafka.resources", "$.s3.objectTtlDays",
                     "$defs.component.hpa", "$defs.hpa.scaleDownStabilizationSeconds",
                     "$defs.resources.limits", "$defs.resourceList.memory", "$defs.probes.readiness",
                     "$defs.env.<any>", "$defs.gatewaySecretEnv.<any>", "$defs.image.tag"):
        assert expected in paths, expected


def test_the_schema_is_draft_07_and_builds_shared_shapes_from_defs() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft-07/schema#"
    assert "definitions" not in SCHEMA
    defs = SCHEMA["$defs"]
    for name in ("quantity", "resourceList", "resources", "resourcesOverride", "image", "component",
                 "componentDefaults", "probes", "hpa", "pdb", "env", "listenEnv", "service", "storageSize"):
        assert name in defs, name
    props = SCHEMA["properties"]
    assert props["default"]["$ref"] == "#/$defs/componentDefaults"
    # Any component name is accepted, each checked as a component.
    assert props["components"]["additionalProperties"]["$ref"] == "#/$defs/component"
    for name in ("kafka", "minio"):
        assert props[name]["properties"]["resources"]["$ref"] == "#/$defs/resources"
        assert props[name]["properties"]["image"]["$ref"] == "#/$defs/image"
        assert props[name]["properties"]["storage"]["$ref"] == "#/$defs/storageSize"
    # A component has every key of `default` plus its own, with the same definitions.
    default_keys = set(defs["componentDefaults"]["properties"])
    component_keys = set(defs["component"]["properties"])
    assert default_keys < component_keys
    assert {"enabled", "module", "port", "listenEnv", "podNameEnv", "drainEnv", "gatewaySecretEnv",
            "consumer", "probes", "service", "hpa"} <= component_keys - default_keys
    for key in default_keys - {"resources"}:
        assert defs["component"]["properties"][key]["$ref"] == defs["componentDefaults"]["properties"][key]["$ref"]


def test_every_reference_resolves_and_every_definition_is_used() -> None:
    refs = {node["$ref"] for _, node in all_nodes(SCHEMA) if isinstance(node, dict) and "$ref" in node}
    for pointer in refs:
        assert pointer.startswith("#/$defs/"), pointer
        resolve(pointer)  # raises KeyError if it points nowhere
    assert {f"#/$defs/{name}" for name in SCHEMA["$defs"]} == refs


def test_a_shape_is_defined_once() -> None:
    text = SCHEMA_FILE.read_text()
    # The quantity and environment-variable-name patterns are written once, in their $defs.
    quantity = SCHEMA["$defs"]["quantity"]["anyOf"][0]["pattern"]
    assert text.count(json.dumps(quantity)) == 1
    assert text.count(json.dumps(SCHEMA["$defs"]["envName"]["pattern"])) == 1
    # No inline object schema (one with `properties`) or alternative (anyOf) appears twice, once
    # descriptions are set aside: a repeated shape would have to be a $defs entry.
    def shape(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: shape(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [shape(v) for v in node]
        return node

    shapes: dict[str, str] = {}
    for path, node in all_nodes(SCHEMA):
        if ".if" in path:  # `if` conditions (e.g. {enabled: {const: true}}) are tests, not shapes
            continue
        if isinstance(node, dict) and ("properties" in node or "anyOf" in node):
            key = json.dumps(shape(node), sort_keys=True)
            assert key not in shapes, f"{path} repeats {shapes[key]}: define it once under $defs"
            shapes[key] = path


# ---------------------------------------------------------------------------------------------
# Validation (the `jsonschema` package, draft-07 as declared)
# ---------------------------------------------------------------------------------------------

def coalesce(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of a -f file over values.yaml: maps merge key by key, null deletes a key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    return jsonschema.Draft7Validator(SCHEMA)


def errors_of(validator: Any, values: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """Every error with its location, including those nested under allOf/anyOf."""
    out: list[tuple[list[Any], str]] = []

    def add(errors: Any) -> None:
        for error in errors:
            out.append((list(error.absolute_path), error.message))
            add(error.context)

    add(validator.iter_errors(values))
    return out


def test_values_yaml_is_valid(validator: Any) -> None:
    assert errors_of(validator, VALUES) == []


@pytest.mark.parametrize("path", CI_VALUES, ids=lambda p: p.name)
def test_each_ci_values_file_is_valid(validator: Any, path: Path) -> None:
    override = yaml.safe_load(path.read_text()) or {}
    assert errors_of(validator, coalesce(VALUES, override)) == []


GOOD = {
    "a new component": {"components": {"extra": {"enabled": True, "module": "services.extra", "port": 9200}}},
    "a disabled new component with nothing else": {"components": {"extra": {"enabled": False}}},
    "a component overriding only its memory limit": {"components": {"router": {"resources": {
        "limits": {"memory": "1Gi"}}}}},
    "a percentage PDB": {"default": {"pdb": {"maxUnavailable": "50%"}}},
    "numeric quantities": {"default": {"resources": {"requests": {"cpu": 0.5, "memory": 134217728},
                                                     "limits": {"memory": "1.5Gi", "cpu": 2}}}},
    "an HPA on another component": {"components": {"router": {"hpa": {
        "enabled": True, "minReplicas": 1, "maxReplicas": 2, "targetCPUUtilizationPercentage": 80,
        "scaleDownStabilizationSeconds": 0}}}},
}


@pytest.mark.parametrize("override", GOOD.values(), ids=GOOD.keys())
def test_valid_variations_are_accepted(validator: Any, override: dict[str, Any]) -> None:
    assert errors_of(validator, coalesce(VALUES, override)) == []


BAD = {  # what a user gets wrong -> where the schema must say so
    "an unknown key in a component": ({"components": {"gateway": {"replcias": 3}}}, ["components", "gateway"]),
    "an unknown key in a new component": ({"components": {"extra": {"enabled": True, "module": "services.x",
                                                                    "port": 9200, "bogus": 1}}},
                                          ["components", "extra"]),
    "a bad memory quantity in default": ({"default": {"resources": {"limits": {"memory": "384MB"}}}},
                                         ["default", "resources", "limits", "memory"]),
    "a bad memory quantity in a component": ({"components": {"generator": {"resources": {
        "requests": {"memory": "lots"}}}}}, ["components", "generator", "resources", "requests", "memory"]),
    "a bad storage size": ({"kafka": {"storage": "5 GB"}}, ["kafka", "storage"]),
    "negative replicas": ({"components": {"generator": {"replicas": -1}}}, ["components", "generator", "replicas"]),
    "negative default replicas": ({"default": {"replicas": -1}}, ["default", "replicas"]),
    "a default missing its memory limit": ({"default": {"resources": {"limits": {"memory": None}}}},
                                           ["default", "resources", "limits"]),
    "a component-only key in default": ({"default": {"module": "services.gateway"}}, ["default"]),
    "a new component without its port": ({"components": {"extra": {"enabled": True, "module": "services.x"}}},
                                         ["components", "extra"]),
    "a new component without enabled": ({"components": {"extra": {"module": "services.x", "port": 9200}}},
                                        ["components", "extra"]),
    "a shipped component running another module": ({"components": {"gateway": {"module": "services.router"}}},
                                                   ["components", "gateway", "module"]),
    "an enabled HPA without bounds": ({"components": {"router": {"hpa": {"enabled": True}}}},
                                      ["components", "router", "hpa"]),
    "a PDB that is neither a count nor a percentage": ({"default": {"pdb": {"maxUnavailable": "half"}}},
                                                       ["default", "pdb", "maxUnavailable"]),
    "a lower-case environment variable": ({"components": {"router": {"env": {"log_level": "DEBUG"}}}},
                                          ["components", "router", "env"]),
    "a probe path without a slash": ({"components": {"router": {"probes": {"readiness": "readyz"}}}},
                                     ["components", "router", "probes", "readiness"]),
    "a port out of range": ({"components": {"gateway": {"service": {"port": 70000}}}},
                            ["components", "gateway", "service", "port"]),
    "zero partitions": ({"kafka": {"partitions": 0}}, ["kafka", "partitions"]),
    "an unknown pull policy": ({"image": {"pullPolicy": "Sometimes"}}, ["image", "pullPolicy"]),
    "an API key that is not a hash": ({"gateway": {"apiKeys": ["secret-key=CompanyA"]}}, ["gateway", "apiKeys", 0]),
    "an image tag with a colon": ({"kafka": {"image": {"tag": "4.1:0"}}}, ["kafka", "image", "tag"]),
}


@pytest.mark.parametrize(("override", "where"), BAD.values(), ids=BAD.keys())
def test_invalid_values_are_refused_where_they_are_wrong(validator: Any, override: dict[str, Any],
                                                         where: list[Any]) -> None:
    errors = errors_of(validator, coalesce(VALUES, override))
    assert errors, "accepted"
    assert any(path == where for path, _ in errors), errors


# ---------------------------------------------------------------------------------------------
# Comments in values.yaml
# ---------------------------------------------------------------------------------------------

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?: +(?P<value>.*))?$")
FLOW_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_.-]+)\s*:")


def split_comment(text: str) -> tuple[str, str]:
    """(content, trailing comment) of a line: `#` starts a comment outside quotes, after a space."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip(), text[i + 1:].strip()
    return text.rstrip(), ""


def names(comment: str, key: str) -> bool:
    """Whether a comment names a key: the key as a whole word (`kafka.partitions` names partitions;
    GATEWAY_PORT does not name port)."""
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(key)}(?![A-Za-z0-9_-])", comment) is not None


@dataclass
class KeyLine:
    number: int
    indent: int
    key: str
    parent: KeyLine | None
    group: int  # lines of a group are not separated by a blank line
    comment: str  # the comment block directly above, then the trailing comment
    flow_keys: list[str] = field(default_factory=list)


def parse_keys(text: str) -> list[KeyLine]:
    lines: list[KeyLine] = []
    pending: list[str] = []
    stack: list[KeyLine] = []
    group = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            pending, group = [], group + 1
            continue
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        content, trailing = split_comment(raw)
        match = KEY_LINE.match(content)
        # values.yaml uses block mappings and one-line flow maps only; anything else (lists of
        # maps, multi-line values) must extend this parser rather than go unchecked.
        assert match, f"line {number}: not a `key: value` line, the comment check cannot read it: {raw!r}"
        value = match["value"] or ""
        assert value.count("{") == value.count("}"), f"line {number}: multi-line flow map"
        indent = len(match["indent"])
        while stack and stack[-1].indent >= indent:
            stack.pop()
        line = KeyLine(number, indent, match["key"], stack[-1] if stack else None, group,
                       " ".join([*pending, trailing]).strip(),
                       FLOW_KEY.findall(value) if value.startswith("{") else [])
        lines.append(line)
        stack.append(line)
        pending = []
    return lines


def uncommented_keys(text: str) -> list[str]:
    """The rule: a key line is covered by its own comment, i.e. a trailing `# ...` or a comment
    block directly above it (no blank line in between). A key line without one, and every key
    inside a one-line flow map (`{cpu: 100m, memory: 128Mi}`), is covered only if a comment
    *names* it (as a whole word): its own line's comment (for flow-map keys), the comment of an
    enclosing key (any depth), or the comment of an earlier sibling of the line in the same
    mapping with no blank line between them. A comment is the block directly above a key line
    plus its trailing comment. Returns the dotted paths of keys not covered."""
    lines = parse_keys(text)
    missing = []

    def named_by_context(line: KeyLine, key: str, include_self: bool) -> bool:
        candidates = [line] if include_self else []  # a flow-map key: its own line's comment
        candidates += [other for other in lines  # earlier siblings, no blank line in between
                       if other.parent is line.parent and other.group == line.group
                       and other.number < line.number]
        node = line.parent
        while node is not None:  # enclosing keys, any depth
            candidates.append(node)
            node = node.parent
        return any(names(c.comment, key) for c in candidates)

    def path_of(line: KeyLine) -> str:
        parts = []
        node: KeyLine | None = line
        while node is not None:
            parts.append(node.key)
            node = node.parent
        return ".".join(reversed(parts))

    for line in lines:
        if not line.comment and not named_by_context(line, line.key, include_self=False):
            missing.append(path_of(line))
        for key in line.flow_keys:
            if not named_by_context(line, key, include_self=True):
                missing.append(f"{path_of(line)}.{key}")
    return missing


def test_the_comment_rule_finds_what_it_should() -> None:
    text = """\
# Top.
a:
  b: 1  # about b
  c: 2
  # Names d and e: d ... e ...
  d: 3
  e: 4
  f: {x: 1, y: 2}  # names x only

  g: 5
# Names p, q.
p: {q: 1, r: 2}
"""
    assert sorted(uncommented_keys(text)) == ["a.c", "a.f.y", "a.g", "p.r"]


def test_every_key_of_values_yaml_has_a_comment() -> None:
    lines = parse_keys(VALUES_FILE.read_text())
    assert len(lines) > 100  # every key line was read
    assert uncommented_keys(VALUES_FILE.read_text()) == []


# ---------------------------------------------------------------------------------------------
# Helm itself (when the pinned binary is built)
# ---------------------------------------------------------------------------------------------

needs_helm = pytest.mark.skipif(not HELM.exists(), reason=f"{HELM} is not built (make helm)")


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HELM), *args, "--kube-version", KUBERNETES], capture_output=True, text=True,
                          timeout=120)


@needs_helm
def test_helm_lint_accepts_the_schema() -> None:
    result = helm("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_helm
@pytest.mark.parametrize("path", CI_VALUES, ids=lambda p: p.name)
def test_helm_template_accepts_each_ci_values_file(path: Path) -> None:
    result = helm("template", "x", str(CHART), "-f", str(path))
    assert result.returncode == 0, result.stderr


@needs_helm
def test_helm_follows_refs_into_defs() -> None:
    # The quantity pattern lives in $defs/quantity, three references down from the value.
    result = helm("template", "x", str(CHART), "--set", "components.generator.resources.limits.memory=lots")
    assert result.returncode != 0
    assert "/components/generator/resources/limits/memory" in result.stderr, result.stderr
    assert "does not match pattern" in result.stderr, result.stderr


@needs_helm
def test_helm_accepts_a_new_component() -> None:
    extra = {"components": {"extra": {"enabled": True, "module": "services.router", "port": 9200}}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump(extra, values)
        values.flush()
        result = helm("template", "x", str(CHART), "-f", values.name)
    assert result.returncode == 0, result.stderr
    deployments = [doc["metadata"]["name"] for doc in yaml.safe_load_all(result.stdout)
                   if doc and doc["kind"] == "Deployment"]
    assert "x-barcode-pipeline-extra" in deployments, deployments
