"""Where the emitter sends batches: PostgreSQL and the file landing zone, and the local dump last."""
