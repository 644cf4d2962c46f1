"""On-demand root-cause ranking of the services for a window against its baseline (`logintel investigate`)."""
from logintel.analysis.investigation.investigation import (
    Investigation,
    InvestigationError,
    investigate,
)

__all__ = ["Investigation", "InvestigationError", "investigate"]
