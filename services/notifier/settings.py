"""Notifier settings: NOTIFIER_* plus the shared BARCODE_* Kafka settings."""
from __future__ import annotations

from dataclasses import dataclass

from services.settings import Env, KafkaSettings, health_endpoint


@dataclass(frozen=True)
class NotifierSettings:
    kafka: KafkaSettings
    dedupe_window: int  # how many recent job ids are remembered to drop repeated results
    max_in_flight: int  # results taken whose notification the broker has not acknowledged yet
    health: tuple[str, int]  # NOTIFIER_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (port 0: none)

    @classmethod
    def from_env(cls, env: Env | None = None) -> "NotifierSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            dedupe_window=env.int("NOTIFIER_DEDUPE_WINDOW", 100_000, minimum=1),
            max_in_flight=env.int("NOTIFIER_MAX_IN_FLIGHT", 1000, minimum=1),
            health=health_endpoint("notifier", env),
        )
