"""Suite-wide test policy: under ``CI=true`` a missing required component fails the run.

Chromium (browser tests of the report and the dashboard), PostgreSQL on 127.0.0.1
(every service test runs on SQLite *and* PostgreSQL) and the Python 3.12 virtualenv for
the third-party OpenADR 3 client are required in CI.  Locally a test that needs one of
them is skipped with a message saying how to get it; in CI it fails, so a green run
means those tests ran.

* Tests ask through the ``require_component`` fixture (or call :func:`require_component`).
* A safety net (:func:`pytest_runtest_makereport`) turns any skip whose reason names one
  of these components into a failure under ``CI=true``, so a new ``pytest.skip`` cannot
  quietly bring the old hole back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
COMPONENTS = re.compile(r"chromium|postgres|python\s*(>=\s*)?3\.12|openadr3-client|\.venv312",
                        re.IGNORECASE)


def require_component(name: str, available: bool, how_to_get_it: str) -> None:
    """Skip (locally) or fail (``CI=true``) the calling test when ``name`` is missing."""
    if available:
        return
    msg = f"{name} is missing: {how_to_get_it}"
    if IN_CI:
        pytest.fail(f"CI=true and a required component is missing: {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(name="require_component")
def _require_component_fixture() -> Callable[[str, bool, str], None]:
    return require_component


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if COMPONENTS.search(reason):
        report.outcome = "failed"
        report.longrepr = f"CI=true: a required component is missing, so this must not skip: {reason}"
