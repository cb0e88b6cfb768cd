"""Benchmark: `offtake assess` on the built-in scenario, end to end (a fresh process).

Reports the wall time of the whole command (imports, load, LP, min-cut, headroom,
CSV/JSON/PNG writing) and of the in-process stages.  Target: under 3 s end to end.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record  # noqa: E402


def main() -> None:
    exe = Path(sys.executable).with_name("offtake")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for label, extra in (("with_plots", []), ("no_plots", ["--no-plots"])):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run([str(exe), "assess", "--out", tmp, *extra], check=True, capture_output=True)
                times.append(time.perf_counter() - t0)
            runs[label] = min(times)
    from offtake.scenario import load_scenario
    from offtake.surplus import assess

    t0 = time.perf_counter()
    sc = load_scenario()
    t1 = time.perf_counter()
    assess(sc)
    t2 = time.perf_counter()
    record("assess", {
        "end_to_end_s": round(runs["with_plots"], 3), "end_to_end_no_plots_s": round(runs["no_plots"], 3),
        "load_scenario_s": round(t1 - t0, 3), "assess_stage_s": round(t2 - t1, 3), "target_s": 3.0,
    })


if __name__ == "__main__":
    main()
