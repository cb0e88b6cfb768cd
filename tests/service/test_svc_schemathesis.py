"""Property-based fuzzing of the core OpenAPI with schemathesis: no 5xx, and every response
matches its documented status codes, media types and schemas.

Each operation gets a bounded number of generated requests (positive and negative data),
sent in-process with an admin token, so the run stays well under a minute per backend.
"""

from __future__ import annotations

import re

import schemathesis
from fuzz_support import Fuzzer
from schemathesis import GenerationMode

from offtake.service.security import Role

OTHERS = re.compile(r"^/(api/v1/)?(openadr|dashboard|oadr)")  # fuzzed by their own tests
EXAMPLES = 8


def test_openapi_fuzz(client, app, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    actors.make_client("op-f", Role.SITE_OPERATOR)
    make_site("fz", owner="op-f")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = actors.headers("admin-f", Role.ADMIN)
    fuzzer = Fuzzer()
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if OTHERS.match(operation.path):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzzer.fuzz(operation, mode, EXAMPLES, headers)
        fuzzed += 1
    assert fuzzed >= 30  # every core operation was exercised
    assert fuzzer.nothing_to_negate == 0 or fuzzer.confirmed
    assert fuzzer.fuzzed_runs >= fuzzed  # every positive run at the least
