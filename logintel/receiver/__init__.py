"""`logintel serve`: an HTTP receiver for OTLP/HTTP logs and NDJSON wide events, landing through the Emitter."""
