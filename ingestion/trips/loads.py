"""Loading TLC files into the warehouse: a batch in one dlt load, or one file at a time.

dlt's fixed cost per load (a package, schema and state, about a second) weighs on months of
a few hundred MB, so files load in batches: one dlt load whose package holds one SQL model
job per file and the claims of all of them. A batch is all or nothing. When it fails —
some file does not parse strictly, or what landed differs from what was read — it is undone
and its files load one by one: strict, else through the quarantine, each checked alone.

A file of the coordinate years (its zones are found in Python, over Arrow batches of
Tripline's own parse) or with trailing fields takes the quarantine route straight away: the
files of a batch are each parsed into Parquet parts and their parts load in one dlt load
(:func:`load_staged_batch`); when that load fails, they load one by one.

Every load is checked before it counts: rows and rejects under its load id must equal what
was read from each file (``ingestion.trips.claims``), else the load is retracted. Only
then are the rows of a version it replaces deleted.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dlt

from ingestion.core.errors import DestinationError, SourceError
from ingestion.core.failures import describe_failure, kind_of
from ingestion.core.logs import dlt_muted, get_logger
from ingestion.core.pipeline import recover_interrupted, retract_load
from ingestion.core.settings import Settings
from ingestion.trips.claims import FileClaim, count_rows, delete_superseded, tables_of
from ingestion.trips.files import SourceFile, local_fingerprint
from ingestion.trips.reader import (
    good_rows_columns,
    good_rows_sql,
    quarantine,
    rejects_sql,
    strict_sql,
)
from ingestion.trips.schema import SOURCE_FILE_COLUMN, FileKind
from ingestion.trips.source import FileLoad, tlc_files

STRICT, QUARANTINE = "strict", "quarantine"

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


@dataclass(frozen=True)
class Staged:
    """A file ready to load: its local bytes and its own row count."""

    file: SourceFile
    local: Path
    rows: int
    replaces: bool  # the warehouse holds rows of this (service, month) already
    # Loads through the quarantine route only (zones from coordinates, trailing fields).
    staged_only: bool = False

    def claim(self, route: str, rows: int, rejected: int, load_id: str = "") -> FileClaim:
        f = self.file
        return FileClaim(f.kind.identity, f.name, f.fingerprint, route, load_id, rows, rejected)


class LandedCountError(SourceError):
    """What landed under a load id differs from what was read: the load was retracted."""


def run_load(pipeline: dlt.Pipeline, loads: Sequence[FileLoad]) -> str:
    """One dlt load of ``loads``; what landed is checked against every claim, and the load
    is retracted (and :class:`LandedCountError` raised) when any differs."""
    info = pipeline.run(tlc_files(loads))
    load_id = info.loads_ids[-1]
    claims = [claim for load in loads for claim in load.claims]
    tables = {t for claim in claims for t in tables_of(claim) if t}
    counts = count_rows(pipeline, tables, load_id)
    for claim in claims:
        table, rejects_table = tables_of(claim)
        landed = counts.get((table, claim.name, load_id), 0)
        rejected = counts.get((rejects_table, claim.name, load_id), 0) if rejects_table else 0
        if (landed, rejected) != (claim.rows, claim.rejected):
            retract_load(pipeline, load_id)
            raise LandedCountError(
                f"{claim.name}: {landed:,} rows and {rejected:,} rejects landed where "
                f"{claim.rows:,} and {claim.rejected:,} were read; the load was undone"
            )
    return load_id


def _check_unchanged(pipeline: dlt.Pipeline, staged: Sequence[Staged], load_id: str) -> None:
    """A local file rewritten while it was read may have loaded half old, half new."""
    for item in staged:
        if not item.file.is_remote and local_fingerprint(item.local) != item.file.fingerprint:
            retract_load(pipeline, load_id)
            raise SourceError(
                f"{item.file.name} changed while it was read (is it still being written?); "
                "the load was undone, run again once the file is complete"
            )


def _replace(pipeline: dlt.Pipeline, item: Staged, outcome: FileOutcome) -> None:
    """Delete the rows of the version ``item`` replaces, now that its own rows are in."""
    if item.replaces:
        claim = item.claim(outcome.route, outcome.rows_loaded, outcome.rows_rejected,
                           outcome.load_id)  # fmt: skip
        replaced = delete_superseded(pipeline, claim)
        outcome.notes.append(f"replaced {replaced:,} rows of the earlier version")


def _is_destination_failure(exc: BaseException) -> bool:
    return isinstance(exc, DestinationError) or kind_of(exc) in ("disk full", "locked")


def _strict_loads(batch: Sequence[Staged], settings: Settings) -> list[FileLoad]:
    """The strict SELECTs of ``batch``: one per kind and header, over all its files."""
    by_kind: dict[FileKind, list[Staged]] = {}
    for item in batch:
        by_kind.setdefault(item.file.kind.with_month(None), []).append(item)
    loads = []
    for kind, items in by_kind.items():
        by_path = {item.local: item for item in items}
        for paths, sql, extras in strict_sql(list(by_path), kind, settings):
            claims = tuple(by_path[p].claim(STRICT, by_path[p].rows, 0) for p in paths)
            loads.append(FileLoad(claims, sql, extra_columns=extras))
    return loads


def load_batch(
    pipeline: dlt.Pipeline, batch: Sequence[Staged], settings: Settings
) -> list[FileOutcome]:
    """Load ``batch`` strictly in one dlt load; raise (having undone it) when it fails."""
    started = time.perf_counter()
    try:
        with dlt_muted():  # a failure here is expected now and then, and handled
            load_id = run_load(pipeline, _strict_loads(batch, settings))
    except Exception as exc:
        if _is_destination_failure(exc):
            raise DestinationError(describe_failure(exc)) from exc
        raise
    _check_unchanged(pipeline, batch, load_id)
    seconds = (time.perf_counter() - started) / len(batch)
    outcomes = []
    for item in batch:
        outcome = FileOutcome(item.file, STRICT, item.rows, item.rows, 0, seconds, load_id)
        _replace(pipeline, item, outcome)
        outcomes.append(outcome)
    return outcomes


def load_file(pipeline: dlt.Pipeline, item: Staged, settings: Settings) -> FileOutcome:
    """Load one file: strict, else through the quarantine; raise on failure.

    The version it replaces keeps its rows and claim until the new one has landed and been
    checked; a failed load leaves them as they were.
    """
    started = time.perf_counter()
    outcome = FileOutcome(item.file, rows_read=item.rows)
    if item.staged_only:
        _quarantined(pipeline, item, settings, outcome)
        _check_unchanged(pipeline, [item], outcome.load_id)
        _replace(pipeline, item, outcome)
        outcome.seconds = time.perf_counter() - started
        return outcome
    try:
        with dlt_muted():  # a failure here is expected now and then, and handled
            outcome.load_id = run_load(pipeline, _strict_loads([item], settings))
        outcome.route, outcome.rows_loaded = STRICT, item.rows
    except LandedCountError:
        raise  # not a parse problem: the file fails, and loads again next run
    except Exception as exc:  # a row or value that does not parse: quarantine it
        if _is_destination_failure(exc):
            raise DestinationError(describe_failure(exc)) from exc
        log.info(
            "  %s does not load strictly (%s); quarantining bad rows",
            item.file.name,
            describe_failure(exc),
        )
        recover_interrupted(pipeline, after_failure=True)
        _quarantined(pipeline, item, settings, outcome)
    _check_unchanged(pipeline, [item], outcome.load_id)
    _replace(pipeline, item, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _parse(item: Staged, settings: Settings) -> tuple[Path, FileLoad, int, int]:
    """Parse ``item`` into parts under a work folder of its own; the folder, its load, and
    its good and rejected counts, which must add up to the file's own count."""
    work_dir = settings.temp_directory / "trips" / f"{item.file.name}.{os.getpid()}"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        parsed = quarantine(item.local, item.file.kind, item.file.name, work_dir, settings)
        if parsed.rows_good + parsed.rows_rejected != item.rows:
            raise SourceError(
                f"{item.file.name}: the file has {item.rows:,} rows but DuckDB read "
                f"{parsed.rows_good:,} and rejected {parsed.rows_rejected:,}; nothing loaded"
            )
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    claim = item.claim(QUARANTINE, parsed.rows_good, parsed.rows_rejected)
    known = {c.name for c in item.file.kind.schema.columns} | {SOURCE_FILE_COLUMN}
    extras = tuple(c for c in good_rows_columns(parsed) if c not in known)
    load = FileLoad((claim,), good_rows_sql(parsed), rejects_sql(parsed), extras)
    return work_dir, load, parsed.rows_good, parsed.rows_rejected


def _quarantined(
    pipeline: dlt.Pipeline, item: Staged, settings: Settings, outcome: FileOutcome
) -> None:
    work_dir, load, good, rejected = _parse(item, settings)
    try:
        outcome.load_id = run_load(pipeline, [load])
        outcome.route = QUARANTINE
        outcome.rows_loaded, outcome.rows_rejected = good, rejected
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def load_staged_batch(
    pipeline: dlt.Pipeline, batch: Sequence[Staged], settings: Settings
) -> list[FileOutcome]:
    """Parse every file of ``batch`` (files that load only through the quarantine route)
    into its parts, then load all the parts in one dlt load, checked per file as any load;
    raise (having undone the load) when any file fails. The parts of the whole batch sit
    on the temp disk together until the load is done."""
    started = time.perf_counter()
    parsed: list[tuple[Path, FileLoad, int, int]] = []
    try:
        for item in batch:
            parsed.append(_parse(item, settings))
        try:
            with dlt_muted():  # a failure here is handled: the files load one by one
                load_id = run_load(pipeline, [load for _, load, _, _ in parsed])
        except Exception as exc:
            if _is_destination_failure(exc):
                raise DestinationError(describe_failure(exc)) from exc
            raise
    finally:
        for work_dir, *_ in parsed:
            shutil.rmtree(work_dir, ignore_errors=True)
    _check_unchanged(pipeline, batch, load_id)
    seconds = (time.perf_counter() - started) / len(batch)
    outcomes = []
    for item, (_, _, good, rejected) in zip(batch, parsed, strict=True):
        outcome = FileOutcome(item.file, QUARANTINE, item.rows, good, rejected, seconds, load_id)
        _replace(pipeline, item, outcome)
        outcomes.append(outcome)
    return outcomes
