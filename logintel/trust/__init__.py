"""Grounding: the checkable claims in logintel's texts, and their verification against the warehouse."""
from logintel.trust.claim_share import ClaimShare
from logintel.trust.claims import Claim, extract_claims, sentences
from logintel.trust.entities import KnownEntities
from logintel.trust.fact_sheet import Fact, FactSheet, compute_facts
from logintel.trust.grounding_report import ClaimVerdict, GroundingReport
from logintel.trust.scope import GroundingScope
from logintel.trust.verify import verify_text

__all__ = ["Claim", "ClaimShare", "ClaimVerdict", "Fact", "FactSheet", "GroundingReport", "GroundingScope",
           "KnownEntities", "compute_facts", "extract_claims", "sentences", "verify_text"]
