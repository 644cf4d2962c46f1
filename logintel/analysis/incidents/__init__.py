"""Incidents of an hour: rule incidents, cause incidents, cluster incidents, and their assembly."""
