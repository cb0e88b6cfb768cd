"""Property-based fuzzing of the core OpenAPI with schemathesis: no 5xx, and every response
matches its documented status codes, media types and schemas.

Each operation gets a bounded number of generated requests (positive and negative data),
sent in-process with an admin token, so the run stays well under a minute per backend.
"""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from offtake.service.security import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OTHERS = re.compile(r"^/(api/v1/)?(openadr|dashboard|oadr)")  # fuzzed by their own tests
EXAMPLES = 8


def test_openapi_fuzz(client, app, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    actors.make_client("op-f", Role.SITE_OPERATOR)
    make_site("fz", owner="op-f")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = actors.headers("admin-f", Role.ADMIN)
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if OTHERS.match(operation.path):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:  # type: ignore[no-untyped-def]
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # no way to make invalid input (no parameters, no body): nothing to negate
                assert mode == GenerationMode.NEGATIVE, operation.label
        fuzzed += 1
    assert fuzzed >= 30  # every core operation was exercised
