"""`offtake run` on the tiny scenario, once per session for every report test that reads
one (each run takes about 8 s): at Rs 10/kWh, where the tiny scenario's miners pay and MW
are sited, and the same job at Rs 8/kWh, on a copy of the scenario in another folder, for
the comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offtake.cli import app
from offtake.scenario.tiny import write_tiny_scenario

#: 1-hour steps, 300 risk paths; at Rs 10/kWh (35.7 USD/MWh) the tiny mining type
#: (V = 60 USD/MWh, C = 100,000 USD/MW-yr) pays, at Rs 22.98 (82 USD/MWh) it would not
RUN = ["--resolution", "1h", "--paths", "300", "--tariff", "10"]


@dataclass(frozen=True)
class Run:
    out: Path     # the run's output folder
    output: str   # what it printed


def _run(scenario: Path, out: Path, *args: str) -> Run:
    res = CliRunner().invoke(app, ["run", "--scenario", str(scenario), "--out", str(out), *args])
    assert res.exit_code == 0, res.output
    return Run(out, res.output)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_scenario(tmp_path_factory.mktemp("sc") / "tiny")


@pytest.fixture(scope="session")
def tiny_run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The run at Rs 10/kWh; it also exports the plan to PyPSA (``out.parent / "net.nc"``)."""
    out = tmp_path_factory.mktemp("run") / "one"
    return _run(tiny, out, *RUN, "--export-pypsa", str(out.parent / "net.nc"))


@pytest.fixture(scope="session")
def tiny_run_tariff_8(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same job at Rs 8/kWh, on an identical scenario folder elsewhere."""
    base = tmp_path_factory.mktemp("run8")
    return _run(write_tiny_scenario(base / "tiny"), base / "t8", *RUN[:-2], "--tariff", "8")
