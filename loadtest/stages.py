"""The pipeline's stages, from the timestamps each hop stamps into a job's trace (ms since the
epoch, one clock: everything runs on one machine or cluster) plus the client's own send and
receive times. Used by `make smoke` (one job at a time) and by the load tool (under load)."""
from __future__ import annotations

STAGES: list[tuple[str, str, str]] = [
    ("client -> gateway", "client_send", "gateway_in"),
    ("gateway -> Kafka -> router", "gateway_in", "routed"),
    ("router -> Kafka -> generator", "routed", "generator_in"),
    ("generator: validate, key", "generator_in", "checked"),
    ("generator: render + verify", "checked", "rendered"),
    ("generator: upload", "rendered", "generated"),
    ("generator -> Kafka -> notifier", "generated", "notified"),
    ("notifier -> Kafka -> gateway", "notified", "gateway_out"),
    ("gateway -> client", "gateway_out", "client_receive"),
    ("end to end", "client_send", "client_receive"),
]


def stage_durations(trace: dict[str, float]) -> dict[str, float]:
    """Milliseconds per stage, for the stages whose both ends the trace has (a cached job has
    no render or upload)."""
    return {label: trace[end] - trace[start] for label, start, end in STAGES if start in trace and end in trace}
