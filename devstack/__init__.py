"""Local stack for development and tests: a real Kafka broker and a real MinIO server,
installed from pinned versions and started on loopback, plus the four services."""
