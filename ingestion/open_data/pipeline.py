"""The ``open_data`` run: one dlt load of every vehicle record changed since the last run,
then the key reconciliation that marks vehicles gone from the dataset.

The run first asks the dataset's latest ``:updated_at`` (its upper bound), then reads, in
keyset pages, every row stamped from the cursor up to that bound (see ``ingestion.open_data``).

All-or-nothing: extraction reads every page before anything loads, and dlt commits the
incremental cursor with the data. A run that fails (after the session's retries) is undone
with ``recover_interrupted`` and reported in one line naming the URL and the page; the next
run asks again from the same cursor, so nothing is lost or duplicated. The reconciliation
runs after the load (``reconcile=False`` or ``--skip-reconcile`` skips it); if it fails or
refuses, the load stays and the line says so.
"""

from __future__ import annotations

import re
import time

import dlt

from ingestion.core.destination import rows_of_loads
from ingestion.core.destinations import sql_client
from ingestion.core.errors import SourceError
from ingestion.core.failures import innermost_line
from ingestion.core.http import HttpStats, RetryPolicy, http_failure, retrying_session
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.open_data import app_token_headers, open_data
from ingestion.open_data.helpers import CURSOR, ROW_KEY, latest_updated_at
from ingestion.open_data.reconcile import reconcile_vehicles
from ingestion.open_data.settings import (
    DATASET,
    INITIAL_UPDATED_AT,
    PIPELINE_NAME,
    REJECTED_TABLE,
    VEHICLES_TABLE,
    OpenDataSettings,
)

log = get_logger("open_data")


def _count(pipeline: dlt.Pipeline, table: str, load_ids: list[str]) -> int:
    with sql_client(pipeline) as client:
        return rows_of_loads(client, table, load_ids)


_AFTER = re.compile(re.escape(ROW_KEY) + r" > '([^']*)'")


def _page(params: dict[str, str]) -> str:
    """Which request of a run failed, in the words of its parameters."""
    if params.get("$order", "").startswith(CURSOR):
        return f"(the latest {CURSOR})"
    after = _AFTER.search(params.get("$where", ""))
    page = f"page after {ROW_KEY} {after.group(1)}" if after else "first page"
    return f"{page} $limit={params.get('$limit', '?')}"


def describe_failure(exc: BaseException, policy: RetryPolicy, during: str = "") -> str:
    """One line: what failed, at which URL and page, and what to do.

    ``during`` names a step after the load (the reconciliation): its failure keeps the load.
    """
    prefix = f"open_data: {during}: " if during else "open_data: "
    outcome = (
        "the vehicles were loaded, removals were not marked; run again later"
        if during
        else "nothing was loaded and the cursor did not move, run again later"
    )
    failure = http_failure(exc)
    if failure is None:
        first = innermost_line(exc)
        return f"{prefix}{'failed' if during else 'load failed'}: {first}; {outcome}"
    retried = f" after {policy.max_attempts} attempts" if failure.retryable else ""
    return (
        f"{prefix}GET {failure.url} {_page(failure.params)} failed{retried}: "
        f"{failure.what}; {outcome}"
    )


def app_token() -> str | None:
    """The Socrata app token from dlt secrets (``sources.open_data.app_token``), if any."""
    value: object = dlt.secrets.get("sources.open_data.app_token")
    return str(value) if value else None


def run_open_data(
    settings: Settings,
    options: OpenDataSettings,
    full_refresh: bool = False,
    loader_file_format: str = "parquet",
    reconcile: bool = True,
) -> RunSummary:
    """Load new and changed FHV vehicle records into ``raw_open_data``, then mark removals.

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
        token = app_token()
        headers = app_token_headers(token)
        try:
            upper = latest_updated_at(session, options.resource_url, headers)
            log.info(
                "open_data: reading %s (page size %d) up to %s %s",
                options.resource_url,
                options.page_size,
                CURSOR,
                upper,
            )
            source = open_data(options, session, token, upper or INITIAL_UPDATED_AT)
            info = pipeline.run(
                source,
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
        summary.extra["upper_bound"] = upper
        summary.extra["cursor"] = cursor_value(pipeline)
        if reconcile:
            try:
                found = reconcile_vehicles(pipeline, options, session, headers)
            except SourceError:
                raise
            except Exception as exc:
                raise SourceError(describe_failure(exc, policy, "key reconciliation")) from exc
            log.info(
                "open_data: %d keys in the source; %d vehicle(s) newly removed, %d back",
                found.source_keys,
                found.removed,
                found.restored,
            )
            summary.extra["removed"] = found.removed
            summary.extra["restored"] = found.restored
    summary.rows_read = summary.rows_loaded + summary.rows_rejected
    summary.inputs = stats.responses
    summary.bytes_read = stats.bytes_read
    summary.load_ids = load_ids
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    return summary


def cursor_value(pipeline: dlt.Pipeline) -> str | None:
    """The ``:updated_at`` the next run starts from, inclusive (``None`` before the first load)."""
    resources = pipeline.state.get("sources", {}).get("open_data", {}).get("resources", {})
    incremental = resources.get(VEHICLES_TABLE, {}).get("incremental", {})
    for value in incremental.values():
        if isinstance(value, dict) and "last_value" in value:
            return str(value["last_value"])
    return None
