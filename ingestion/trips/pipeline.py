"""The ``trips`` pipeline: every TLC file of a source into ``raw_tlc``, one load per file.

One dlt load per file keeps every unit of work small and committed on its own: a crash or a
bad file costs at most that file. A run, under the warehouse lease:

1. makes the destination the only truth (``recover_interrupted``), then checks the state's
   claims against the rows (``ingestion.trips.claims``);
2. with ``--full-refresh``, drops the tables and commits an empty state as a load of its own;
3. for each file whose (service, month) is not claimed with the same fingerprint: counts its
   rows as the file itself says, loads it on the ``strict`` route and, when some row does not
   parse or holds a value its column cannot, on the ``quarantine`` route instead;
4. checks what landed under the new load id against the file's own count — a mismatch
   retracts the load — and only then deletes the rows of the version it replaces.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dlt

from ingestion.core.errors import DestinationError, SourceError, TriplineError
from ingestion.core.failures import describe_failure, kind_of
from ingestion.core.logs import dlt_muted, get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import open_pipeline, recover_interrupted, retract_load
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.trips.claims import (
    FileClaim,
    check_claims,
    count_rows,
    delete_superseded,
    read_claims,
    tables_of,
)
from ingestion.trips.files import SourceFile, discover, local_fingerprint, stage
from ingestion.trips.months import Month
from ingestion.trips.reader import (
    Quarantined,
    file_row_count,
    good_rows_sql,
    quarantine,
    rejects_sql,
    strict_sql,
)
from ingestion.trips.source import tlc_file, tlc_reset

PIPELINE_NAME = "trips"
DATASET = "raw_tlc"
STRICT, QUARANTINE = "strict", "quarantine"
HEARTBEAT_SECONDS = 15.0

log = get_logger("trips")


@dataclass
class FileOutcome:
    file: SourceFile
    route: str = ""
    rows_read: int = 0  # the file's own count
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    load_id: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)


def _configure_dlt() -> None:
    """dlt settings for this pipeline only (``TRIPS__…``: other pipelines keep theirs)."""
    prefix = f"{PIPELINE_NAME.upper()}__"
    for key, value in {
        # A job that fails on bad data will fail again: give up at once and quarantine.
        "LOAD__RAISE_ON_MAX_RETRIES": "1",
        "LOAD__DELETE_COMPLETED_JOBS": "true",
        # dlt writes the load id into every row of a SQL model item.
        "NORMALIZE__MODEL_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    }.items():
        os.environ.setdefault(prefix + key, value)


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


class LandedCountError(SourceError):
    """What landed under a load id differs from what was read: the load was retracted."""


def _claim(file: SourceFile, route: str, rows: int, rejected: int) -> FileClaim:
    return FileClaim(file.kind.identity, file.name, file.fingerprint, route, "", rows, rejected)


def _load(pipeline: dlt.Pipeline, claim: FileClaim, rows: str | None, rejects: str | None) -> str:
    """Run one load; check what landed against the claim, retracting it when it differs."""
    info = pipeline.run(tlc_file(claim, claim.kind.schema, rows, rejects))
    load_id = info.loads_ids[-1]
    table, rejects_table = tables_of(claim)
    counts = count_rows(pipeline, [t for t in (table, rejects_table) if t], load_id)
    landed = counts.get((table, claim.name, load_id), 0)
    landed_rejects = counts.get((rejects_table, claim.name, load_id), 0) if rejects_table else 0
    if (landed, landed_rejects) != (claim.rows, claim.rejected):
        retract_load(pipeline, load_id)
        raise LandedCountError(
            f"{claim.name}: {landed:,} rows and {landed_rejects:,} rejects landed where "
            f"{claim.rows:,} and {claim.rejected:,} were read; the load was undone"
        )
    return load_id


def _strict(
    pipeline: dlt.Pipeline, file: SourceFile, local: Path, expected: int, settings: Settings
) -> str:
    sql = strict_sql(local, file.kind, file.name, settings)
    return _load(pipeline, _claim(file, STRICT, expected, 0), sql, None)


def _quarantined(
    pipeline: dlt.Pipeline, file: SourceFile, local: Path, expected: int, settings: Settings
) -> tuple[str, Quarantined]:
    work_dir = settings.temp_directory / "trips" / f"{file.name}.{os.getpid()}"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        parsed = quarantine(local, file.kind, file.name, work_dir, settings)
        if parsed.rows_good + parsed.rows_rejected != expected:
            raise SourceError(
                f"{file.name}: the file has {expected:,} rows but DuckDB read "
                f"{parsed.rows_good:,} and rejected {parsed.rows_rejected:,}; nothing loaded"
            )
        claim = _claim(file, QUARANTINE, parsed.rows_good, parsed.rows_rejected)
        load_id = _load(pipeline, claim, good_rows_sql(parsed), rejects_sql(parsed))
        return load_id, parsed
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def load_file(
    pipeline: dlt.Pipeline, file: SourceFile, settings: Settings, replaces: bool
) -> FileOutcome:
    """Stage, count, load (strict, else quarantine) and check one file; raise on failure.

    ``replaces``: the warehouse holds rows of this (service, month). They keep their rows
    and claim until the new version has landed and been checked, and only then go; a
    failed load leaves them as they were.
    """
    started = time.perf_counter()
    local = stage(file, settings.temp_directory / "staging")
    try:
        expected = file_row_count(local, file.kind, file.name, settings)
        outcome = FileOutcome(file, rows_read=expected)
        try:
            with dlt_muted():  # a failure here is expected now and then, and handled
                outcome.load_id = _strict(pipeline, file, local, expected, settings)
            outcome.route, outcome.rows_loaded = STRICT, expected
        except LandedCountError:
            raise  # not a parse problem: the file fails, and loads again next run
        except Exception as exc:  # a row or value that does not parse: quarantine it
            if isinstance(exc, DestinationError) or kind_of(exc) in ("disk full", "locked"):
                raise DestinationError(describe_failure(exc)) from exc
            _fall_back(pipeline, file, exc)
            outcome = _quarantine_outcome(pipeline, file, local, expected, settings, outcome)
        if not file.is_remote and local_fingerprint(local) != file.fingerprint:
            retract_load(pipeline, outcome.load_id)
            raise SourceError(
                f"{file.name} changed while it was read (is it still being written?); "
                "the load was undone, run again once the file is complete"
            )
    finally:
        if file.is_remote:
            local.unlink(missing_ok=True)
    if replaces:
        claim = FileClaim(file.kind.identity, file.name, file.fingerprint, outcome.route,
                          outcome.load_id)  # fmt: skip
        replaced = delete_superseded(pipeline, claim)
        outcome.notes.append(f"replaced {replaced:,} rows of the earlier version")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _fall_back(pipeline: dlt.Pipeline, file: SourceFile, exc: BaseException) -> None:
    log.info(
        "  %s does not load strictly (%s); quarantining bad rows",
        file.name,
        describe_failure(exc),
    )
    recover_interrupted(pipeline, after_failure=True)


def _quarantine_outcome(
    pipeline: dlt.Pipeline,
    file: SourceFile,
    local: Path,
    expected: int,
    settings: Settings,
    outcome: FileOutcome,
) -> FileOutcome:
    outcome.load_id, parsed = _quarantined(pipeline, file, local, expected, settings)
    outcome.route = QUARANTINE
    outcome.rows_loaded, outcome.rows_rejected = parsed.rows_good, parsed.rows_rejected
    return outcome


def _full_refresh(pipeline: dlt.Pipeline) -> None:
    """Drop the tables and every claim, committed as one load before any file loads again.

    A kill before that load completes leaves the old claims, whose missing rows the next
    run's claim check finds; after it, the empty state reloads everything.
    """
    log.info("trips: full refresh: dropping %s and forgetting every file", DATASET)
    pipeline.run(tlc_reset(), refresh="drop_sources")


def _open(settings: Settings) -> dlt.Pipeline:
    try:
        pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
        recover_interrupted(pipeline)
        return pipeline
    except TriplineError:
        raise
    except Exception as exc:
        raise DestinationError(
            f"cannot open the DuckDB destination {settings.duckdb_path}: {describe_failure(exc)}"
        ) from exc


def run_trips(
    settings: Settings,
    source: str,
    months: Sequence[Month] | None = None,
    kinds: Sequence[str] = ("yellow",),
    http_format: str = "parquet",
    full_refresh: bool = False,
) -> tuple[RunSummary, list[FileOutcome]]:
    """Load every TLC file at ``source`` whose (service, month) is new or changed."""
    _configure_dlt()
    summary = RunSummary(PIPELINE_NAME, DATASET)
    outcomes: list[FileOutcome] = []
    started = time.perf_counter()
    with PeakTreeMemory() as memory:
        log.info("trips: %s", settings.budget.describe())
        discovery = discover(source, months, kinds, http_format)
        summary.failed_inputs.extend(discovery.failures)
        for failure in discovery.failures:
            log.error("trips: %s", failure)
        for kept, other in discovery.set_aside:
            log.warning(
                "trips: %s and %s are the same month; loading %s only",
                kept.name,
                other.name,
                kept.name,
            )
        pipeline = _open(settings)
        if full_refresh:
            _full_refresh(pipeline)
        checked = check_claims(pipeline, read_claims(pipeline))
        claims = checked.held
        todo = [f for f in discovery.files if _needs_load(f, claims.get(f.kind.identity))]
        summary.skipped_inputs = len(discovery.files) - len(todo)
        log.info(
            "trips: %d file(s) at %s, %d already loaded and unchanged, %d to load",
            len(discovery.files),
            source,
            summary.skipped_inputs,
            len(todo),
        )
        for index, file in enumerate(todo, start=1):
            label = f"[{index}/{len(todo)}] {file.name} ({file.size / 2**20:,.1f} MB)"
            previous = claims.get(file.kind.identity)
            log.info("%s: loading%s", label, _why(file, previous))
            try:
                with _Heartbeat(label, memory):
                    replaces = file.kind.identity in checked.present
                    outcome = load_file(pipeline, file, settings, replaces)
            except Exception as exc:
                recover_interrupted(pipeline, after_failure=True)
                outcome = FileOutcome(file, error=describe_failure(exc))
                summary.failed_inputs.append(f"{file.name}: {outcome.error}")
                log.error("%s: FAILED: %s", label, outcome.error)
                outcomes.append(outcome)
                if isinstance(exc, DestinationError):
                    break  # the warehouse itself failed: the next files would too
                continue
            outcomes.append(outcome)
            _add(summary, outcome)
            log.info(
                "%s: %s rows read, %s loaded, %s rejected, %.1f s (%s route)%s",
                label,
                f"{outcome.rows_read:,}",
                f"{outcome.rows_loaded:,}",
                f"{outcome.rows_rejected:,}",
                outcome.seconds,
                outcome.route,
                "".join(f"; {note}" for note in outcome.notes),
            )
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    return summary, outcomes


def _needs_load(file: SourceFile, claim: FileClaim | None) -> bool:
    return claim is None or (claim.name, claim.fingerprint) != (file.name, file.fingerprint)


def _why(file: SourceFile, claim: FileClaim | None) -> str:
    if claim is None:
        return ""
    if claim.name != file.name:
        return f" (replaces {claim.name})"
    return " (changed since last load)"


def _add(summary: RunSummary, outcome: FileOutcome) -> None:
    summary.inputs += 1
    summary.rows_read += outcome.rows_read
    summary.rows_loaded += outcome.rows_loaded
    summary.rows_rejected += outcome.rows_rejected
    summary.bytes_read += outcome.file.size
    summary.load_ids.append(outcome.load_id)
