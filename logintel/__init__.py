"""logintel: wide events to incidents, root causes and a daily briefing."""
