"""Offtake: flexible loads on a power system surplus."""
__version__ = "0.1.0"
