"""The daily briefing: its day, the SLOs it burns against, the trends it finds, and how it is written and delivered."""
