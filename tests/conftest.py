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

Under pytest-xdist (``scripts/test.sh`` runs the suite on one worker per core), a test that
checks wall-clock behaviour (marked ``timing``, and every test in ``tests/sandbox/``, the
programme end to end: a site at its safe draw within seconds, an event applied at its
start, a certificate's settle times) never runs beside one that loads several cores
(marked ``heavy``: Dask clusters, the argon2 flood, multi-process servers under kill -9).
Each uses at most about one core, so on a machine with a core per worker it keeps its
core.  :func:`_timing_apart_from_heavy` does it with a reader-writer lock shared by the
session's workers (timing tests share it, a heavy test holds it alone; a waiting heavy
test goes next).  Each worker collects heavy tests first and timing tests last
(:func:`pytest_collection_modifyitems`): ``--dist worksteal`` gives the first worker the
heavy ones while the other runs ordinary tests, and the timing ones, at the end of the
last worker's share, are shared out when a worker runs dry, so the lock seldom waits.
Serial runs (``-n 0``) are unaffected.
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


#: test files whose every test is a timing test (new end-to-end tests there are covered too)
TIMING_DIRS = ("tests/sandbox/",)
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _kind(item: pytest.Item) -> str:
    if item.get_closest_marker("heavy") is not None:
        return "heavy"
    if item.get_closest_marker("timing") is not None or item.nodeid.startswith(TIMING_DIRS):
        return "timing"
    return "ordinary"


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by fixture parameters
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if XDIST_WORKER:  # every worker sorts alike, so their collections still match
        rank = {"heavy": 0, "ordinary": 1, "timing": 2}
        items.sort(key=lambda item: rank[_kind(item)])  # stable within each kind


@pytest.fixture(autouse=True)
def _timing_apart_from_heavy(request: pytest.FixtureRequest,
                             tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under xdist: timing tests share a lock that a heavy test holds alone."""
    kind = _kind(request.node)
    if not XDIST_WORKER or kind == "ordinary":
        yield
        return
    shared = tmp_path_factory.getbasetemp().parent  # the workers' base temps are popen-gwN/ in it
    with (shared / "xdist-heavy-turn.lock").open("a") as turn, \
            (shared / "xdist-heavy.lock").open("a") as room:
        fcntl.flock(turn, fcntl.LOCK_EX)  # a heavy test keeps the turn: later timing tests wait
        fcntl.flock(room, fcntl.LOCK_EX if kind == "heavy" else fcntl.LOCK_SH)
        if kind == "timing":
            fcntl.flock(turn, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)
            fcntl.flock(turn, fcntl.LOCK_UN)


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
