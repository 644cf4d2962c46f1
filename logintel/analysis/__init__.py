"""Analysis over the warehouse: windows, thresholds and incidents."""
