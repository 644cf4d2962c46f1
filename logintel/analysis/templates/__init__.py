"""Message template mining with stable template ids (the event_templates asset's domain logic)."""
from logintel.analysis.templates.config import MinerConfig
from logintel.analysis.templates.masking import WILDCARD, Masker
from logintel.analysis.templates.miner import Match, TemplateMiner
from logintel.analysis.templates.state import StateError

__all__ = ["Masker", "Match", "MinerConfig", "StateError", "TemplateMiner", "WILDCARD"]
