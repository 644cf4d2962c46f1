"""Data-quality checks on warehouse partitions, reported in a form an asset check can show."""
from logintel.quality.partition_verdict import ExpectationOutcome, QualityReport
from logintel.quality.raw_events import CHECKS, validate_raw_events

__all__ = ["CHECKS", "ExpectationOutcome", "QualityReport", "validate_raw_events"]
