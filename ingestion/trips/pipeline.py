"""The ``trips`` pipeline: every TLC file of a source into ``raw_tlc``, one load per file.

One dlt run per file keeps every unit of work small and committed on its own: a crash or a
bad file costs at most that file, and files already loaded stay loaded. For each file:

1. skip it when the source state holds the same fingerprint (incremental by file);
2. when the fingerprint changed, delete the rows the old version loaded (no duplicates);
3. load it on the ``strict`` route; if DuckDB cannot parse some row, throw that attempt away
   and load it on the ``quarantine`` route, which sends such rows to ``<table>_rejected``;
4. count what landed for this load id: rows read = rows loaded + rows rejected.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt

from ingestion.core.errors import DestinationError, SourceError, TriplineError
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.trips.files import SourceFile, discover, stage
from ingestion.trips.months import Month
from ingestion.trips.schema import SOURCE_FILE_COLUMN
from ingestion.trips.source import QUARANTINE, SOURCE_NAME, STRICT, rejects_table, tlc_file

PIPELINE_NAME = "trips"
DATASET = "raw_tlc"
HEARTBEAT_SECONDS = 15.0

log = get_logger("trips")


@dataclass
class FileOutcome:
    file: SourceFile
    route: str = ""
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    load_id: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)


def _configure_dlt() -> None:
    # A job that fails on bad data will fail again: give up at once and take the quarantine
    # route. Completed load files are deleted so disk holds one file's parts at a time.
    os.environ.setdefault("LOAD__RAISE_ON_MAX_RETRIES", "1")
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    # The rejects resource reads what the data resource produced: extract them in order.
    os.environ.setdefault("EXTRACT__NEXT_ITEM_MODE", "fifo")


def loaded_fingerprints(pipeline: dlt.Pipeline) -> dict[str, str]:
    files = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("files", {})
    return {name: entry["fingerprint"] for name, entry in files.items()}


def _existing_tables(pipeline: dlt.Pipeline) -> set[str]:
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select table_name from information_schema.tables where table_schema = %s",
            pipeline.dataset_name,
        )
    return {row[0] for row in rows or []}


def _delete_file_rows(pipeline: dlt.Pipeline, file: SourceFile) -> None:
    """Remove what an earlier version of ``file`` loaded, before its new version loads."""
    existing = _existing_tables(pipeline)
    table = file.kind.schema.table
    with pipeline.sql_client() as client:
        for name in (table, rejects_table(table)):
            if name in existing:
                client.execute_sql(
                    f"delete from {client.make_qualified_table_name(name)} "
                    f"where {SOURCE_FILE_COLUMN} = %s",
                    file.name,
                )


def _count_loaded(pipeline: dlt.Pipeline, table: str, load_id: str) -> int:
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            f"select count(*) from {client.make_qualified_table_name(table)} "
            "where _dlt_load_id = %s",
            load_id,
        )
    return int(rows[0][0]) if rows else 0


class _Heartbeat:
    """Logs progress every few seconds while one long file loads."""

    def __init__(self, label: str, memory: PeakTreeMemory) -> None:
        self._label, self._memory = label, memory
        self._stop = threading.Event()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            log.info(
                "  ... %s: %.0f s, peak memory so far %.0f MB",
                self._label,
                time.perf_counter() - self._started,
                self._memory.peak_bytes / 2**20,
            )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_route(
    pipeline: dlt.Pipeline,
    file: SourceFile,
    local: Path,
    route: str,
    settings: Settings,
    refresh: bool,
) -> FileOutcome:
    work_dir = settings.temp_directory / "trips" / f"{file.name}.{route}.{os.getpid()}"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    outcome: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        source = tlc_file(file, local, route, work_dir, settings, outcome)
        info = pipeline.run(source, refresh="drop_sources") if refresh else pipeline.run(source)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        for leftover in work_dir.parent.glob(f"{work_dir.name}_rejects.parquet"):
            leftover.unlink()
    load_id = info.loads_ids[-1]
    result = FileOutcome(file, route, load_id=load_id, seconds=time.perf_counter() - started)
    result.rows_loaded = _count_loaded(pipeline, file.kind.schema.table, load_id)
    result.rows_rejected = int(outcome.get("rows_rejected", 0))
    if route == QUARANTINE and result.rows_loaded != outcome.get("rows_loaded"):
        raise SourceError(
            f"{file.name}: {outcome.get('rows_loaded')} rows parsed but {result.rows_loaded} "
            "landed in DuckDB"
        )
    return result


def load_file(
    pipeline: dlt.Pipeline, file: SourceFile, settings: Settings, refresh: bool
) -> FileOutcome:
    """Stage, load (strict, else quarantine) and count one file; raise on failure."""
    local = stage(file, settings.temp_directory / "staging")
    try:
        try:
            return _run_route(pipeline, file, local, STRICT, settings, refresh)
        except Exception as exc:  # any failure of the strict attempt: retry quarantined
            reason = _reason(exc)
            log.info("  %s does not parse strictly (%s); quarantining bad rows", file.name, reason)
            recover_interrupted(pipeline)
        outcome = _run_route(pipeline, file, local, QUARANTINE, settings, refresh)
        outcome.notes.append("quarantine route")
        return outcome
    finally:
        if file.is_remote:
            local.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    """The innermost message of a dlt step failure, in one line."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    for line in text.splitlines():
        if "Error" in line or "error" in line:
            return line.strip()[:300]
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def run_trips(
    settings: Settings,
    source: str,
    months: Sequence[Month] | None = None,
    kinds: Sequence[str] = ("yellow",),
    http_format: str = "parquet",
    full_refresh: bool = False,
) -> tuple[RunSummary, list[FileOutcome]]:
    """Load every TLC file at ``source`` that is new or changed."""
    _configure_dlt()
    summary = RunSummary(PIPELINE_NAME, DATASET)
    outcomes: list[FileOutcome] = []
    started = time.perf_counter()
    with PeakTreeMemory() as memory:
        log.info("trips: %s", settings.budget.describe())
        discovery = discover(source, months, kinds, http_format)
        files = discovery.files
        summary.failed_inputs.extend(discovery.failures)
        for failure in discovery.failures:
            log.error("trips: %s", failure)
        try:
            pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
            recover_interrupted(pipeline)
            if not full_refresh:
                pipeline.sync_destination()
            done = {} if full_refresh else loaded_fingerprints(pipeline)
        except TriplineError:
            raise
        except Exception as exc:
            raise DestinationError(
                f"cannot open the DuckDB destination {settings.duckdb_path}: {_reason(exc)}"
            ) from exc
        todo = [f for f in files if done.get(f.name) != f.fingerprint]
        summary.skipped_inputs = len(files) - len(todo)
        log.info(
            "trips: %d file(s) at %s, %d already loaded and unchanged, %d to load",
            len(files),
            source,
            summary.skipped_inputs,
            len(todo),
        )
        refresh = full_refresh
        for index, file in enumerate(todo, start=1):
            label = f"[{index}/{len(todo)}] {file.name} ({file.size / 2**20:,.1f} MB)"
            log.info(
                "%s: loading%s", label, " (changed since last load)" if file.name in done else ""
            )
            try:
                if file.name in done:
                    _delete_file_rows(pipeline, file)
                with _Heartbeat(label, memory):
                    outcome = load_file(pipeline, file, settings, refresh)
                refresh = False
            except Exception as exc:
                recover_interrupted(pipeline)
                outcome = FileOutcome(file, error=_reason(exc))
                summary.failed_inputs.append(f"{file.name}: {outcome.error}")
                log.error("%s: FAILED: %s", label, outcome.error)
                outcomes.append(outcome)
                continue
            outcomes.append(outcome)
            summary.inputs += 1
            summary.rows_loaded += outcome.rows_loaded
            summary.rows_rejected += outcome.rows_rejected
            summary.rows_read += outcome.rows_loaded + outcome.rows_rejected
            summary.bytes_read += file.size
            summary.load_ids.append(outcome.load_id)
            log.info(
                "%s: %s rows loaded, %s rejected, %.1f s (%s route)",
                label,
                f"{outcome.rows_loaded:,}",
                f"{outcome.rows_rejected:,}",
                outcome.seconds,
                outcome.route,
            )
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    return summary, outcomes
