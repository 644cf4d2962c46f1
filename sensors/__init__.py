"""Sensors: the error-threshold sensor that materializes incidents within minutes of a spike."""
