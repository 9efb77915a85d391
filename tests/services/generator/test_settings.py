"""The generator's probe port: named like every other service's, the old names still read."""
from __future__ import annotations

from services.generator.settings import GeneratorSettings
from services.settings import Env


def _health(**env: str) -> tuple[str, int]:
    return GeneratorSettings.from_env(Env(env)).health


def test_served_by_default_and_named_like_the_others() -> None:
    assert _health() == ("127.0.0.1", 9102)
    assert _health(GENERATOR_HEALTH_HOST="0.0.0.0", GENERATOR_HEALTH_PORT="9200") == ("0.0.0.0", 9200)


def test_the_old_names_are_still_read_and_the_new_ones_win() -> None:
    assert _health(GENERATOR_METRICS_HOST="0.0.0.0", GENERATOR_METRICS_PORT="9300") == ("0.0.0.0", 9300)
    assert _health(GENERATOR_METRICS_PORT="9300", GENERATOR_HEALTH_PORT="0") == ("127.0.0.1", 0)
