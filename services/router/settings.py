"""Router settings: ROUTER_* plus the shared BARCODE_* Kafka settings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.settings import Env, KafkaSettings

DEFAULT_COMPANIES = Path(__file__).resolve().parents[2] / "config" / "companies.yaml"


@dataclass(frozen=True)
class RouterSettings:
    kafka: KafkaSettings
    companies_file: str

    @classmethod
    def from_env(cls, env: Env | None = None) -> "RouterSettings":
        env = env or Env()
        return cls(
            kafka=KafkaSettings.from_env(env),
            companies_file=env.str("ROUTER_COMPANIES_FILE", str(DEFAULT_COMPANIES)),
        )
