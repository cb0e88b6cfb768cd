"""schemathesis fuzzing of the OpenADR 3 and dashboard operations: no 5xx, and every
response matches its documented status codes, media types and schemas."""

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
MINE = re.compile(r"^/(openadr3/|api/v1/dashboard/)")
#: (role, generation modes, examples per mode): the admin gets everything, a VEN's
#: site operator the valid requests (its own-site rules)
PLAN = [("admin-f", Role.ADMIN, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), 3),
        ("ven-f", Role.SITE_OPERATOR, (GenerationMode.POSITIVE,), 2)]


def _fuzz(operation, mode: GenerationMode, examples: int, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # no way to make invalid input (no parameters, no body): nothing to negate
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_openadr_and_dashboard_fuzz(client, app, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    actors.make_client("ven-f", Role.SITE_OPERATOR)
    make_site("fz", owner="ven-f")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not MINE.match(operation.path):
            continue
        for who, role, modes, examples in PLAN:
            for mode in modes:
                _fuzz(operation, mode, examples, actors.headers(who, role))
        fuzzed += 1
    assert fuzzed >= 20  # every OpenADR and dashboard operation was exercised
