"""Redaction of secrets and personal data from log text and records before any of it reaches an LLM."""
from logintel.llm.redaction.redactor import RedactionReport, Redactor

__all__ = ["RedactionReport", "Redactor"]
