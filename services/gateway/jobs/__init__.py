"""Jobs: checking a request (validation, its cost, the check workers, dry runs), idempotency and publishing it, and the index of jobs every replica rebuilds from Kafka."""
