"""The dlt source for one TLC file: a data resource and, on the quarantine route, rejects.

Two routes load a file, both memory-bounded and both through dlt's load step:

* ``strict`` — the resource yields a *model* item: one SELECT over DuckDB's ``read_csv`` /
  ``read_parquet`` that dlt's DuckDB loader runs as ``INSERT … SELECT``. The file is parsed
  once, in parallel, straight into the table. A row that does not parse fails the statement,
  which rolls back, so nothing half-loaded remains.
* ``quarantine`` — DuckDB parses the file into Parquet parts and records every line it cannot
  parse; the resource imports the parts as they are (``with_file_import``) and a second
  resource imports the rejects into ``<table>_rejected``.

Each run records the file's fingerprint in the source state, committed with the load, so a
re-run skips it and a changed file is detected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow.parquet as pq
from dlt.common.schema.typing import TColumnSchema, TWriteDisposition
from dlt.extract.resource import DltResource

from ingestion.core.settings import Settings
from ingestion.trips.files import SourceFile
from ingestion.trips.reader import Converted, convert_file, strict_select
from ingestion.trips.schema import LOAD_ID_COLUMN, SOURCE_FILE_COLUMN, TableSchema

SOURCE_NAME = "tlc"
STRICT, QUARANTINE = "strict", "quarantine"
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
    "_source_file": {"data_type": "text", "nullable": False},
    "line": {"data_type": "bigint", "description": "1-based line in the file (header = 1)"},
    "byte_position": {"data_type": "bigint"},
    "reason": {"data_type": "text", "description": "DuckDB's error type, column and message"},
    "raw_line": {"data_type": "text"},
    "_dlt_load_id": {"data_type": "text", "nullable": False},
}


def rejects_table(table: str) -> str:
    return f"{table}_rejected"


def _remember(file: SourceFile, route: str, load_id: str) -> None:
    files = dlt.current.source_state().setdefault("files", {})
    files[file.name] = {"fingerprint": file.fingerprint, "route": route, "load_id": load_id}


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def tlc_file(
    file: SourceFile,
    local_path: Path,
    route: str,
    work_dir: Path,
    settings: Settings,
    outcome: dict[str, Any],
) -> list[DltResource]:
    """One TLC file as dlt resources.

    Args:
        file: the file and its fingerprint.
        local_path: where its bytes are on local disk (staged when remote).
        route: ``strict`` (model item) or ``quarantine`` (Parquet parts plus rejects).
        work_dir: an empty folder for the quarantine route's Parquet parts.
        settings: the memory budget and paths.
        outcome: filled with the route's counts (the quarantine route knows them at extract).

    Returns:
        The data resource, and on the quarantine route the rejects resource.
    """
    schema = file.kind.schema
    disposition: TWriteDisposition = "replace" if schema.kind == "zones" else "append"
    converted: dict[str, Converted] = {}

    def strict_rows() -> Iterator[Any]:
        load_id = dlt.current.load_package_state()["load_id"]
        select = strict_select(local_path, file.kind, file.name, load_id, settings)
        _remember(file, STRICT, load_id)
        yield dlt.current.pipeline().dataset()(select)

    def quarantined_rows() -> Iterator[Any]:
        load_id = dlt.current.load_package_state()["load_id"]
        result = convert_file(local_path, file.kind, file.name, load_id, work_dir, settings)
        converted["result"] = result
        outcome.update(rows_loaded=result.rows_loaded, rows_rejected=result.rows_rejected)
        _remember(file, QUARANTINE, load_id)
        for part in result.parts:
            hints = pq.read_schema(part).empty_table()
            yield dlt.mark.with_file_import(str(part), "parquet", 0, hints=hints)

    def rejected_rows() -> Iterator[Any]:
        result = converted.get("result")
        if result is not None and result.rejects is not None:
            yield dlt.mark.with_file_import(str(result.rejects), "parquet", result.rows_rejected)

    data = dlt.resource(
        strict_rows if route == STRICT else quarantined_rows,
        name=schema.table,
        write_disposition=disposition,
        columns=table_columns(schema),
    )
    if route == STRICT:
        return [data]
    rejects = dlt.resource(
        rejected_rows,
        name=rejects_table(schema.table),
        write_disposition="append",
        columns=REJECT_COLUMNS,
    )
    return [data, rejects]
