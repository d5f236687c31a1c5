"""Plotly figure functions, callable without a browser (tests call them directly)."""
