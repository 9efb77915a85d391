"""`make k8s-test`'s batch step reads the load tool's own table: the two must agree."""
from __future__ import annotations

from devstack.k8s.suite import batch_detail
from loadtest.batches import BatchRun, report


def test_the_k8s_step_summarises_the_load_tools_batch_table() -> None:
    runs = [BatchRun("b" * 32, 200, 0.0, 0.1, last_row_s=1.3, outputs_s=1.5, final={"completed": 200, "failed": 0})]
    assert batch_detail(report(runs), 200) == ("200 rows (QR, Data Matrix, EAN-13): last row after 1.3 s (167 rows/s), "
                                               "ZIP and PDF at 1.5 s; 200 completed, 0 failed; every file and label decoded")
