"""One run of the fleet_db pipeline: recover, load incrementally, reconcile keys, summarise."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator

import dlt
import sqlalchemy as sa
from dlt.common.pipeline import LoadInfo, NormalizeInfo
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.core.destination import table_exists
from ingestion.core.destinations import sql_client
from ingestion.core.errors import DestinationError, SourceError, TriplineError
from ingestion.core.failures import cause_chain, describe_failure
from ingestion.core.failures import first_line as core_first_line
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import apply_dlt_budget, open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.fleet_db import fleet_db
from ingestion.fleet_db.cursor import future_dated, read_window
from ingestion.fleet_db.helpers import (
    check_connection,
    connectorx_url,
    create_engine,
    describe,
    first_line,
    parse_dsn,
    redact,
    transport_warning,
)
from ingestion.fleet_db.reconcile import reconcile_table
from ingestion.fleet_db.settings import (
    BYTES_PER_VALUE,
    DATASET,
    PIPELINE_NAME,
    TABLES,
    cursor_lag,
)

log = get_logger("fleet_db")

_LOST_CONNECTION_MARKERS = (
    "terminating connection",
    "server closed the connection",
    "connection already closed",
    "lost connection",
    "server has gone away",
    "connection refused",
    "could not receive data",
    "ssl syscall",
    "connection reset",
    "broken pipe",
)


def default_backend(engine: sa.Engine) -> str:
    """``adbc`` on PostgreSQL, pyarrow elsewhere (see bench/results/fleet_db.md).

    On 5 M PostgreSQL rows ``adbc`` (binary COPY decoded in C) used about a quarter less CPU
    than ``copy`` (CSV COPY parsed by Arrow), the server's half of it halved; connectorx
    panics inside its Rust reader when a connection is lost mid-read (a Rust backtrace on
    stderr, no catchable error), where ``adbc`` and ``copy`` end with one clear line.
    pyarrow was 3 × slower. connectorx reads PostgreSQL only in this setup (its MySQL URL
    handling rejects the options Tripline needs), so MySQL/MariaDB and SQLite use pyarrow.
    """
    return "adbc" if engine.dialect.name == "postgresql" else "pyarrow"


def chunk_sizes(settings: Settings, backend: str, override: int | None = None) -> dict[str, int]:
    """Rows per chunk per table so one chunk stays near 5 % of the memory budget."""
    per_value = BYTES_PER_VALUE.get(backend, 96)
    return {
        t.name: override or settings.budget.rows_per_chunk(t.columns * per_value) for t in TABLES
    }


def run_fleet_db(
    settings: Settings,
    dsn: str,
    backend: str = "auto",
    full_refresh: bool = False,
    reconcile: bool = True,
    chunk_size: int | None = None,
) -> RunSummary:
    """Load the fleet database at ``dsn`` into ``raw_fleet_db``; the DSN is never logged."""
    apply_dlt_budget(settings)  # before dlt sets up its logger: its warnings stay quiet
    url = parse_dsn(dsn)
    lag = cursor_lag()
    weaker = transport_warning(url)
    if weaker:
        log.warning("fleet_db: %s (%s)", weaker, describe(url))
    engine = create_engine(url)
    started = time.monotonic()
    try:
        chosen = default_backend(engine) if backend == "auto" else backend
        if chosen in ("adbc", "copy", "connectorx") and engine.dialect.name != "postgresql":
            raise SourceError(f"--backend {chosen} needs PostgreSQL here; use pyarrow")
        if chosen == "connectorx":
            connectorx_url(url)  # refuses TLS settings connectorx cannot honour, in one line
        check_connection(engine)
        window = read_window(engine, lag)
        pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
        discarded = recover_interrupted(pipeline)
        sizes = chunk_sizes(settings, chosen, chunk_size)
        log.info(
            "fleet_db: reading %s with backend %s, chunks %s, updated_at up to %s "
            "(the database's clock minus %.0f s)",
            describe(url),
            chosen,
            sizes,
            window.until.isoformat(),
            lag.total_seconds(),
        )
        summary = RunSummary(pipeline=PIPELINE_NAME, dataset=DATASET, inputs=len(TABLES))
        # Tables empty before this run are appended, and need no reconciliation: every key
        # in them was read from the source moments ago.
        first_load = [t.name for t in TABLES] if full_refresh else _empty_tables(pipeline)
        # Four samples a second: each walks every process on the machine (about 4 ms of CPU),
        # which at the default 20 a second took GIL time from the read on 2 shared cores.
        with PeakTreeMemory(interval=0.25) as peak:
            source = fleet_db(
                credentials=url.render_as_string(hide_password=False),
                backend=chosen,
                chunk_sizes=sizes,
                first_load=first_load,
                read_until=window.until,
            )
            _quiet_dlt_warnings()
            # Load files rotate at one chunk of rows, so each INSERT DuckDB runs is small.
            rotation = {"DATA_WRITER__FILE_MAX_ITEMS": str(max(sizes.values()))}
            # connectorx's Rust code (its panics, its pool's log) writes to fd 2 itself.
            stderr = _stderr_redacted(url) if chosen == "connectorx" else contextlib.nullcontext()
            try:
                with _scoped_environ(rotation), stderr:
                    normalized, info = _extract_normalize_load(pipeline, source, full_refresh)
            except PipelineStepFailed as exc:
                raise _source_error(exc, url) from None
            except BaseException as exc:
                # connectorx reports a failed read as a Rust panic (pyo3's PanicException, a
                # BaseException), which dlt does not wrap.
                if type(exc).__name__ != "PanicException":
                    raise
                raise SourceError(
                    f"connectorx failed while reading the fleet database ({describe(url)}): "
                    f"{first_line(exc, url)}. Nothing from this run was loaded; run again "
                    "(--backend adbc or copy report lost connections more clearly)"
                ) from None
            counts = {
                name: count
                for name, count in normalized.row_counts.items()
                if not name.startswith("_dlt")
            }
            hard_deleted = 0
            if reconcile:
                for fleet_table in TABLES:
                    if fleet_table.name not in first_load:
                        hard_deleted += reconcile_table(engine, pipeline, fleet_table)
            ahead = future_dated(engine, window.clock)
        if ahead:
            log.warning(
                "fleet_db: %s stamped after the database's clock (%s): a writer's clock runs "
                "ahead; they load once the clock passes them",
                _rows(sum(ahead.values())),
                ", ".join(f"{name} {count:,}" for name, count in ahead.items()),
            )
        summary.rows_read = summary.rows_loaded = sum(counts.values())
        summary.load_ids = list(info.loads_ids)
        summary.seconds = time.monotonic() - started
        summary.peak_memory_bytes = peak.peak_bytes
        summary.extra = {
            "backend": chosen,
            "per_table": ", ".join(f"{k}={v:,}" for k, v in sorted(counts.items())) or "none",
            "hard_deletes_found": hard_deleted,
            "read_until": window.until.isoformat(timespec="seconds"),
            "future_dated_rows": sum(ahead.values()),
        }
        if discarded:
            summary.extra["discarded_interrupted_loads"] = len(discarded)
        return summary
    finally:
        engine.dispose()


@contextlib.contextmanager
def _scoped_environ(values: dict[str, str]) -> Iterator[None]:
    """Set dlt settings for this run only (``tripline demo`` runs every pipeline in one process)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: value for key, value in values.items() if saved[key] is None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


@contextlib.contextmanager
def _stderr_redacted(url: sa.URL) -> Iterator[None]:
    """File descriptor 2 through :func:`redact` for the block, line by line.

    Native code (connectorx's Rust panic hook and connection pool) writes to fd 2 directly,
    past Python's ``sys.stderr``; a pipe in its place lets every byte be redacted first.
    """
    sys.stderr.flush()
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as source, os.fdopen(os.dup(original), "wb", 0) as sink:
            for line in source:
                sink.write(redact(line.decode(errors="replace"), url).encode())

    thread = threading.Thread(target=pump, name="stderr-redactor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # the pipe's last writer closes: the pump reads to its end
        thread.join(10)
        os.close(original)


def _extract_normalize_load(
    pipeline: dlt.Pipeline, source: DltSource, full_refresh: bool
) -> tuple[NormalizeInfo, LoadInfo]:
    """``pipeline.run`` in its three steps, so the load can use one worker.

    dlt loads several files at once on DuckDB by default; each ``INSERT … SELECT FROM
    read_parquet`` then holds its own buffers. For 5 M shifts at a 4 GB budget, one worker
    and files of one chunk took the peak from about 1.05 GB to 0.6-0.7 GB, no slower
    (DuckDB parallelises each insert itself).
    """
    if full_refresh:
        pipeline.extract(source, refresh="drop_sources", loader_file_format="parquet")
    else:
        pipeline.extract(source, loader_file_format="parquet")
    normalized = pipeline.normalize()
    return normalized, pipeline.load(workers=1)


def _empty_tables(pipeline: dlt.Pipeline) -> list[str]:
    """Fleet tables the destination has no rows of yet (first run, or after a reset).

    Fails closed: "empty" means the table is appended and not reconciled, so only a table
    that does not exist or has no rows is empty. Any other answer (a file another process
    holds, a broken table) stops the run before anything is read.
    """
    empty = []
    try:
        with sql_client(pipeline) as client:
            for fleet_table in TABLES:
                if not table_exists(client, fleet_table.name):
                    empty.append(fleet_table.name)
                    continue
                name = client.make_qualified_table_name(fleet_table.name)
                rows = client.execute_sql(f"select exists (select 1 from {name})")
                if not rows or not rows[0][0]:
                    empty.append(fleet_table.name)
    except Exception as exc:
        reason = core_first_line(exc) if isinstance(exc, TriplineError) else describe_failure(exc)
        raise DestinationError(
            f"cannot tell which {DATASET} tables already hold rows, so nothing was read or "
            f"loaded: {reason}"
        ) from exc
    return empty


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _quiet_dlt_warnings() -> None:
    """dlt's schema-merge warnings repeat what the summary says; ``--debug`` shows them."""
    if os.environ.get("RUNTIME__LOG_LEVEL", "ERROR").upper() == "ERROR":
        logging.getLogger("dlt").setLevel(logging.ERROR)


def _source_error(exc: PipelineStepFailed, url: sa.URL) -> SourceError:
    """One line saying what failed; a lost connection says that the next run resumes."""
    chain = cause_chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    where = describe(url)
    root = first_line(chain[-1], url)
    if any(marker in text for marker in _LOST_CONNECTION_MARKERS):
        return SourceError(
            f"lost the connection to the fleet database ({where}) during {exc.step}: "
            f"{root}. Nothing from this run was loaded; run again to resume "
            "from the last loaded updated_at"
        )
    return SourceError(f"fleet_db {exc.step} failed ({where}): {root}")
