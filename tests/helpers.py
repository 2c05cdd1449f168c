"""Helpers for tests: run the ``tripline`` command as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIPLINE = str(Path(sys.executable).with_name("tripline"))
# The API pipelines' read timeout in tests (fast_http_retries): short enough for fault tests,
# long enough that a busy machine's answer of a month of hours arrives in one try (at 0.5 s
# a CI run timed one out and retried it).
READ_TIMEOUT_SECONDS = 3.0
# A "slow" fault's delay: certainly beyond that timeout.
SLOWER_THAN_THE_READ_TIMEOUT = 2 * READ_TIMEOUT_SECONDS


def run_tripline(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tripline`` console script as a user would."""
    full_env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(env or {})}
    result = subprocess.run(
        [TRIPLINE, *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"tripline {' '.join(args)} exited {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result
