"""The image recipe, checked as text; `make images` (devstack/k8s/images.py) also builds it for real."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PREAMBLE, *STAGES = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)


def test_the_base_is_a_build_argument_defaulting_to_an_exactly_pinned_slim_python() -> None:
    # Built here on a debootstrapped Debian (--build-arg BASE=local/debian-python:bookworm);
    # with a registry, the public default.
    default = re.search(r"^ARG BASE=(\S+)$", PREAMBLE, flags=re.MULTILINE)
    assert default, "ARG BASE=... must come before the first FROM"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default.group(1)), default.group(1)


def test_multi_stage_both_from_the_base_argument() -> None:
    assert len(STAGES) == 2
    assert STAGES[0].splitlines()[0] == "${BASE} AS build"
    assert STAGES[1].splitlines()[0] == "${BASE}"


def test_it_works_on_a_base_whose_interpreter_is_python3() -> None:
    # Debian's python3 package has no `python`; the public image has both. Inside the venv
    # (PATH=/opt/venv/bin) `python` exists on either.
    assert "RUN python3 -m venv /opt/venv" in STAGES[0]
    assert not re.search(r"^RUN python -m venv", DOCKERFILE, flags=re.MULTILINE)
    final = STAGES[-1]
    assert final.index("ENV PATH=/opt/venv/bin:$PATH") < final.index('RUN python -c')
    # A debootstrapped base has a sources list but no package lists.
    assert re.search(r"RUN apt-get update \\\n && .*apt-get install -y --no-install-recommends libcairo2", final)


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


def test_the_build_context_is_only_what_the_recipe_copies() -> None:
    # The repo root holds .local/ (venv, jars, images, cluster state: gigabytes).
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, flags=re.MULTILINE))
    sources = {name for line in copied for name in line.split()}
    assert {f"!{name}" for name in sources} <= set(ignore), sources
