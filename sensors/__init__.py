"""Sensors, one per file: the error threshold, new dump files, replayed partitions, the Kafka drain."""
