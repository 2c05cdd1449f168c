"""DuckDB settings derived from the memory budget, shared by every DuckDB Tripline opens.

The extract connections, dlt's DuckDB destination, dbt (through ``ingestion.core.dbt_plugin``)
and the benchmark baseline all call :func:`duckdb_config`, so all of them spill to the same
temp directory at the same limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ingestion.core.errors import DestinationError
from ingestion.core.settings import Settings


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


def connect(database: Path | str, settings: Settings, **extra: Any) -> duckdb.DuckDBPyConnection:
    """Open ``database`` with the budget's settings, or fail with one clear line."""
    if isinstance(database, Path):
        database.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(database), config={**duckdb_config(settings), **extra})
    except duckdb.Error as exc:
        raise DestinationError(
            f"cannot open DuckDB database {database}: {_first_line(exc)} "
            "(is another process writing to it, or is the path read-only?)"
        ) from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
