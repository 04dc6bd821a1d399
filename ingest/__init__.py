"""Ingest of Amazon Connect agent events from a Firehose archive into DuckDB's raw schema."""
