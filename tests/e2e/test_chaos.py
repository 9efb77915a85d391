"""The short fault-injection run (`make chaos` runs the long one): a few hundred jobs while each
service in turn is SIGKILLed and restarted. Nothing lost, nothing delivered twice, every file
decodes to its input. It starts its own stack: killing the shared one would upset other tests."""
from __future__ import annotations

from pathlib import Path

from devstack import chaos


def test_one_kill_per_service_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result = chaos.run(tmp_path, jobs=240, rate=30, clients=4, faults=chaos.short_faults(), drain_s=120)
    print(chaos.report(result))
    assert result["never_accepted"] == 0
    assert result["accepted"] == 240
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["bad_files"] == 0
    assert result["completed"] + sum(result["failed"].values()) == 240
