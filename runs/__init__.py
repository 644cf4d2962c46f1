"""Scripted runs of the code location (the demo, the UI launcher): Dagster layer, not domain logic."""
