"""The stage runtime: one Kafka loop for every worker (router, generator, notifier).

A service is settings + a handler (`batch.Handler`: a record in, the messages to publish out) +
a short factory returning a `main.Stage`; `main.run` does the rest: wait for Kafka, poll, call
the handler (inline, or as a task if it awaits), publish, commit what the broker acknowledged,
dead-letter poison, drain on SIGTERM, serve /healthz, /readyz and /metrics.
"""
