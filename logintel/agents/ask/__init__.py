"""`ask`: a question routed to the analysts and answered from their findings, grounded."""
