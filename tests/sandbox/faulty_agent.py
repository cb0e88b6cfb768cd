"""Offtake's real agent with one fault injected at runtime: it ignores setpoints.

Every setpoint it receives is read as "full power" (the fleet runs flat out whatever the
service says); its fail-safes (link loss, under-frequency trip) and telemetry are untouched.
The patch lives here, so production code carries no fault switch. Used by test_certify.py:
``python tests/sandbox/faulty_agent.py --config SITE.yaml`` (the arguments of ``offtake agent``).
"""

from __future__ import annotations

import sys

from offtake.agent import controller


def _ignoring_setpoints(parse):  # type: ignore[no-untyped-def]
    def parse_full_power(raw, site_id):  # type: ignore[no-untyped-def]
        sp = parse(raw, site_id)
        return sp.model_copy(update={"setpoint_mw": 1e6})   # far above any fleet: everything runs
    return parse_full_power


controller.parse_setpoint = _ignoring_setpoints(controller.parse_setpoint)

if __name__ == "__main__":
    from offtake.cli import app

    sys.exit(app(["agent", *sys.argv[1:]]))
