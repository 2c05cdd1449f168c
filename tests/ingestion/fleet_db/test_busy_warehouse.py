"""fleet_db when another process holds the DuckDB file at the moment it asks what is loaded.

Issue 11, case 7: the check "which tables have no rows yet" decides between append and merge
and whether key reconciliation runs. It used to read any error as "empty", so a busy file made
every table an append (duplicate keys) and skipped reconciliation (hard deletes missed). Now
only a table that does not exist counts as empty; any other failure stops the run with one
line before anything is read or loaded.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import ingestion.fleet_db.pipeline as fleet_pipeline
from ingestion.core.errors import DestinationError
from ingestion.core.settings import Settings
from ingestion.fleet_db.generator import generate, mutate
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.settings import TABLES
from tests.ingestion.fleet_db.conftest import duck, raw_rows, source_rows

_HOLDER = (
    "import duckdb, sys\n"
    "connection = duckdb.connect(sys.argv[1])\n"  # read-write, as a second writer would
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"
    "connection.close()\n"
)


@contextmanager
def _another_process_holds(path: Path) -> Iterator[None]:
    """A separate process with ``path`` open read-write until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


def _duplicate_keys(settings: Settings) -> dict[str, int]:
    with duck(settings) as connection:
        return {
            t.name: connection.execute(
                f"select count(*) - count(distinct {t.primary_key}) from raw_fleet_db.{t.name}"
            ).fetchone()[0]
            for t in TABLES
        }


def test_a_busy_file_stops_the_run_instead_of_reading_as_empty(
    pg_dsn: str, tripline_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(pg_dsn, drivers=60, seed=5)
    run_fleet_db(tripline_env, pg_dsn)
    report = mutate(pg_dsn, seed=5)
    assert report.updated_drivers > 0 and report.hard_deleted_shifts > 0

    # Another process takes the file right after recovery (the pipeline has closed its
    # connection) and lets go before extraction: only the emptiness check meets it.
    monkeypatch.setenv("TRIPLINE_LOCK_TIMEOUT", "1")
    holding: list[Any] = []
    real_recover = fleet_pipeline.recover_interrupted
    real_extract = fleet_pipeline._extract_normalize_load

    def recover_then_someone_opens_the_file(*args: Any, **kwargs: Any) -> list[str]:
        swept = real_recover(*args, **kwargs)
        holder = _another_process_holds(tripline_env.duckdb_path)
        holder.__enter__()
        holding.append(holder)
        return swept

    def let_go_then_extract(*args: Any, **kwargs: Any) -> Any:
        while holding:
            holding.pop().__exit__(None, None, None)
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(fleet_pipeline, "recover_interrupted", recover_then_someone_opens_the_file)
    monkeypatch.setattr(fleet_pipeline, "_extract_normalize_load", let_go_then_extract)
    failure: DestinationError | None = None
    try:
        run_fleet_db(tripline_env, pg_dsn)
    except DestinationError as exc:
        failure = exc
    finally:
        while holding:
            holding.pop().__exit__(None, None, None)

    # What the busy run left behind: never a second copy of a key.
    assert _duplicate_keys(tripline_env) == {t.name: 0 for t in TABLES}
    assert failure is not None, "the run went on as if every table were empty"
    assert "locked" in str(failure) and "\n" not in str(failure)

    # Once the file is free, the next run catches up exactly, hard deletes included.
    monkeypatch.undo()
    summary = run_fleet_db(tripline_env, pg_dsn)
    assert summary.extra["hard_deletes_found"] == report.hard_deleted_shifts
    assert _duplicate_keys(tripline_env) == {t.name: 0 for t in TABLES}
    for table in TABLES:
        assert raw_rows(tripline_env, table.name, table.primary_key) == source_rows(
            pg_dsn, table.name, table.primary_key
        ), table.name
