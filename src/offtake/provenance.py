"""Provenance stamp of a run: what produced these numbers, so two runs can be compared and rerun.

``stamp(...)`` returns a plain dict (JSON-ready) with the Offtake version, the git commit
of the source tree when there is one, the versions of Python and of the numerical stack
(linopy, HiGHS, pandas, numpy), the options that decide the numbers (seed, resolution,
representative days, tariff, cap, Monte Carlo paths) and the scenario's path and checksum.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

# options that change the numbers: two runs that differ here are not like for like
COMPARABLE_KEYS = ("resolution_h", "days", "scenario_sha256")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the git checkout holding ``path`` (default: this source file), '+dirty' if modified."""
    where = (path or Path(__file__)).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=False)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5, check=False)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def scenario_checksum(folder: Path) -> str:
    """sha256 over the scenario folder's files (relative names and bytes, sorted by name)."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(f.relative_to(folder)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def resolve_scenario_path(scenario: str | None) -> Path | None:
    """The folder a scenario argument names (a path or a built-in name); None if it names none."""
    from offtake.errors import OfftakeError
    from offtake.scenario.io import resolve

    try:
        return Path(resolve(scenario)).resolve()
    except OfftakeError:
        return None


def stamp(options: dict[str, Any], scenario: str | None, argv: list[str] | None = None) -> dict[str, Any]:
    """The provenance of a run (see module docstring)."""
    from offtake import __version__

    folder = resolve_scenario_path(scenario)
    return {
        "offtake_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "linopy": _version("linopy"),
        "highspy": _version("highspy"),
        "pandas": _version("pandas"),
        "numpy": _version("numpy"),
        "scenario": scenario or "pakistan-2025",
        "scenario_path": None if folder is None else str(folder),
        "scenario_sha256": None if folder is None else scenario_checksum(folder),
        **{k: options.get(k) for k in ("resolution_h", "days", "seed", "tariff_pkr_per_kwh", "programme_cap_mw",
                                        "risk_paths", "risk_months")},
        "command_line": " ".join(["offtake", *(sys.argv[1:] if argv is None else argv)]),
    }


def footer_text(p: dict[str, Any]) -> str:
    """One line for the report footer."""
    res = f"{p['days']} representative days" if p.get("days") else f"{p.get('resolution_h')}-hour steps"
    sha = (p.get("scenario_sha256") or "")[:12]
    return (f"Offtake {p['offtake_version']}" + (f" (git {p['git_commit'][:12]})" if p.get("git_commit") else "")
            + f"; Python {p['python']}, linopy {p['linopy']}, HiGHS (highspy) {p['highspy']}, pandas {p['pandas']}; "
            f"scenario {p['scenario']} (sha256 {sha}…); {res}; seed {p.get('seed')}; command: {p['command_line']}")
