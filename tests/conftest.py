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

Under pytest-xdist (``scripts/test.sh`` runs the suite on one worker per core), the tests
marked ``heavy`` (and every test in ``tests/sandbox/``, the programme end to end) never
overlap: each holds one lock file shared by the session's workers while it runs
(:func:`_heavy_one_at_a_time`).  They start real services and agents and assert on
wall-clock behaviour (fail-safe within seconds, events at their start), or load every core
(Dask clusters, an argon2 flood); so each shares the machine with at most one ordinary test.
Each worker also collects them first (:func:`pytest_collection_modifyitems`), so that
``--dist worksteal`` hands them all to the first worker and the lock seldom makes a worker
wait.  (xdist's own ``--dist loadgroup`` would do it, but with pytest 9.2 it silently stops
grouping: pytest-dev/pytest-xdist#1386.)  Serial runs (``-n 0``) are unaffected.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator

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


#: test files whose every test is heavy (new end-to-end tests there are covered too)
HEAVY_DIRS = ("tests/sandbox/",)
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def is_heavy(item: pytest.Item) -> bool:
    return item.get_closest_marker("heavy") is not None or item.nodeid.startswith(HEAVY_DIRS)


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by fixture parameters
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if XDIST_WORKER:  # every worker sorts alike, so their collections still match
        items.sort(key=lambda item: not is_heavy(item))  # stable: heavy ones first


@pytest.fixture(autouse=True)
def _heavy_one_at_a_time(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under xdist, a heavy test runs only while no other heavy test does."""
    if not (XDIST_WORKER and is_heavy(request.node)):
        yield
        return
    # the workers' base temp dirs are popen-gwN/ under the session's one
    lock = tmp_path_factory.getbasetemp().parent / "heavy-tests.lock"
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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
