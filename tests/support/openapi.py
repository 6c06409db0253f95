"""Responses checked against the KSeF OpenAPI's own schemas (the copy beside the simulator).

OpenAPI 3.0 says `nullable: true` where JSON Schema says `null` is a type; the spec's
components are rewritten that way once, then each body is validated with jsonschema-rs
against the schema the spec declares for that operation, status and content type.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import httpx
import jsonschema_rs

from tests.support import ROOT

SPEC = ROOT / "deploy/local/ksef-sim/ksef_sim/schemas/ksef-api-2.6.0-te.openapi.json"


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "example"}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _components() -> dict[str, Any]:
    converted: dict[str, Any] = _json_schema(copy.deepcopy(spec()["components"]))
    return converted


def declared_schema(method: str, path: str, status: int, content_type: str) -> dict[str, Any]:
    operation = spec()["paths"][path][method.lower()]
    response = operation["responses"][str(status)]
    media = response["content"][content_type]
    return {"components": _components(), **_json_schema(media["schema"])}


def check(response: httpx.Response, method: str, path: str) -> Any:
    """Fail unless `response` (to `method path`, the spec's path template without `/v2`) is
    a status the operation declares and its JSON body matches the declared schema."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    operation = spec()["paths"][path][method.lower()]
    assert str(response.status_code) in operation["responses"], (
        f"{method} {path}: status {response.status_code} is not declared"
    )
    declared = operation["responses"][str(response.status_code)].get("content", {})
    if not declared:
        assert not response.content, f"{method} {path}: body where none is declared"
        return None
    assert content_type in declared, f"{method} {path}: {content_type} not in {list(declared)}"
    if content_type == "application/xml":
        return response.content
    body = response.json()
    schema = declared_schema(method, path, response.status_code, content_type)
    validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
    errors = [str(error) for error in validator.iter_errors(body)]
    assert not errors, f"{method} {path} {response.status_code}: {errors[:5]} in {body}"
    return body
