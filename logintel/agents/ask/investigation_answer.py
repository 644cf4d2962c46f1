"""`ask` about a window ("what went wrong between 09:00 and 09:10?") answered by investigating it: the ranked
services, their evidence and the investigation's grounded text, in the shape of every other `ask` answer."""
from __future__ import annotations

from datetime import datetime

import duckdb

from logintel.analysis.investigation import investigate
from logintel.llm.offline import OFFLINE_WRITER
from logintel.trust.item_grounding import day_grounder

ROUTE = "investigate"


def investigation_answer(con: duckdb.DuckDBPyConnection, question: str, window: tuple[datetime, datetime]) -> dict:
    """The answer dict of `ask` for a question about `window` (an InvestigationError says why it cannot be)."""
    result = investigate(con, *window, grounder=day_grounder(con, window[0].date()))
    return {
        "question": question,
        "routed_to": [ROUTE],
        "routing": [[ROUTE, 1.0]],
        "answer": result.text,
        "findings": [],
        "grounding": {**result.grounding, "writer": OFFLINE_WRITER},
        "investigation": result.to_dict(),
        "llm": None,
        "abstained": not result.candidates,
        "fallback_reason": None,
    }
