"""The stage runtime: one Kafka loop for every worker (router, generator, notifier), and the
Kafka plumbing every service shares, the gateway included.

A service is settings + a handler (`batch.Handler`: a record in, the messages to publish out) +
a short factory returning a `main.Stage`; `main.run` does the rest: wait for Kafka, poll, call
the handler (inline, or as a task if it awaits), publish, commit what the broker acknowledged,
dead-letter poison, drain on SIGTERM, serve /healthz, /readyz and /metrics.

The plumbing under it, also used by the gateway and the tools: `kafka` (clients with every
delivery setting stated, topic creation, waiting for the broker, `RenewingProducer`),
`eventloop` (uvloop or asyncio), `readiness` (/readyz: can the cluster be reached),
`deadletter` (building dead letters) and `redrive` (`python -m services.stage.redrive`: put
them back).
"""
