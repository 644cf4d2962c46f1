"""The day's figures over the warehouse — days, per-route metrics, SLOs, trends,
traffic drops, changes, savings — read by the digest and the analysts alike."""
