"""Jobs (with their ops) and schedules: the hourly incident job, the dump replay, the Kafka drain."""
