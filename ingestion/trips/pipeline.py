"""The ``trips`` pipeline: every TLC file of a source into ``raw_tlc``, in checked loads.

A run, under the warehouse lease (on the lake: this pipeline's lease; ``docs/lakehouse.md``):

1. makes the destination the only truth (``recover_interrupted``), then checks the state's
   claims against the rows (``ingestion.trips.claims``);
2. with ``--full-refresh``, drops the tables and commits an empty state as a load of its own;
3. takes every file whose (service, month) is not claimed with the same fingerprint, in
   batches (``ingestion.trips.loads``): while one batch loads, the next one is downloaded and
   counted (its files' own row counts);
4. loads a batch strictly in one dlt load, and its files that load only through the
   quarantine (coordinate eras, trailing fields) parsed into parts and loaded in one more;
   a batch that fails is undone and its files load one by one, strict or through the
   quarantine;
5. checks what landed against each file's own count — a mismatch retracts the load — and only
   then deletes the rows of the versions it replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import dlt

from ingestion.core.budget import GIB, MIB
from ingestion.core.errors import DestinationError, TriplineError
from ingestion.core.failures import describe_failure
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import configure_pipeline_dlt, open_pipeline, recover_interrupted
from ingestion.core.progress import Progress
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.trips.claims import FileClaim, check_claims, read_claims
from ingestion.trips.files import SourceFile, discover, stage
from ingestion.trips.loads import FileOutcome, Staged, load_batch, load_file, load_staged_batch
from ingestion.trips.months import Month
from ingestion.trips.reader import file_row_count, needs_staging
from ingestion.trips.source import tlc_reset

PIPELINE_NAME = "trips"
DATASET = "raw_tlc"
# A batch is one dlt load: at most this many files and bytes (a failed batch is loaded again
# file by file, and remote files of a batch sit on local disk together).
BATCH_FILES = 16
BATCH_BYTES = 2 * GIB

log = get_logger("trips")


def _configure_dlt(settings: Settings) -> None:
    """dlt settings for this pipeline only (``TRIPS__…``: other pipelines keep theirs)."""
    configure_pipeline_dlt(
        PIPELINE_NAME,
        {
            # A job that fails on bad data will fail again: give up at once and quarantine.
            "LOAD__RAISE_ON_MAX_RETRIES": "1",
            "LOAD__DELETE_COMPLETED_JOBS": "true",
            # The files of a batch load side by side, as many at once as DuckDB has threads.
            "LOAD__WORKERS": str(settings.budget.duckdb_threads),
            # dlt writes the load id into every row of a SQL model item.
            "NORMALIZE__MODEL_NORMALIZER__ADD_DLT_LOAD_ID": "true",
        },
    )


def batches(files: Sequence[SourceFile]) -> Iterator[list[SourceFile]]:
    """``files`` in order, grouped into batches of at most BATCH_FILES and BATCH_BYTES."""
    batch: list[SourceFile] = []
    size = 0
    for file in files:
        if batch and (len(batch) == BATCH_FILES or size + file.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file.size
    if batch:
        yield batch


@dataclass
class _Prepared:
    """A batch downloaded and counted, and the files of it that could not be."""

    staged: list[Staged] = field(default_factory=list)
    failed: list[tuple[SourceFile, str]] = field(default_factory=list)


def _prepare(batch: list[SourceFile], present: set[str], settings: Settings) -> _Prepared:
    """Stage (download) and count every file of ``batch``; a file that fails fails alone."""
    prepared = _Prepared()
    for file in batch:
        try:
            local = stage(file, settings.temp_directory / "staging")
            rows = file_row_count(local, file.kind, file.name, settings)
            staged_only = file.kind.month is not None and needs_staging(
                local, file.kind, file.name, settings
            )
        except Exception as exc:
            prepared.failed.append((file, describe_failure(exc)))
            continue
        replaces = file.kind.identity in present
        prepared.staged.append(Staged(file, local, rows, replaces, staged_only))
    return prepared


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
            f"cannot open the destination {_where(settings)}: {describe_failure(exc)}"
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
    _configure_dlt(settings)
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
        todo = [f for f in discovery.files if _needs_load(f, checked.held.get(f.kind.identity))]
        summary.skipped_inputs = len(discovery.files) - len(todo)
        log.info(
            "trips: %d file(s) at %s, %d already loaded and unchanged, %d to load",
            len(discovery.files),
            source,
            summary.skipped_inputs,
            len(todo),
        )
        labels = {
            f.name: f"[{i}/{len(todo)}] {f.name} ({f.size / MIB:,.1f} MB)"
            for i, f in enumerate(todo, start=1)
        }
        total = sum(f.size for f in todo)
        with (
            Progress("trips", total, memory, settings.log_format) as progress,
            ThreadPoolExecutor(1, thread_name_prefix="prefetch") as prefetch,
        ):
            planned = list(batches(todo))
            upcoming: Future[_Prepared] | None = None
            if planned:
                upcoming = prefetch.submit(_prepare, planned[0], checked.present, settings)
            for number, batch in enumerate(planned):
                assert upcoming is not None
                progress.start(_unit(batch, todo), sum(f.size for f in batch), "download")
                prepared = upcoming.result()
                if number + 1 < len(planned):  # the next batch downloads while this one loads
                    upcoming = prefetch.submit(
                        _prepare, planned[number + 1], checked.present, settings
                    )
                for file in batch:
                    log.info("%s: loading%s", labels[file.name],
                             _why(file, checked.held.get(file.kind.identity)))  # fmt: skip
                for file, error in prepared.failed:
                    _failed(summary, outcomes, labels[file.name], FileOutcome(file, error=error))
                progress.phase("load")
                stopped = _load_prepared(pipeline, prepared.staged, settings, summary, outcomes,
                                         labels)  # fmt: skip
                progress.finish()
                if stopped:
                    break
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    return summary, outcomes


def _load_prepared(
    pipeline: dlt.Pipeline,
    staged: list[Staged],
    settings: Settings,
    summary: RunSummary,
    outcomes: list[FileOutcome],
    labels: dict[str, str],
) -> bool:
    """Load one prepared batch (falling back to one file at a time); True when the
    warehouse itself failed and the run must stop."""
    # Files that load through the quarantine route only go one by one, after the batch.
    together = [item for item in staged if not item.staged_only]
    staged = together + [item for item in staged if item.staged_only]
    try:
        done = _load_together(pipeline, together, settings, load_batch, "files of the batch")
    except DestinationError as exc:
        _give_up(pipeline, staged, summary, outcomes, labels, exc)
        return True
    try:
        if done is not None:
            for outcome in done:
                _loaded(summary, outcomes, labels[outcome.file.name], outcome)
        alone = [item for item in staged if item.staged_only]
        try:
            parsed = _load_together(pipeline, alone, settings, load_staged_batch, "parsed files")
        except DestinationError as exc:
            rest = alone if done is not None else staged
            _give_up(pipeline, rest, summary, outcomes, labels, exc)
            return True
        for outcome in parsed or []:
            _loaded(summary, outcomes, labels[outcome.file.name], outcome)
        for position, item in enumerate(staged):
            if done is not None and not item.staged_only:
                continue  # loaded in the batch
            if parsed is not None and item.staged_only:
                continue  # loaded in the batch of parsed files
            try:
                outcome = load_file(pipeline, item, settings)
            except Exception as exc:
                recover_interrupted(pipeline, after_failure=True)
                _failed(summary, outcomes, labels[item.file.name],
                        FileOutcome(item.file, error=describe_failure(exc)))  # fmt: skip
                if isinstance(exc, DestinationError):
                    _give_up(pipeline, staged[position + 1 :], summary, outcomes, labels, exc)
                    return True  # the warehouse itself failed: the next files would too
                continue
            _loaded(summary, outcomes, labels[item.file.name], outcome)
        return False
    finally:
        for item in staged:
            if item.file.is_remote:
                item.local.unlink(missing_ok=True)


def _load_together(
    pipeline: dlt.Pipeline,
    items: list[Staged],
    settings: Settings,
    load: Callable[[dlt.Pipeline, Sequence[Staged], Settings], list[FileOutcome]],
    what: str,
) -> list[FileOutcome] | None:
    """``items`` in one dlt load when there are several; ``None`` when they must load one by
    one (one file, or the load failed and was retracted). A failing warehouse is raised."""
    if len(items) < 2:
        return None
    try:
        return load(pipeline, items, settings)
    except DestinationError:
        raise
    except Exception as exc:
        log.info(
            "  the %d %s did not load as one (%s); loading them one by one",
            len(items),
            what,
            describe_failure(exc),
        )
        recover_interrupted(pipeline, after_failure=True)
        return None


def _give_up(
    pipeline: dlt.Pipeline,
    staged: Sequence[Staged],
    summary: RunSummary,
    outcomes: list[FileOutcome],
    labels: dict[str, str],
    exc: BaseException,
) -> None:
    recover_interrupted(pipeline, after_failure=True)
    for item in staged:
        _failed(summary, outcomes, labels[item.file.name],
                FileOutcome(item.file, error=describe_failure(exc)))  # fmt: skip


def _failed(
    summary: RunSummary, outcomes: list[FileOutcome], label: str, outcome: FileOutcome
) -> None:
    outcomes.append(outcome)
    summary.failed_inputs.append(f"{outcome.file.name}: {outcome.error}")
    log.error("%s: FAILED: %s", label, outcome.error)


def _loaded(
    summary: RunSummary, outcomes: list[FileOutcome], label: str, outcome: FileOutcome
) -> None:
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


def _unit(batch: list[SourceFile], todo: list[SourceFile]) -> str:
    """``[3/13] name`` for one file, ``[2-13/13] 12 files`` for a batch."""
    first = todo.index(batch[0]) + 1
    if len(batch) == 1:
        return f"[{first}/{len(todo)}] {batch[0].name}"
    return f"[{first}-{first + len(batch) - 1}/{len(todo)}] {len(batch)} files"


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


def _where(settings: Settings) -> str:
    return (
        (settings.lake_url or "") if settings.destination == "lake" else str(settings.duckdb_path)
    )
