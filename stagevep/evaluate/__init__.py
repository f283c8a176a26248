"""Metrics and prediction export."""
