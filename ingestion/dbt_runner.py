"""Run dbt as a subprocess of the Tripline environment, and turn its failure into one line.

dbt runs in its own process (``.venv/bin/dbt`` next to this interpreter) so its memory is
counted with the caller's tree, and it reads the same budget and DuckDB file through the
environment (``profiles/profiles.yml`` and ``ingestion.core.dbt_plugin``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ingestion.core.errors import TriplineError
from ingestion.core.lease import HOLDER_PID_ENV, hold
from ingestion.core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM = re.compile(r"(Compilation Error|Runtime Error|Database Error|\bFAIL \d+|\bERROR\b)")


class DbtError(TriplineError):
    """A dbt command failed; the message is its first error line."""

    exit_code = 6


def dbt_executable() -> Path:
    """The ``dbt`` script installed next to the running Python interpreter."""
    return Path(sys.executable).with_name("dbt")


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The caller's environment plus the DuckDB path and budget dbt must use, and word that
    this process holds the warehouse lease for it."""
    return {
        **os.environ,
        HOLDER_PID_ENV: str(os.getpid()),
        "TRIPLINE_DUCKDB_PATH": str(settings.duckdb_path.resolve()),
        "TRIPLINE_MEMORY_LIMIT": str(settings.budget.total_bytes),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def dbt_command(args: list[str]) -> list[str]:
    """The full command line of ``dbt <args>`` against this repository's project."""
    return [
        str(dbt_executable()),
        *args,
        "--profiles-dir",
        str(REPO_ROOT / "profiles"),
        "--project-dir",
        str(REPO_ROOT),
    ]


def run_dbt(args: list[str], settings: Settings) -> None:
    """Run ``dbt <args>``; print its closing summary line, or raise :class:`DbtError`."""
    executable = dbt_executable()
    if not executable.exists():
        raise DbtError(f"dbt is not installed at {executable}: run 'make venv'")
    with hold(settings.duckdb_path, f"dbt {args[0] if args else ''}".strip()):
        result = subprocess.run(
            dbt_command(args),
            cwd=REPO_ROOT,
            env=dbt_environment(settings),
            capture_output=True,
            text=True,
            check=False,
        )
    output = _ANSI.sub("", result.stdout + result.stderr)
    if result.returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed: {first_problem(output)}")
    done = [line for line in output.splitlines() if "Done." in line or "Catalog written" in line]
    print(f"dbt {' '.join(args)}: {_strip_time(done[-1]) if done else 'ok'}", flush=True)


def first_problem(output: str) -> str:
    """The first line of dbt output that names an error, else its last non-empty line."""
    lines = [_strip_time(line) for line in output.splitlines() if line.strip()]
    for line in lines:
        if _PROBLEM.search(line) and "PASS=" not in line:
            return line
    return lines[-1] if lines else "no output"


def _strip_time(line: str) -> str:
    return re.sub(r"^\d{2}:\d{2}:\d{2}\s+", "", line.strip())
