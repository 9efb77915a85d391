"""The k8s-test summary: every step and every fault gets a row; a failed step says so and stops the run."""
from __future__ import annotations

import pytest

from devstack.k8s.suite import Suite


def test_a_failed_step_is_marked_and_stops_the_run() -> None:
    suite = Suite()
    suite.run("passes", lambda: "fine")

    def boom() -> str:
        raise RuntimeError("lost 3")

    with pytest.raises(RuntimeError, match="lost 3"):
        suite.run("fails", boom)
    assert [(s.name, s.ok) for s in suite.steps] == [("passes", True), ("fails", False)]
    assert "| fails" in suite.table() and "FAILED" in suite.table()


def test_a_failed_step_row_says_why_on_one_line() -> None:
    suite = Suite()

    def boom() -> str:
        raise RuntimeError("jobs lost under faults:\n{\"lost\": 3}")

    with pytest.raises(RuntimeError):
        suite.run("fails", boom)
    row = suite.table().splitlines()[-1]
    assert row.startswith("| fails") and 'RuntimeError: jobs lost under faults: {"lost": 3}' in row


def test_each_fault_has_its_own_row_under_its_step() -> None:
    suite = Suite()
    suite.run("pod deletions under load", lambda: suite.note("  delete router pod", True, "lost 0, duplicated 0") or "1200 jobs")
    rows = suite.table().splitlines()[2:]
    assert rows[0].startswith("| pod deletions under load") and "1200 jobs" in rows[0]
    assert rows[1].startswith("|   delete router pod") and "lost 0, duplicated 0" in rows[1]


def test_a_restarted_container_is_named_with_why_it_ended() -> None:
    from devstack.k8s.suite import restarts_of

    pods = [
        {"metadata": {"name": "gen-1"}, "status": {"containerStatuses": [
            {"restartCount": 2, "lastState": {"terminated": {"reason": "Error", "exitCode": 139}}}]}},
        {"metadata": {"name": "router-1"}, "status": {"containerStatuses": [{"restartCount": 0, "lastState": {}}]}},
        {"metadata": {"name": "pending"}, "status": {}},
    ]
    assert restarts_of(pods) == {"gen-1": (2, "Error, exit code 139")}
