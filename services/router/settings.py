"""Router settings: ROUTER_* plus the shared BARCODE_* Kafka settings."""
from __future__ import annotations

from dataclasses import dataclass

from services.companies.profiles import DEFAULT_COMPANIES
from services.settings import Env, KafkaSettings, health_endpoint


@dataclass(frozen=True)
class RouterSettings:
    kafka: KafkaSettings
    companies_file: str
    max_in_flight: int  # requests taken whose outputs the broker has not acknowledged yet
    health: tuple[str, int]  # ROUTER_HEALTH_HOST/_PORT: /healthz, /readyz, /metrics (port 0: none)

    @classmethod
    def from_env(cls, env: Env | None = None) -> "RouterSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            companies_file=env.str("ROUTER_COMPANIES_FILE", str(DEFAULT_COMPANIES)),
            max_in_flight=env.int("ROUTER_MAX_IN_FLIGHT", 1000, minimum=1),
            health=health_endpoint("router", env),
        )
