"""The dlt sources of the ``trips`` pipeline: one TLC file, and the reset of a full refresh.

A file loads as SQL *model* items: SELECTs that dlt's DuckDB loader runs inside the warehouse
as ``INSERT … SELECT``, so no row passes through Python. dlt adds the load id column itself
(``add_dlt_load_id`` of the model normalizer, set for this pipeline only). The load records
the file's claim (``ingestion.trips.claims``) in the source state, committed with the rows.

The caller prepares everything the source needs (the SELECTs, the counts) and passes it in:
the source only hands it to dlt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.schema.typing import TColumnSchema, TWriteDisposition
from dlt.extract.resource import DltResource

from ingestion.trips.claims import SOURCE_NAME, FileClaim, forget_all, rejects_table, remember
from ingestion.trips.schema import LOAD_ID_COLUMN, SOURCE_FILE_COLUMN, TableSchema

_DLT_TYPES = {"BIGINT": "bigint", "DOUBLE": "double", "VARCHAR": "text", "TIMESTAMP": "timestamp"}


def table_columns(schema: TableSchema) -> dict[str, TColumnSchema]:
    """dlt column hints for the stable schema plus the lineage columns."""
    columns: dict[str, TColumnSchema] = {}
    for column in schema.columns:
        hint: TColumnSchema = {"data_type": _DLT_TYPES[column.duckdb_type], "nullable": True}  # type: ignore[typeddict-item]
        if column.duckdb_type == "TIMESTAMP":
            hint["timezone"] = False  # TLC times are New York local time, stored as written
        if column.description:
            hint["description"] = column.description
        columns[column.name] = hint
    columns[SOURCE_FILE_COLUMN] = {"data_type": "text", "nullable": False}
    columns[LOAD_ID_COLUMN] = {"data_type": "text", "nullable": False}
    return columns


REJECT_COLUMNS: dict[str, TColumnSchema] = {
    SOURCE_FILE_COLUMN: {"data_type": "text", "nullable": False},
    "line": {
        "data_type": "bigint",
        "description": "CSV: 1-based line (header = 1) of a line DuckDB could not parse; "
        "Parquet: 1-based row; NULL for a CSV row whose values were rejected",
    },
    "byte_position": {"data_type": "bigint"},
    "reason": {"data_type": "text", "description": "why the row was rejected"},
    "raw_line": {
        "data_type": "text",
        "description": "the line as written (parse rejects) or the row's values as read",
    },
    LOAD_ID_COLUMN: {"data_type": "text", "nullable": False},
}


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def tlc_file(
    claim: FileClaim, schema: TableSchema, rows_sql: str | None, rejects_sql: str | None
) -> list[DltResource]:
    """One TLC file as dlt resources.

    Args:
        claim: the version being loaded and its counts (the load id is filled in here).
        schema: the file's stable table schema.
        rows_sql: the SELECT of the rows to load (``None`` when every row was rejected).
        rejects_sql: the SELECT of its rejects, or ``None`` when there are none.

    Returns:
        The data resource and, when there are rejects, the rejects resource.
    """
    disposition: TWriteDisposition = "replace" if schema.kind == "zones" else "append"

    def rows() -> Iterator[Any]:
        load_id = dlt.current.load_package_state()["load_id"]
        remember(FileClaim(**{**claim.__dict__, "load_id": load_id}))
        if rows_sql is not None:
            yield dlt.current.pipeline().dataset()(rows_sql)

    def rejects() -> Iterator[Any]:
        if rejects_sql is not None:
            yield dlt.current.pipeline().dataset()(rejects_sql)

    resources: list[DltResource] = [
        dlt.resource(
            rows, name=schema.table, write_disposition=disposition, columns=table_columns(schema)
        )
    ]
    if rejects_sql is not None:
        resources.append(
            dlt.resource(
                rejects,
                name=rejects_table(schema.table),
                write_disposition="append",
                columns=REJECT_COLUMNS,
            )
        )
    return resources


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def tlc_reset() -> DltResource:
    """Nothing to load, and no claims: run with ``refresh="drop_sources"``, it drops the
    source's tables and commits an empty state in one load, its own committed step."""

    def nothing() -> Iterator[Any]:
        forget_all()
        yield from ()

    return dlt.resource(nothing, name="_tripline_reset")
