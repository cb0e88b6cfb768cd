"""One schemathesis fuzz run per (operation, generation mode), shared by the fuzz tests.

A negative case needs something schemathesis can break: a path parameter with a constraint
(an unconstrained string path value is valid whatever it holds), a header or query
parameter, or a body.  For an operation with nothing to break every draw is rejected and
hypothesis gives up with ``Unsatisfiable`` only after about 460 draws (0.7 s each time,
half a minute per backend over the OpenADR operations) without sending one request.

:class:`Fuzzer` asks schemathesis first (its own choice of locations to negate), runs
hypothesis for every operation that has something to break, and runs the futile search for
only the first operations that have nothing, to confirm that hypothesis agrees.  Where there
is something to break, ``Unsatisfiable`` is a failure: the operation was not fuzzed.
(The futile search is confirmed once for an operation without a body and once for one
with a body, the two ways schemathesis can have nothing to break.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

# schemathesis's own pick of the locations a negative case breaks (private, so the version
# is pinned in constraints.txt; a rename fails this import instead of passing quietly)
from schemathesis.specs.openapi._hypothesis import _draw_negated_locations

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
_NOTHING_GIVEN = dict.fromkeys((ParameterLocation.PATH, ParameterLocation.HEADER,
                                ParameterLocation.COOKIE, ParameterLocation.QUERY))


def negatable(operation) -> bool:  # type: ignore[no-untyped-def]
    """Whether schemathesis finds a location of ``operation`` to break in a negative case."""
    picked = _draw_negated_locations(lambda _strategy: True, operation, GenerationMode.NEGATIVE,
                                     explicit=_NOTHING_GIVEN, body_is_generated=True)
    return picked is not None


@dataclass
class Fuzzer:
    """Fuzz operations; counts what was sent and what had nothing to negate."""

    fuzzed_runs: int = 0      # (operation, mode) runs that sent requests
    nothing_to_negate: int = 0
    #: has a body? -> hypothesis confirmed Unsatisfiable for one such operation
    confirmed: set[bool] = field(default_factory=set)

    def fuzz(self, operation, mode: GenerationMode, examples: int,  # type: ignore[no-untyped-def]
             headers: dict[str, str]) -> None:
        if mode == GenerationMode.NEGATIVE and not negatable(operation):
            self.nothing_to_negate += 1
            shape = bool(operation.body)
            if shape in self.confirmed:
                return
            try:
                self._run(operation, mode, examples, headers)
            except Unsatisfiable:
                self.confirmed.add(shape)
                return
            raise AssertionError(f"{operation.label}: schemathesis saw nothing to negate, "
                                 "yet hypothesis made negative cases")
        self._run(operation, mode, examples, headers)
        self.fuzzed_runs += 1

    @staticmethod
    def _run(operation, mode: GenerationMode, examples: int,  # type: ignore[no-untyped-def]
             headers: dict[str, str]) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
