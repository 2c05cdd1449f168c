"""Tripline: memory-bounded ELT of trip records, APIs, databases and Kafka into DuckDB."""
