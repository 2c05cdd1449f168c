"""The ``open_data`` run: one dlt load of every vehicle record changed since the last run.

All-or-nothing: extraction reads every page before anything loads, and dlt commits the
incremental cursor with the data. A run that fails (after the session's retries) is undone
with ``recover_interrupted`` and reported in one line naming the URL and the page; the next
run asks again from the same cursor, so nothing is lost or duplicated.
"""

from __future__ import annotations

import time

import dlt

from ingestion.core.errors import SourceError
from ingestion.core.http import HttpStats, RetryPolicy, http_failure, retrying_session
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.open_data import open_data
from ingestion.open_data.settings import (
    DATASET,
    PIPELINE_NAME,
    REJECTED_TABLE,
    VEHICLES_TABLE,
    OpenDataSettings,
)

log = get_logger("open_data")


def _count(pipeline: dlt.Pipeline, table: str, load_ids: list[str]) -> int:
    if not load_ids:
        return 0
    with pipeline.sql_client() as client:
        exists = client.execute_sql(
            "select count(*) from information_schema.tables "
            "where table_schema = %s and table_name = %s",
            pipeline.dataset_name,
            table,
        )
        if not exists or not exists[0][0]:
            return 0
        marks = ", ".join(["%s"] * len(load_ids))
        rows = client.execute_sql(
            f"select count(*) from {client.make_qualified_table_name(table)} "
            f"where _dlt_load_id in ({marks})",
            *load_ids,
        )
    return int(rows[0][0]) if rows else 0


def _innermost(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def describe_failure(exc: BaseException, policy: RetryPolicy) -> str:
    """One line: what failed, at which URL and page, and what to do."""
    failure = http_failure(exc)
    if failure is None:
        inner = _innermost(exc)
        first = (str(inner).strip().splitlines() or [type(inner).__name__])[0]
        return f"open_data: load failed: {first[:300]}"
    offset = failure.params.get("$offset", "0")
    limit = failure.params.get("$limit", "?")
    retried = f" after {policy.max_attempts} attempts" if failure.retryable else ""
    return (
        f"open_data: GET {failure.url} page $offset={offset} $limit={limit} failed{retried}: "
        f"{failure.what}; nothing was loaded and the cursor did not move, run again later"
    )


def run_open_data(
    settings: Settings,
    options: OpenDataSettings,
    full_refresh: bool = False,
    loader_file_format: str = "parquet",
) -> RunSummary:
    """Load new and changed FHV vehicle records into ``raw_open_data``.

    ``loader_file_format`` exists for ``bench/apis_bench.py``, which compares dlt's default
    (``insert_values``) with Parquet.
    """
    summary = RunSummary(PIPELINE_NAME, DATASET)
    started = time.perf_counter()
    policy = RetryPolicy.from_env()
    stats = HttpStats()
    with PeakTreeMemory() as memory:
        pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
        recover_interrupted(pipeline)
        if not full_refresh:
            pipeline.sync_destination()
        session = retrying_session(f"open_data {options.resource_url}", policy, stats)
        log.info("open_data: reading %s (page size %d)", options.resource_url, options.page_size)
        try:
            info = pipeline.run(
                open_data(options, session),
                refresh="drop_sources" if full_refresh else None,  # type: ignore[arg-type]
                # DuckDB reads Parquet load files in bulk; its default, one INSERT ... VALUES
                # statement per file, is several times slower and larger in memory.
                loader_file_format=loader_file_format,  # type: ignore[arg-type]
            )
        except Exception as exc:
            recover_interrupted(pipeline)
            raise SourceError(describe_failure(exc, policy)) from exc
        load_ids = list(info.loads_ids)
        summary.rows_loaded = _count(pipeline, VEHICLES_TABLE, load_ids)
        summary.rows_rejected = _count(pipeline, REJECTED_TABLE, load_ids)
    summary.rows_read = summary.rows_loaded + summary.rows_rejected
    summary.inputs = stats.responses
    summary.bytes_read = stats.bytes_read
    summary.load_ids = load_ids
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    summary.extra["cursor"] = cursor_value(pipeline)
    return summary


def cursor_value(pipeline: dlt.Pipeline) -> str | None:
    """The ``:updated_at`` the next run asks after (``None`` before the first load)."""
    resources = pipeline.state.get("sources", {}).get("open_data", {}).get("resources", {})
    incremental = resources.get(VEHICLES_TABLE, {}).get("incremental", {})
    for value in incremental.values():
        if isinstance(value, dict) and "last_value" in value:
            return str(value["last_value"])
    return None
