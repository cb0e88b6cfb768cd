"""Scenario data model and I/O."""

from offtake.scenario.io import DEFAULT_SCENARIO, builtin_names, export_scenario, load_scenario
from offtake.scenario.schema import FlexKind, Scenario, ScenarioConfig

__all__ = ["DEFAULT_SCENARIO", "FlexKind", "Scenario", "ScenarioConfig", "builtin_names", "export_scenario", "load_scenario"]
