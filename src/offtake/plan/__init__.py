"""Planning engine: where to site how many MW of flexible loads, and how they run.

Public API (see docs/plan.md)::

    from offtake.plan import plan, PlanOptions
    result = plan(scenario, PlanOptions(resolution_h=3))
    result.capacity_mw, result.flex_summary(), result.generation_by_fuel(), result.to_json()

Lower level: ``prepare`` (arrays), ``build_model`` (linopy, build only), ``solve``
(HiGHS, typed status), ``check_solution`` (numpy re-check), ``diagnose`` (why
infeasible), ``to_pypsa`` / ``write_netcdf`` / ``optimize_network`` (PyPSA cross-check).
"""

from offtake.plan.check import check_solution
from offtake.plan.diagnose import diagnose
from offtake.plan.inputs import PlanInputs, PlanOptions, prepare
from offtake.plan.model import build_model
from offtake.plan.pypsa_io import extra_functionality, optimize_network, to_pypsa, write_netcdf
from offtake.plan.result import PlanResult, Solution
from offtake.plan.run import plan, plan_inputs
from offtake.plan.solve import SolveResult, SolveStatus, solve

__all__ = [
    "PlanInputs", "PlanOptions", "PlanResult", "Solution", "SolveResult", "SolveStatus", "build_model",
    "check_solution", "diagnose", "extra_functionality", "optimize_network", "plan", "plan_inputs",
    "prepare", "solve", "to_pypsa", "write_netcdf",
]
