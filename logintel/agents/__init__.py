"""The analysts: SRE, security and efficiency specialists that read the warehouse through named read-only
queries and produce grounded findings, and the orchestrator that routes questions and triggers to them."""
