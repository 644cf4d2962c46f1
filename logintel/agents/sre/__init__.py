"""The SRE analyst: burn-rate pages and tickets, p99 forecasts, slow trends."""
