"""A pipeline of a test's own, for tests that stop and start its processes."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from devstack.stack import Stack


def on_own_stack(root: Path, env: dict[str, str], drive: Callable[[Stack], Awaitable[None]]) -> None:
    """Start Kafka, MinIO and the services under `root` with `env`, run `drive`, stop them all."""
    stack = Stack.create(root, extra_env=env)
    try:
        stack.start_infra()
        stack.start_pipeline()
        asyncio.run(drive(stack))
    finally:
        stack.stop()
