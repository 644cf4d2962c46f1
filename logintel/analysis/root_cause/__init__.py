"""Root causes by contrast: what the failing events of an incident carry that the same routes' events
before it did not (field=value pairs ranked by lift with a one-sided exact test), and which
dependency got slower (latency per value of its namespace), decided into one structured cause."""
from logintel.analysis.root_cause.analysis import RootCauseAnalysis, analyse
from logintel.analysis.root_cause.scopes import ContrastScope, Episode, baseline_windows, contrast_scopes
from logintel.analysis.root_cause.verdict import RootCause

__all__ = ["ContrastScope", "Episode", "RootCause", "RootCauseAnalysis", "analyse", "baseline_windows", "contrast_scopes"]
