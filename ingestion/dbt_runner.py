"""Run dbt as a subprocess of the Tripline environment, and turn its failure into one line.

dbt runs in its own process (``.venv/bin/dbt`` next to this interpreter) so its memory is
counted with the caller's tree, and it reads the same budget and DuckDB file through the
environment (``profiles/profiles.yml`` and ``ingestion.core.dbt_plugin``).

The dbt project is not part of the installed package: :func:`dbt_project_dir` finds it
(``TRIPLINE_DBT_PROJECT_DIR``, else the working directory, which is the image's WORKDIR,
else the source checkout of an editable install). Every caller asks it; nothing else guesses.

Readers (BI tools, the docs site) never open the warehouse itself: a read-only connection
would block the next writer. With ``TRIPLINE_SNAPSHOT_DIR`` set, a successful ``dbt build``
ends by publishing a read-only copy there (:func:`publish_snapshot`), and readers open
``<dir>/latest.duckdb``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import duckdb

from ingestion.core.duckdb_config import connect
from ingestion.core.errors import ConfigurationError, DestinationError, TriplineError
from ingestion.core.lease import HOLDER_PID_ENV, hold
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings

PROJECT_DIR_SETTING = "TRIPLINE_DBT_PROJECT_DIR"
PROJECT_FILE = "dbt_project.yml"
# Where an editable install's sources are; in a plain install this is site-packages.
SOURCE_CHECKOUT = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR_SETTING = "TRIPLINE_SNAPSHOT_DIR"
LATEST_SNAPSHOT = "latest.duckdb"
# Copies kept: a reader that resolved "latest" just before a swap still finds its file.
SNAPSHOTS_KEPT = 3
log = get_logger("dbt")
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


def run_dbt(args: list[str], settings: Settings, stream: bool = True) -> None:
    """Run ``dbt <args>``, its output shown as it runs (``stream``) through Tripline's log;
    end with dbt's closing summary line, or raise :class:`DbtError` with its first error."""
    executable = dbt_executable()
    if not executable.exists():
        raise DbtError(f"dbt is not installed at {executable}: run 'make venv'")
    project = dbt_project_dir()
    # dbt writes the warehouse, and the snapshot is copied from it: one lease for both.
    with hold(settings.duckdb_path, f"dbt {args[0] if args else ''}".strip()):
        with subprocess.Popen(
            dbt_command(args, project),
            cwd=project,
            env=dbt_environment(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            assert process.stdout is not None
            lines = []
            for raw in process.stdout:
                line = _ANSI.sub("", raw).rstrip()
                lines.append(line)
                if stream and (shown := _strip_time(line)):
                    log.info("dbt: %s", shown)
        _finish(args, settings, process.returncode, "\n".join(lines))


def _finish(args: list[str], settings: Settings, returncode: int, output: str) -> None:
    """One summary line, or the first error as a DbtError; a build then publishes its snapshot."""
    if returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed: {first_problem(output)}")
    done = [line for line in output.splitlines() if "Done." in line or "Catalog written" in line]
    print(f"dbt {' '.join(args)}: {_strip_time(done[-1]) if done else 'ok'}", flush=True)
    snapshots = os.environ.get(SNAPSHOT_DIR_SETTING, "").strip()
    if args[:1] == ["build"] and snapshots:
        started = time.perf_counter()
        copy = publish_snapshot(settings, Path(snapshots))
        print(
            f"published {copy} ({copy.stat().st_size / 2**20:,.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s; readers open {copy.parent / LATEST_SNAPSHOT}",
            flush=True,
        )


def publish_snapshot(settings: Settings, folder: Path, keep: int = SNAPSHOTS_KEPT) -> Path:
    """Copy the warehouse into ``folder`` as a read-only file; point ``latest.duckdb`` at it.

    Called by the writer that holds the warehouse, after dbt has exited: no other process
    writes the file meanwhile. A checkpoint first folds the write-ahead log into the file,
    so one file copy is complete. The copy is written under a temporary name, flushed to
    disk and renamed (atomic); then the ``latest.duckdb`` link is swapped (atomic); copies
    beyond the newest ``keep`` are deleted last. A reader sees the old snapshot or the new
    one, never a partial file.
    """
    if keep < 2:
        raise ConfigurationError("keep at least 2 snapshots: a reader may hold the previous one")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = folder / f"tripline-{stamp}.duckdb"
    partial = folder / f".{target.name}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        connection = connect(settings.duckdb_path, settings)
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()
        with settings.duckdb_path.open("rb") as source, partial.open("wb") as out:
            shutil.copyfileobj(source, out, 8 * 2**20)
            out.flush()
            os.fsync(out.fileno())
        partial.chmod(0o444)
        os.replace(partial, target)
        link = folder / f".{LATEST_SNAPSHOT}.{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(target.name)
        os.replace(link, folder / LATEST_SNAPSHOT)
        for old in sorted(folder.glob("tripline-*.duckdb"))[:-keep]:
            old.unlink()
    except (OSError, duckdb.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise DestinationError(f"cannot publish a snapshot to {folder}: {exc}") from exc
    return target


def first_problem(output: str) -> str:
    """The first line of dbt output that names an error, else its last non-empty line."""
    lines = [_strip_time(line) for line in output.splitlines() if line.strip()]
    for line in lines:
        if _PROBLEM.search(line) and "PASS=" not in line:
            return line
    return lines[-1] if lines else "no output"


def _strip_time(line: str) -> str:
    return re.sub(r"^\d{2}:\d{2}:\d{2}(\s+|$)", "", line.strip())
