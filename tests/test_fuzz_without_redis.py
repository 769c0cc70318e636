"""`make fuzz` also fuzzes a Redis-backed mock: without redis-server, a newcomer's run skips
that part with one line, while CI (CI=true) fails it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asm_mock.testing import REDIS_MISSING, scrubbed_environment
from tests.helpers import REPO


@pytest.mark.parametrize(("ci", "status", "said"), [("", 0, "SKIPPED"), ("true", 2, "CI=true")])
def test_make_fuzz_without_redis_server_skips_its_redis_run_except_in_ci(
    tmp_path: Path, ci: str, status: int, said: str
) -> None:
    """A newcomer's `make test` without redis-server must pass; CI's must not skip Redis."""
    environment = {**scrubbed_environment(), "PATH": str(tmp_path), "CI": ci}  # no redis-server
    run = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "run.py"), "--store", "redis"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == status, run.stderr
    assert run.stderr.count("\n") == 1 and said in run.stderr and REDIS_MISSING in run.stderr
