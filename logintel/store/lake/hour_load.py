"""Loading one hour of the landing zone into the lake: the raw_events asset runs the warehouse's own load
(`warehouse.load_hour`: the same checks, dead letters, de-duplication, spans and accounting) in an hour session
(`hour_runs`), which publishes the tables' hour — spans and metric points first, then raw_events, each in one
commit.

No run shares a file with another, so any number of hours load at once. Between the commits a reader may see the
hour's new spans (or metric points) beside its previous events for a moment; a run that dies between them leaves exactly
that, and its retry (an hour's load is idempotent) puts both right. Nothing reads spans without their events'
hour being loaded first (the hourly graph starts after raw_events), so the two agree wherever it matters.
"""
HOUR_LOAD_WRITES = ("spans", "metric_points", "raw_events")  # raw_events' commit, last, is the hour's publication

