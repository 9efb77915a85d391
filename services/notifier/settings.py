"""Notifier settings: NOTIFIER_* plus the shared BARCODE_* Kafka and S3 settings."""
from __future__ import annotations

from dataclasses import dataclass

from services.settings import Env, KafkaSettings, S3Settings, health_endpoint


@dataclass(frozen=True)
class NotifierSettings:
    kafka: KafkaSettings
    s3: S3Settings
    url_ttl_s: int  # lifetime of the signed URL handed to clients
    dedupe_window: int  # how many recent job ids are remembered to drop repeated results
    max_in_flight: int  # results taken whose notification the broker has not acknowledged yet
    health: tuple[str, int]  # NOTIFIER_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (port 0: none)

    @classmethod
    def from_env(cls, env: Env | None = None) -> "NotifierSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            s3=S3Settings.from_env(env),
            # Short-lived: a leaked URL stops working soon; /v1/jobs/{id}/file stays available
            # (checking the caller) for as long as the object lives.
            url_ttl_s=env.int("NOTIFIER_URL_TTL_SECONDS", 900, minimum=1),
            dedupe_window=env.int("NOTIFIER_DEDUPE_WINDOW", 100_000, minimum=1),
            max_in_flight=env.int("NOTIFIER_MAX_IN_FLIGHT", 1000, minimum=1),
            health=health_endpoint("notifier", env),
        )
