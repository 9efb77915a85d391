"""Batcher settings: BATCHER_* plus the shared BARCODE_* Kafka and S3 settings."""
from __future__ import annotations

from dataclasses import dataclass

from services.settings import Env, KafkaSettings, S3Settings, health_endpoint


@dataclass(frozen=True)
class BatcherSettings:
    kafka: KafkaSettings
    s3: S3Settings
    # Rows of one batch sent into the pipeline and not answered yet: single jobs beside a batch
    # queue behind this many rows at each stage. 16: single jobs' p50 12 -> 60 ms beside a batch
    # running at ~300 rows/s; 256: 12 -> 700 ms at ~420 rows/s (docs/benchmarks.md, "Batches").
    window: int
    status_interval_s: float  # at most one progress update per batch this often
    workdir: str | None  # where outputs are written before upload (the system's temp dir if unset)
    health: tuple[str, int]  # BATCHER_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (port 0: none)

    @classmethod
    def from_env(cls, env: Env | None = None) -> "BatcherSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            s3=S3Settings.from_env(env),
            window=env.int("BATCHER_WINDOW", 16, minimum=1),
            status_interval_s=env.int("BATCHER_STATUS_INTERVAL_MS", 250, minimum=10) / 1000,
            workdir=env.str("BATCHER_WORKDIR", "") or None,
            health=health_endpoint("batcher", env),
        )
