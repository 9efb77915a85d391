"""Generator settings: GENERATOR_* plus the shared BARCODE_* Kafka and S3 settings."""
from __future__ import annotations

from dataclasses import dataclass

from services.render.budget import MAX_PIXELS
from services.settings import Env, KafkaSettings, S3Settings


@dataclass(frozen=True)
class GeneratorSettings:
    kafka: KafkaSettings
    s3: S3Settings
    object_ttl_days: int  # bucket lifecycle rule: rendered files expire after this
    render_threads: int  # rendering runs in this many threads, off the event loop
    upload_connections: int  # keep-alive connections to the object store, at most
    max_in_flight: int  # jobs in work at once; offsets are committed as results are acknowledged
    upload_attempts: int  # tries per upload before the job fails as storage_unavailable
    upload_backoff_s: float  # first retry delay; doubles per attempt, with jitter
    max_pixels: int  # jobs whose raster would be larger fail output_too_large
    render_timeout_s: float  # jobs whose rendering takes longer fail render_timeout
    health: tuple[str, int]  # GENERATOR_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (port 0: none)

    @classmethod
    def from_env(cls, env: Env | None = None) -> "GeneratorSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            s3=S3Settings.from_env(env),
            object_ttl_days=env.int("GENERATOR_OBJECT_TTL_DAYS", 1, minimum=1),
            render_threads=env.int("GENERATOR_RENDER_THREADS", 4, minimum=1),
            upload_connections=env.int("GENERATOR_UPLOAD_CONNECTIONS", 32, minimum=1),
            max_in_flight=env.int("GENERATOR_MAX_IN_FLIGHT", 64, minimum=1),
            upload_attempts=env.int("GENERATOR_UPLOAD_ATTEMPTS", 5, minimum=1),
            upload_backoff_s=env.float("GENERATOR_UPLOAD_BACKOFF_SECONDS", 0.2, minimum=0.0),
            max_pixels=env.int("GENERATOR_MAX_PIXELS", MAX_PIXELS, minimum=10_000),
            render_timeout_s=env.float("GENERATOR_RENDER_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            # GENERATOR_METRICS_HOST/_PORT, the names before they matched the other services', are
            # still read where the new ones are not set. Unlike theirs, served by default.
            health=(env.str("GENERATOR_HEALTH_HOST", env.str("GENERATOR_METRICS_HOST", "127.0.0.1")),
                    env.int("GENERATOR_HEALTH_PORT", env.int("GENERATOR_METRICS_PORT", 9102))),
        )
