"""The `service-desc` of /ogc: the app's own OpenAPI document cut to the OGC subtree, as 3.0.

OGC clients (owslib, ogcapi-registry) read the API definition the landing page links and expect
OpenAPI 3.0 paths relative to the OGC API's root. FastAPI writes 3.1 for the whole app, so this
takes its `/ogc` paths, strips the prefix (the server URL carries it), keeps only the components
they reference, and rewrites the few 3.1 idioms FastAPI uses into their 3.0 forms.
"""

from __future__ import annotations

import copy
from typing import Any

PREFIX = "/ogc"
REF = "#/components/schemas/"


ITEMS = "/collections/{collectionId}/items"


def ogc_document(
    app_doc: dict[str, Any], base: str, queryables: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """OpenAPI 3.0.3 of the OGC API at `base` (…/ogc) from the app's 3.1 document.

    `queryables` (collection id → property → JSON Schema) adds one items path per collection
    listing its queryables as query parameters (Part 3, queryables-query-parameters): clients
    such as GDAL send attribute filters to the server only for parameters they find there.
    """
    paths = {
        _ogc_names(path[len(PREFIX) :] or "/"): _rename_parameters(copy.deepcopy(item))
        for path, item in app_doc.get("paths", {}).items()
        if path == PREFIX or path.startswith(PREFIX + "/")
    }
    generic = paths.get(ITEMS)
    if generic is not None:
        for collection_id, props in queryables.items():
            item = copy.deepcopy(generic)
            get = item["get"]
            get["operationId"] = f"items_{collection_id}".replace("-", "_")
            get["parameters"] = [p for p in get["parameters"] if p.get("in") != "path"] + [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in props.items()
            ]
            paths[f"/collections/{collection_id}/items"] = item
    schemas = app_doc.get("components", {}).get("schemas", {})
    used = _referenced(paths, schemas)
    doc = {
        "openapi": "3.0.3",
        "info": {
            "title": "GridGov OGC API – Features",
            "version": app_doc.get("info", {}).get("version", "0"),
            "description": "Governance areas, buildings and incidents (public fields).",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {"schemas": {name: copy.deepcopy(schemas[name]) for name in sorted(used)}},
    }
    return _to_30(doc)


# The standard's own names for the path parameters (clients such as GDAL look them up by name).
OGC_NAMES = {"collection_id": "collectionId", "feature_id": "featureId"}


def _ogc_names(path: str) -> str:
    for ours, theirs in OGC_NAMES.items():
        path = path.replace("{" + ours + "}", "{" + theirs + "}")
    return path


def _rename_parameters(item: dict[str, Any]) -> dict[str, Any]:
    for operation in item.values():
        for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
            if param.get("in") == "path":
                param["name"] = OGC_NAMES.get(param["name"], param["name"])
    return item


def _referenced(node: Any, schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas `node` refers to, following references transitively."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF):
                name = ref[len(REF) :]
                if name not in found and name in schemas:
                    found.add(name)
                    stack.append(schemas[name])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _to_30(node: Any) -> Any:
    """Rewrite OpenAPI 3.1 / JSON Schema 2020-12 idioms as OpenAPI 3.0 schema objects."""
    if isinstance(node, list):
        return [_to_30(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out.update(rest[0])
            elif len(rest) == 1:
                out["allOf"] = rest
            else:
                out[key] = rest
            out["nullable"] = True
    kind = out.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        out["type"] = types[0] if types else "string"
        if "null" in kind:
            out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    examples = out.get("examples")
    if isinstance(examples, list) and "in" not in out and "schema" not in out:
        out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out["minimum" if bound == "exclusiveMinimum" else "maximum"] = value
            out[bound] = True
    for key in ("contentMediaType", "contentEncoding", "$schema"):
        out.pop(key, None)
    return out
