"""Figures and reports (matplotlib PNG, plotly HTML)."""
