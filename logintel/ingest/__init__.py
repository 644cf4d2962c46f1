"""Getting events into logintel: file ingestion today (`logintel.ingest.files`), the service SDK later."""
