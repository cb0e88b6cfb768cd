"""Validate VTN responses against the OpenADR 3 specifications' own schemas.

``Spec("3.1.0").check(resp, "get", "/events")`` asserts that ``resp.status_code`` is one
the operation documents and that the body validates against the schema documented for
that status (OpenAPI 3.0 ``nullable`` turned into JSON Schema, Draft 4 for the spec's
boolean ``exclusiveMaximum``).

One change to the 3.1.0 text: ``ven`` and ``resource`` are ``allOf`` objectMetadata
(``objectType`` one of PROGRAM..RESOURCE) and BlVenRequest/BlResourceRequest
(``objectType`` BL_VEN_REQUEST / BL_RESOURCE_REQUEST), which no object can satisfy; the
request-only enum is dropped from the response schema so ``objectType: VEN`` validates.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

#: copies of the published OpenADR 3.0.1 and 3.1.0 OpenAPI files (Apache 2.0, see LICENSE
#: and NOTICE there), so a clean clone tests against them
SPECS = Path(__file__).with_name("openadr_specs")


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k not in ("discriminator", "example")}
        if out.pop("nullable", False):
            if "type" in out and isinstance(out["type"], str):
                out["type"] = [out["type"], "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


class Spec:
    def __init__(self, version: str) -> None:
        self.version = version
        raw = yaml.safe_load((SPECS / version / "openadr3.yaml").read_text())
        comps = raw["components"]
        if version == "3.1.0":
            for name in ("BlVenRequest", "BlResourceRequest"):
                comps["schemas"][name]["properties"]["objectType"].pop("enum", None)
        self.paths = raw["paths"]
        self.components = _nullable(comps)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - a handful of Spec objects per session
    def _validator(self, method: str, template: str, status: str) -> Any:
        op = self.paths[template][method]
        resp = op["responses"].get(status)
        if resp is None:
            return None
        if "$ref" in resp:
            resp = self.components["responses"][resp["$ref"].rsplit("/", 1)[1]]
        content = resp.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        if media is None or "schema" not in media:
            return False
        schema = {**_nullable(copy.deepcopy(media["schema"])), "components": self.components}
        return jsonschema_rs.Draft4Validator(schema)

    def statuses(self, method: str, template: str) -> set[int]:
        return {int(s) for s in self.paths[template][method]["responses"]}

    def check(self, resp: Any, method: str, template: str) -> Any:
        """Assert ``resp`` is documented and schema-valid; returns its JSON body."""
        method = method.lower()
        documented = self.statuses(method, template)
        assert resp.status_code in documented, (
            f"{method.upper()} {template} answered {resp.status_code}, not one of "
            f"{sorted(documented)} ({self.version}): {resp.text[:500]}")
        body = resp.json()
        validator = self._validator(method, template, str(resp.status_code))
        if validator:
            errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
                      for e in validator.iter_errors(body)]
            assert not errors, (f"{method.upper()} {template} {resp.status_code} body fails the "
                                f"{self.version} schema: {errors[:5]}\n"
                                f"{json.dumps(body)[:1500]}")
        if resp.status_code >= 400:
            assert body.get("status") == resp.status_code and body.get("title"), body
        return body
