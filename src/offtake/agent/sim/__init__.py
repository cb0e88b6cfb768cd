"""Simulators that speak the real protocols, so drivers are exercised without hardware."""
