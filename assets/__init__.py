"""Software-defined assets: raw events -> 5-minute windows -> incidents (hourly partitions)."""
