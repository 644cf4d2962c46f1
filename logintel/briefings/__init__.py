"""Situation briefings: one short grounded document about one incident or finding."""
