"""The ``fleet_events`` run: batches from Kafka into ``raw_fleet_events``, offsets after loads.

A finite run (a scheduled ECS task) reads every partition up to the high watermark it saw
at start, in batches, then exits. ``--follow`` (an ECS service) keeps going in micro-batches
bounded by count, bytes and time, and stops after the current batch on SIGTERM or SIGINT.

Per batch: extract + normalize + load with dlt (the offsets travel in dlt state with the
rows), then commit the same offsets to the consumer group. A crash anywhere replays the
batch on the next start; the merge on ``event_id`` makes the replay harmless.

Two leases (``ingestion.core.lease``) make it a fenced singleton that takes turns: the
consumer lease (``<warehouse>.fleet_events.lock``) is held for the whole run, so a second
consumer of the same warehouse waits up to ``TRIPLINE_LOCK_TIMEOUT`` and then exits in one
line, and its state can never move backwards; the warehouse lease is taken per micro-batch
(and for the start-up reads), so batch loads and ``dbt build`` get their turn between
batches. After every pass of the loop, empty polls included, the follower touches
``TRIPLINE_HEARTBEAT_FILE`` (the container health check).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import dlt
from dlt.common.pipeline import LoadInfo

from ingestion.core.destinations import is_lake, sql_client
from ingestion.core.errors import ConfigurationError
from ingestion.core.lease import hold
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import configure_pipeline_dlt, open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.fleet_events import fleet_events, offsets_in_state
from ingestion.fleet_events.batch import Batch, BatchCounts
from ingestion.fleet_events.consumer import EventConsumer
from ingestion.fleet_events.decode import PageDecoder
from ingestion.fleet_events.offsets import Gap, ResetChoice, plan_start
from ingestion.fleet_events.prefetch import Prefetcher
from ingestion.fleet_events.settings import (
    CONSUMER_GROUP,
    DATASET,
    DECODER_MEMORY_SHARE,
    EVENTS_TABLE,
    FIRST_LAYOUT_CHILD_TABLE,
    PIPELINE_NAME,
    TOPIC,
    BatchLimits,
    client_config,
)

log = get_logger("fleet_events")
# A DuckDB file takes one writer or many readers: wait up to 30 s for readers to let go.
LOCK_RETRIES = 60
LOCK_RETRY_SECONDS = 0.5
# The run summary's own memory sampler: psutil's children() reads every process in /proc, so
# at the default 50 ms it took about a fifth of the run's CPU samples in py-spy on a busy
# machine (bench/results/fleet_events.md). 1 s is enough for a run summary; the benchmark
# samples the tree from outside.
MEMORY_SAMPLE_SECONDS = 1.0
HEARTBEAT_ENV = "TRIPLINE_HEARTBEAT_FILE"
CONSUMER_LEASE = "fleet_events"


@dataclass(frozen=True)
class RunOptions:
    """How one ``tripline pipeline run fleet_events`` behaves."""

    bootstrap: str | None = None
    topic: str = TOPIC
    group: str = CONSUMER_GROUP
    follow: bool = False
    max_messages: int | None = None
    max_bytes: int | None = None
    max_seconds: float | None = None
    # --follow only: stop after this many seconds (0 = until SIGTERM); for tests and benches.
    follow_for: float = 0.0
    # Drop the dataset and the offsets in the first load and read the topic from the start.
    full_refresh: bool = False
    # The operator's choice when the stored offsets do not fit the topic (it was recreated).
    reset_offsets: ResetChoice | None = None


def _configure_dlt() -> None:
    """dlt settings for this pipeline only (``FLEET_EVENTS__…``): another pipeline in the same
    process (``tripline demo``, a test session) keeps its own."""
    configure_pipeline_dlt(
        PIPELINE_NAME,
        {
            # dlt gzips its intermediate files by default: about a fifth of a batch's CPU time
            # here, for files that live only until the batch is loaded.
            "DATA_WRITER__DISABLE_COMPRESSION": "true",
            "LOAD__DELETE_COMPLETED_JOBS": "true",
            # Arrow pages get the load id column too: crash recovery and dbt's loaded_at rely on it.
            "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
        },
    )


def _restore_state(pipeline: dlt.Pipeline, topic: str) -> dict[int, int]:
    """Offsets from the destination: local state may claim work a killed run never loaded."""
    recover_interrupted(pipeline)
    pipeline.drop()
    pipeline.sync_destination()
    return offsets_in_state(pipeline.state, topic)


def _check_layout(pipeline: dlt.Pipeline) -> None:
    """Refuse a dataset written by the first layout, whose tables the loads can no longer fill.

    The first version let dlt's normalizer write ``_dlt_id`` (NOT NULL) and a child table
    ``trip_events__fare__surcharges``; the Arrow pages of this one carry neither.
    """
    with sql_client(pipeline) as client:
        found = client.execute_sql(
            "select count(*) from information_schema.tables "
            "where table_schema = %s and table_name = %s",
            client.dataset_name,
            FIRST_LAYOUT_CHILD_TABLE,
        )
    if found and found[0][0]:
        raise ConfigurationError(
            f"{DATASET} holds the first fleet_events layout ({FIRST_LAYOUT_CHILD_TABLE}); run "
            "once with --full-refresh to drop it and reload the topic from its oldest message"
        )


def _drop_first_layout(pipeline: dlt.Pipeline) -> None:
    """The first layout's child table, in case dlt's schema no longer listed it."""
    if is_lake(pipeline):
        return  # the lake never held the first layout
    with sql_client(pipeline) as client:
        table = client.make_qualified_table_name(FIRST_LAYOUT_CHILD_TABLE)
        client.execute_sql(f"drop table if exists {table}")


def touch_heartbeat() -> None:
    """Touch ``TRIPLINE_HEARTBEAT_FILE`` (if set): the follower is alive and looping."""
    name = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not name:
        return
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path)


def _count_events(pipeline: dlt.Pipeline) -> int:
    with sql_client(pipeline) as client:
        try:
            rows = client.execute_sql(
                f"select count(*) from {client.make_qualified_table_name(EVENTS_TABLE)}"
            )
        except Exception:  # the table does not exist before the first load
            return 0
    return int(rows[0][0]) if rows else 0


def _is_lock_conflict(error: BaseException) -> bool:
    """DuckDB refused the file because another process (a reader) holds it right now."""
    current: BaseException | None = error
    while current is not None:
        if "Could not set lock on file" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _load_batch(pipeline: dlt.Pipeline, batch: Batch, refresh: bool) -> LoadInfo:
    """Extract, normalize and load one batch, waiting out short DuckDB lock conflicts.

    Only the destination steps touch the file: a conflict before extraction leaves the
    batch untouched (run again), one during the load leaves a normalized package that
    ``load()`` finishes. Anything else, or a conflict that lasts, fails the run.
    """
    for attempt in range(LOCK_RETRIES + 1):
        try:
            if pipeline.list_normalized_load_packages():
                return pipeline.load()
            source = fleet_events(batch)
            if refresh:
                return pipeline.run(source, loader_file_format="parquet", refresh="drop_sources")
            return pipeline.run(source, loader_file_format="parquet")
        except Exception as error:
            if attempt == LOCK_RETRIES or not _is_lock_conflict(error):
                raise
            log.info("fleet_events: DuckDB file busy (a reader?), retrying the load")
            time.sleep(LOCK_RETRY_SECONDS)
    raise AssertionError("unreachable")


class _StopFlag:
    """SIGTERM/SIGINT set a flag; the current batch finishes, loads and commits first."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log.info(
            "fleet_events: %s received, stopping after this batch", signal.Signals(signum).name
        )
        self.event.set()

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _flush_seconds(options: RunOptions, limits: BatchLimits) -> float:
    """How long a partly filled page may wait: short in follow mode, where it is latency."""
    return min(0.5, limits.max_seconds / 2) if options.follow else 2.0


def _run_batches(
    pipeline: dlt.Pipeline,
    consumer: EventConsumer,
    decoder: PageDecoder,
    positions: dict[int, int],
    start_gaps: list[Gap],
    stop_at: dict[int, int] | None,
    options: RunOptions,
    limits: BatchLimits,
    stop: threading.Event,
    summary: RunSummary,
    warehouse: Path,
) -> BatchCounts:
    """Load and commit batch after batch until the stop offsets, the deadline or a signal."""
    totals = BatchCounts()
    deadline = time.monotonic() + options.follow_for if options.follow_for else None
    uncommitted: dict[int, int] | None = None
    refresh = options.full_refresh
    prefetcher = Prefetcher(
        consumer,
        decoder,
        positions,
        stop_at,
        limits.page_messages,
        _flush_seconds(options, limits),
        discover_seconds=limits.max_seconds / 2 if options.follow else None,
    )
    with prefetcher:
        while not stop.is_set():
            touch_heartbeat()
            if deadline is not None and time.monotonic() >= deadline:
                break
            if uncommitted is not None and consumer.commit(uncommitted):
                uncommitted = None  # the group caught up after a broker outage
            batch = Batch(consumer.topic, prefetcher, positions, limits, stop_at, stop)
            batch.take_gaps(start_gaps)
            start_gaps = []
            if batch.finished and not batch.gaps:
                break
            if options.follow and not batch.gaps:
                batch.first_page = prefetcher.next_page(timeout=0.5)
                if batch.first_page is None:
                    continue
            with hold(warehouse, f"pipeline {PIPELINE_NAME}"):
                info = _load_batch(pipeline, batch, refresh)
                if refresh:  # the first load dropped the tables dlt's schema knew, and offsets
                    _drop_first_layout(pipeline)
                    refresh = False
            positions = batch.positions
            uncommitted = None if consumer.commit(positions) else dict(positions)
            totals.add(batch.counts)
            summary.inputs += 1
            summary.load_ids.extend(info.loads_ids)
            log.info(
                "fleet_events: batch of %d messages (%d valid, %d dead letters, %d tombstones, "
                "%d gaps) loaded and committed",
                batch.counts.messages,
                batch.counts.valid,
                batch.counts.dead_letters,
                batch.counts.tombstones,
                batch.counts.gaps,
            )
    touch_heartbeat()
    if uncommitted is not None:
        consumer.commit(uncommitted)
    return totals


def run_fleet_events(settings: Settings, options: RunOptions) -> RunSummary:
    """Consume, load and commit until the topic's start watermarks (or SIGTERM with follow)."""
    started = time.perf_counter()
    summary = RunSummary(PIPELINE_NAME, DATASET)
    limits = BatchLimits.from_budget(
        settings.budget, options.max_messages, options.max_bytes, options.max_seconds
    )
    _configure_dlt()
    warehouse = settings.duckdb_path
    what = f"pipeline {PIPELINE_NAME}"
    with (
        PeakTreeMemory(interval=MEMORY_SAMPLE_SECONDS) as memory,
        _StopFlag() as stop,
        hold(warehouse, f"{what} consumer of {options.topic}", name=CONSUMER_LEASE),
    ):
        pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
        # dlt's own handler holds SIGTERM during normalize and load, then forgets it: a
        # follower signalled then would run on. _StopFlag takes the signal instead.
        pipeline.config.runtime.intercept_signals = False
        with hold(warehouse, what):
            stored = _restore_state(pipeline, options.topic)
            if options.full_refresh:
                stored = {}  # the first load drops the stored offsets with the tables
            else:
                _check_layout(pipeline)
            before = 0 if options.full_refresh else _count_events(pipeline)
        consumer = EventConsumer(client_config(options.bootstrap), options.topic, options.group)
        decoder = PageDecoder(
            threads=settings.budget.duckdb_threads,
            memory_limit_bytes=int(settings.budget.total_bytes * DECODER_MEMORY_SHARE),
        )
        try:
            partitions = consumer.partitions()
            plan = plan_start(
                options.topic, stored, partitions, consumer.watermarks, options.reset_offsets
            )
            for gap in plan.gaps:
                gap.warn(options.topic)
            if plan.resets:
                log.warning(
                    "fleet_events: --reset-offsets %s on %s: %s",
                    options.reset_offsets,
                    options.topic,
                    plan.resets,
                )
                summary.extra["reset_offsets"] = options.reset_offsets
            stop_at = None
            if not options.follow:
                stop_at = {p: consumer.watermarks(p)[1] for p in partitions}
            consumer.assign(plan.positions)
            log.info(
                "fleet_events: %s from %s up to %s",
                options.topic,
                plan.positions,
                stop_at if stop_at is not None else "the end (follow)",
            )
            totals = _run_batches(
                pipeline,
                consumer,
                decoder,
                plan.positions,
                plan.gaps,
                stop_at,
                options,
                limits,
                stop.event,
                summary,
                warehouse,
            )
        finally:
            consumer.close()
            decoder.close()
        with hold(warehouse, what):
            after = _count_events(pipeline)
    summary.rows_read = totals.messages
    summary.rows_loaded = totals.valid + totals.tombstones
    summary.rows_rejected = totals.dead_letters
    summary.bytes_read = totals.bytes
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    summary.extra["new_events"] = after - before
    summary.extra["duplicates"] = totals.valid - (after - before)
    summary.extra["tombstones"] = totals.tombstones
    summary.extra["offset_gaps"] = totals.gaps
    summary.extra["lost_messages"] = totals.lost
    return summary
