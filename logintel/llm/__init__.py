"""The LLM boundary: writers that turn facts into text, and say which writer they are."""
