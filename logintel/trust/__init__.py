"""Grounding: the checkable claims in logintel's texts, and their verification against the warehouse."""
from logintel.trust.batch import verify_text, verify_texts
from logintel.trust.claim_share import ClaimShare
from logintel.trust.claims import Claim, extract_claims, sentences
from logintel.trust.entities import KnownEntities
from logintel.trust.fact_sheet import Fact, FactSheet
from logintel.trust.grounding_report import ClaimVerdict, GroundingReport
from logintel.trust.scope import GroundingScope

__all__ = ["Claim", "ClaimShare", "ClaimVerdict", "Fact", "FactSheet", "GroundingReport", "GroundingScope",
           "KnownEntities", "extract_claims", "sentences", "verify_text", "verify_texts"]
