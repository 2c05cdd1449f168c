"""Questions Tripline asks the destination, answered so that a failure is never "no".

Whether a table exists is read from ``information_schema``, so only an absent table answers
``False``: a busy or broken file raises instead of passing for an empty dataset.
"""

from __future__ import annotations

from typing import Any

from dlt.destinations.sql_client import SqlClientBase


def table_names(client: SqlClientBase[Any]) -> set[str]:
    """Every table of the client's dataset (empty when the dataset does not exist yet)."""
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,
    )
    return {str(name) for (name,) in rows or []}


def table_exists(client: SqlClientBase[Any], table: str) -> bool:
    """Whether ``table`` exists in the client's dataset."""
    return table in table_names(client)


def tables_with_column(client: SqlClientBase[Any], column: str) -> list[str]:
    """Tables of the client's dataset that have ``column``, in name order."""
    rows = client.execute_sql(
        "select table_name from information_schema.columns "
        "where table_schema = %s and column_name = %s order by table_name",
        client.dataset_name,
        column,
    )
    return [str(name) for (name,) in rows or []]
