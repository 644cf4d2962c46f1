"""Where events live: the landing zone (files or PostgreSQL) and the DuckDB warehouse."""
