"""Real local servers (HTTP, S3, databases, Kafka) for tests, benchmarks and the demo."""
