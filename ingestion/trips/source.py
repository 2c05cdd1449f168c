"""The dlt sources of the ``trips`` pipeline: TLC files, and the reset of a full refresh.

Several files load in one dlt load (one package, one state commit for all their claims),
each file as SQL *model* items: SELECTs that dlt's DuckDB loader runs inside the warehouse
as ``INSERT … SELECT``, so no row passes through Python. dlt adds the load id column itself
(``add_dlt_load_id`` of the model normalizer, set for this pipeline only). The load records
the file's claim (``ingestion.trips.claims``) in the source state, committed with the rows.

The caller prepares everything the source needs (the SELECTs, the counts) and passes it in:
the source only hands it to dlt. On the lake the same SELECTs run in DuckDB and reach dlt
as Arrow batches (``ingestion.trips.lake_load``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dlt
from dlt.common.schema.typing import TColumnSchema, TWriteDisposition
from dlt.extract.resource import DltResource

from ingestion.trips.claims import SOURCE_NAME, FileClaim, forget_all, rejects_table, remember
from ingestion.trips.lake_load import sql_items
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


@dataclass(frozen=True)
class FileLoad:
    """A part of a load: the files it claims, one SELECT of their rows (several files of one
    kind and header are read by one scan) and the SELECT of their rejects."""

    claims: tuple[FileClaim, ...]
    rows_sql: str | None  # None when every row was rejected
    rejects_sql: str | None = None  # None when there are none
    # Columns the stable schema does not know, kept as text: dlt loads a column of a SQL
    # model item only when the table's schema names it.
    extra_columns: tuple[str, ...] = ()


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def tlc_files(loads: Sequence[FileLoad]) -> list[DltResource]:
    """TLC files as dlt resources: one per table, one SQL model item (one load job) per file.

    Args:
        loads: the parts of this load, with their files' claims (the load id is filled in
            here).

    Returns:
        For each table the files fill, its data resource and, when a file has rejects, the
        rejects resource.
    """
    by_table: dict[str, list[FileLoad]] = {}
    for load in loads:
        by_table.setdefault(load.claims[0].kind.schema.table, []).append(load)
    resources: list[DltResource] = []
    for table, group in by_table.items():
        schema = group[0].claims[0].kind.schema
        disposition: TWriteDisposition = "replace" if schema.kind == "zones" else "append"
        columns = table_columns(schema)
        for load in group:
            for name in load.extra_columns:
                columns.setdefault(name, {"data_type": "text", "nullable": True})
        resources.append(
            dlt.resource(
                _rows(group),
                name=table,
                write_disposition=disposition,
                columns=columns,
            )
        )
        if any(load.rejects_sql for load in group):
            resources.append(
                dlt.resource(
                    _rejects(group),
                    name=rejects_table(table),
                    write_disposition="append",
                    columns=REJECT_COLUMNS,
                )
            )
    return resources


def _rows(group: list[FileLoad]) -> Callable[[], Iterator[Any]]:
    def rows() -> Iterator[Any]:
        load_id = dlt.current.load_package_state()["load_id"]
        for load in group:
            for claim in load.claims:
                remember(replace(claim, load_id=load_id))
            if load.rows_sql is not None:
                yield from sql_items(load.rows_sql)

    return rows


def _rejects(group: list[FileLoad]) -> Callable[[], Iterator[Any]]:
    def rejects() -> Iterator[Any]:
        for load in group:
            if load.rejects_sql is not None:
                yield from sql_items(load.rejects_sql)

    return rejects


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def tlc_reset() -> DltResource:
    """Nothing to load, and no claims: run with ``refresh="drop_sources"``, it drops the
    source's tables and commits an empty state in one load, its own committed step."""

    def nothing() -> Iterator[Any]:
        forget_all()
        yield from ()

    return dlt.resource(nothing, name="_tripline_reset")
