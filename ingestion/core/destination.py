"""Questions Tripline asks the destination, answered so that a failure is never "no".

Whether a table exists is read from ``information_schema``, so only an absent table answers
``False``: a busy or broken file raises instead of passing for an empty dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.destinations.sql_client import SqlClientBase


def table_names(client: SqlClientBase[Any], dataset: str | None = None) -> set[str]:
    """Every table of ``dataset`` (default: the client's; empty when it does not exist)."""
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        dataset or client.dataset_name,
    )
    return {str(name) for (name,) in rows or []}


def table_exists(client: SqlClientBase[Any], table: str, dataset: str | None = None) -> bool:
    """Whether ``table`` exists in ``dataset`` (default: the client's)."""
    return table in table_names(client, dataset)


def has_column(client: SqlClientBase[Any], table: str, column: str) -> bool:
    """Whether ``table`` of the client's dataset has ``column``."""
    return table in tables_with_column(client, column)


def rows_of_loads(client: SqlClientBase[Any], table: str, load_ids: Sequence[str]) -> int:
    """Rows of ``table`` that ``load_ids`` wrote (0 when none, or no such table yet)."""
    if not load_ids or not table_exists(client, table):
        return 0
    marks = ", ".join(["%s"] * len(load_ids))
    rows = client.execute_sql(
        f"select count(*) from {client.make_qualified_table_name(table)} "
        f"where _dlt_load_id in ({marks})",
        *load_ids,
    )
    return int(rows[0][0]) if rows else 0


def tables_with_column(client: SqlClientBase[Any], column: str) -> list[str]:
    """Tables of the client's dataset that have ``column``, in name order."""
    rows = client.execute_sql(
        "select table_name from information_schema.columns "
        "where table_schema = %s and column_name = %s order by table_name",
        client.dataset_name,
        column,
    )
    return [str(name) for (name,) in rows or []]
