"""The image recipe, checked as text: no container engine runs here to build it (docs/kubernetes.md)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
STAGES = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]


def test_multi_stage_from_an_exactly_pinned_slim_python() -> None:
    assert len(STAGES) == 2
    for stage in STAGES:
        image = stage.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image


def test_the_final_stage_runs_as_a_non_root_user_without_build_tools() -> None:
    final = STAGES[-1]
    assert re.search(r"^USER 10001:10001$", final, flags=re.MULTILINE)
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    for tool in ("gcc", "build-essential", "pip install", "-dev "):
        assert tool not in final, tool
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_runtime_dependencies_come_from_the_lock_file() -> None:
    assert "pip install -c requirements.lock ." in STAGES[0]


def test_the_image_runs_any_service_by_its_module() -> None:
    assert 'ENTRYPOINT ["python", "-m"]' in DOCKERFILE
    for copied in ("services", "config", "loadtest"):
        assert f"COPY {copied} ./{copied}" in STAGES[-1]
