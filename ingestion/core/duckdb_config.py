"""DuckDB settings derived from the memory budget, shared by every DuckDB Tripline opens.

The extract connections, dlt's DuckDB destination, dbt (through ``ingestion.core.dbt_plugin``)
and the benchmark baseline all call :func:`duckdb_config`, so all of them spill to the same
temp directory at the same limit.

DuckDB lets one process open a file for writing, and none while a reader has it open. A
reader that follows the rule (open read-only, one query, close) holds the file for a moment,
so every writer's open waits for it (:func:`retry_while_locked`, bounded by
``TRIPLINE_LOCK_TIMEOUT``) instead of failing the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay
from tenacity.wait import wait_exponential

from ingestion.core.errors import DestinationError
from ingestion.core.failures import first_line, kind_of
from ingestion.core.lease import lock_timeout
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings

log = get_logger("duckdb")
_T = TypeVar("_T")


def duckdb_config(settings: Settings) -> dict[str, str]:
    """``duckdb.connect(config=…)`` settings for the budget in force."""
    settings.temp_directory.mkdir(parents=True, exist_ok=True)
    budget = settings.budget
    return {
        "memory_limit": budget.duckdb_memory_limit,
        "threads": str(budget.duckdb_threads),
        "temp_directory": str(settings.temp_directory.resolve()),
        # Ordered inserts buffer whole row groups per thread; raw loads do not need order.
        "preserve_insertion_order": "false",
    }


def _is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and kind_of(exc) == "locked"


def retry_while_locked(open_database: Callable[[], _T], database: str) -> _T:
    """``open_database()``, retried while another process holds ``database`` open.

    Waits with backoff up to ``TRIPLINE_LOCK_TIMEOUT`` seconds, saying once what it waits
    for; then the conflict is raised as a :class:`DestinationError` naming the holder.
    """
    told = False

    def say_once(state: RetryCallState) -> None:
        nonlocal told
        if not told and state.outcome is not None:
            told = True
            error = state.outcome.exception()
            log.warning(
                "%s is open in another process; waiting for it (%s)",
                database,
                first_line(error) if error else "busy",
            )

    retrying = Retrying(
        retry=retry_if_exception(_is_lock_conflict),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        stop=stop_after_delay(lock_timeout()),
        before_sleep=say_once,
        reraise=True,
    )
    try:
        return retrying(open_database)
    except duckdb.Error as exc:
        if not _is_lock_conflict(exc):
            raise
        raise DestinationError(
            f"{database} is locked by another process for longer than TRIPLINE_LOCK_TIMEOUT: "
            f"{first_line(exc)} (a reader must open it read-only and close it after each query)"
        ) from exc


def connect(database: Path | str, settings: Settings, **extra: Any) -> duckdb.DuckDBPyConnection:
    """Open ``database`` with the budget's settings, or fail with one clear line."""
    if isinstance(database, Path):
        database.parent.mkdir(parents=True, exist_ok=True)
    config = {**duckdb_config(settings), **extra}
    try:
        return retry_while_locked(
            lambda: duckdb.connect(str(database), config=config), str(database)
        )
    except duckdb.Error as exc:
        raise DestinationError(
            f"cannot open DuckDB database {database}: {first_line(exc)} "
            "(is the path read-only, or the file not a DuckDB database?)"
        ) from exc
