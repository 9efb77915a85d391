"""Shared fixtures. Tests marked `stack` run against one real Kafka broker, one real MinIO
server and real service processes, started once per session on free loopback ports."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import paths
from devstack.ports import free_port, is_listening
from devstack.stack import Stack
from tests.support.keys import GATEWAY_API_KEYS

# The renderer ZPL labels are checked with, where `make install` put it (services started by
# devstack get the same setting): render.api draws labels back with it in unit tests too.
os.environ.setdefault("ZPL_RENDERER_MODULES", str(paths.zpl_modules()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything under tests/e2e needs the real stack.
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.stack)
    # The fuzzers queue hundreds of jobs on the shared pipeline; run them last so the backlog
    # they leave cannot delay the timed waits of other tests.
    items.sort(key=lambda item: item.path.name == "test_fuzz.py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed stack test shows what the services logged above INFO while the suite ran: CI
    keeps only pytest's output, and a flaky pipeline failure is otherwise a bare assertion."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    stack = getattr(item, "funcargs", {}).get("stack")  # also when a fixture asked for it
    if not report.failed or not isinstance(stack, Stack):
        return
    for log in sorted((stack.root / "logs").glob("*.log")):
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if " WARNING " in line or " ERROR " in line or line.startswith(("Traceback", "  ", "aiokafka", "Kafka"))]
        if lines:
            report.sections.append((f"{log.name}: warnings and errors (last 40)", "\n".join(lines[-40:])))


PARTNER_COMPANY = """
  # A company with an enrichment endpoint (tests/support/partner.py).
  CompanyE:
    defaults: {{symbology: code128, format: png}}
    allowed_symbologies: "*"
    enrichment:
      url: http://127.0.0.1:{port}/params
      timeout_seconds: 0.5
      attempts: 2
      backoff_seconds: 0.05
"""


@pytest.fixture(scope="session")
def partner_port() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.partner", str(port)], cwd=paths.ROOT)
    try:
        deadline = time.monotonic() + 20
        while not is_listening(port):
            assert time.monotonic() < deadline and proc.poll() is None, "partner stub did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, partner_port: int) -> Iterator[Stack]:
    root = Path(os.environ.get("BARCODE_TEST_STACK_DIR") or tmp_path_factory.mktemp("stack"))
    companies = root / "companies.yaml"
    companies.write_text(paths.ROOT.joinpath("config", "companies.yaml").read_text()
                         + PARTNER_COMPANY.format(port=partner_port))
    # Rate limits off for the shared gateways: the suite (fuzzers included) is one caller, whose
    # wrong-key tests would otherwise spend the budget of wrong keys for 127.0.0.1.
    # tests/e2e/test_security.py and test_abuse.py start gateways of their own to test the limits.
    stack = Stack.create(root, extra_env={"GATEWAY_API_KEYS": GATEWAY_API_KEYS, "GATEWAY_RATE_LIMIT": "0",
                                          "GATEWAY_AUTH_FAILURE_BURST": "1000000",
                                          "GATEWAY_PERMANENT_LINK_COMPANIES": "CompanyB",
                                          # Short, so a test sees a replica stop reading another's
                                          # results partition (test_replicas.py).
                                          "GATEWAY_RESULTS_LINGER_SECONDS": "2",
                                          "ROUTER_COMPANIES_FILE": str(companies)})
    try:
        stack.start_infra()
        stack.start_pipeline()
        # A second replica for the multi-gateway tests: same secret, no sticky sessions.
        stack.service("gateway-b").start()
        yield stack
    except Exception:
        for log in sorted((root / "logs").glob("*.log")):
            print(f"==== {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gateway_a(stack: Stack) -> str:
    return stack.services["gateway"].url


@pytest.fixture(scope="session")
def gateway_b(stack: Stack) -> str:
    return stack.services["gateway-b"].url
