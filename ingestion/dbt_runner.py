"""Run dbt as a subprocess of the Tripline environment, and turn its failure into one line.

dbt runs in its own process (``.venv/bin/dbt`` next to this interpreter) so its memory is
counted with the caller's tree, and it reads the same budget and DuckDB file through the
environment (``profiles/profiles.yml`` and ``ingestion.core.dbt_plugin``).

The dbt project is not part of the installed package: :func:`dbt_project_dir` finds it
(``TRIPLINE_DBT_PROJECT_DIR``, else the working directory, which is the image's WORKDIR,
else the source checkout of an editable install). Every caller asks it; nothing else guesses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ingestion.core.errors import ConfigurationError, TriplineError
from ingestion.core.settings import Settings

PROJECT_DIR_SETTING = "TRIPLINE_DBT_PROJECT_DIR"
PROJECT_FILE = "dbt_project.yml"
# Where an editable install's sources are; in a plain install this is site-packages.
SOURCE_CHECKOUT = Path(__file__).resolve().parents[1]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM = re.compile(r"(Compilation Error|Runtime Error|Database Error|\bFAIL \d+|\bERROR\b)")


class DbtError(TriplineError):
    """A dbt command failed; the message is its first error line."""

    exit_code = 6


def dbt_project_dir(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    checkout: Path = SOURCE_CHECKOUT,
) -> Path:
    """The folder holding ``dbt_project.yml`` (and ``profiles/``) that dbt runs against.

    ``TRIPLINE_DBT_PROJECT_DIR`` when set; else the working directory when it holds the
    project (the image's WORKDIR, or a checkout one runs from); else the checkout this
    package is installed from in editable mode.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(PROJECT_DIR_SETTING, "").strip()
    if explicit:
        folder = Path(explicit).resolve()
        if not (folder / PROJECT_FILE).is_file():
            raise ConfigurationError(
                f"{PROJECT_DIR_SETTING}={explicit} does not hold a {PROJECT_FILE}: "
                "point it at the dbt project (the image's /app, or the checkout)"
            )
        return folder
    for candidate in (Path.cwd() if cwd is None else cwd, checkout):
        if (candidate / PROJECT_FILE).is_file():
            return candidate.resolve()
    raise ConfigurationError(
        f"no dbt project in {Path.cwd() if cwd is None else cwd} or {checkout}: run from the "
        f"folder holding {PROJECT_FILE} or set {PROJECT_DIR_SETTING}"
    )


def dbt_target_dir(project: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where dbt writes ``manifest.json``: ``DBT_TARGET_PATH`` (dbt's own), else ``target/``."""
    env = os.environ if environ is None else environ
    return project / (env.get("DBT_TARGET_PATH") or "target")


def dbt_executable() -> Path:
    """The ``dbt`` script installed next to the running Python interpreter."""
    return Path(sys.executable).with_name("dbt")


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The caller's environment plus the DuckDB path and budget dbt must use."""
    return {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(settings.duckdb_path.resolve()),
        "TRIPLINE_MEMORY_LIMIT": str(settings.budget.total_bytes),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def dbt_command(args: list[str], project: Path | None = None) -> list[str]:
    """The full command line of ``dbt <args>`` against the project (:func:`dbt_project_dir`)."""
    project = dbt_project_dir() if project is None else project
    return [
        str(dbt_executable()),
        *args,
        "--profiles-dir",
        str(project / "profiles"),
        "--project-dir",
        str(project),
    ]


def run_dbt(args: list[str], settings: Settings) -> None:
    """Run ``dbt <args>``; print its closing summary line, or raise :class:`DbtError`."""
    executable = dbt_executable()
    if not executable.exists():
        raise DbtError(f"dbt is not installed at {executable}: run 'make venv'")
    project = dbt_project_dir()
    result = subprocess.run(
        dbt_command(args, project),
        cwd=project,
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
