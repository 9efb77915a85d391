"""Everything that talks to Kafka, for every service: the clients with their settings stated
(`clients`), the topics (`topics`), a producer that survives a broker forgetting its sequence
(`renewing`), and the two ways to read.

- **The stage runtime** (`stage`, `runtime`, `handler`, `outbox`, `offsets`, `deadletter`):
  work from a consumer group, committed once its outputs are acknowledged. Router, generator
  and notifier are each settings + a handler (a record in, the messages to publish out) + a
  short factory returning a `stage.Stage`; `stage.run` does the rest.
- **The follower** (`follower`): assigned partitions, read from a time, a position or their
  start, caught up to the end offsets seen then, dispatched by topic, never committing. The
  gateway's job state, the batcher's tallies and `redrive` (`python -m services.kafka.redrive`)
  read this way.

A Kafka service's process (`process`: signals, the shared start sequence, the event loop of
`eventloop`) serves its probes from `health` (/readyz: `readiness`, can the cluster be reached).
"""
