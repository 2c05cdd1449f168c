"""TLC files onto the lake: the same SELECTs, run by DuckDB here, handed to dlt as Arrow.

On the DuckDB destination a file's SELECT (``ingestion.trips.reader``: strict, or the
quarantine's good rows and rejects) is a SQL model item that dlt runs inside the warehouse.
The lake has no engine to run it in, so an in-memory DuckDB with the budget's memory limit
and spill directory runs it, and its result streams out as Arrow record batches of
``rows_per_chunk`` rows (about 5 % of the budget each) that dlt writes to Parquet and commits
to the Delta table. Rows never pile up: DuckDB produces a batch when dlt asks for it.

A strict SELECT that meets a bad value fails in the middle of the stream; the extract fails
with it, nothing is committed, and the file goes through the quarantine as on DuckDB. Each
batch carries the load id (``_dlt_load_id``), which dlt adds to SQL model items itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa

from ingestion.core.destinations import is_lake
from ingestion.core.duckdb_config import connect
from ingestion.core.settings import Settings, load_settings
from ingestion.trips.schema import LOAD_ID_COLUMN, SOURCE_FILE_COLUMN

# What one row of a trip table costs in an Arrow batch, for the batch size: about 25
# columns of 8-byte values and short strings.
ROW_BYTES = 400


def sql_items(sql: str) -> Iterator[Any]:
    """What dlt extracts for ``sql``: the SQL model item on DuckDB, Arrow batches on the lake."""
    pipeline = dlt.current.pipeline()
    if not is_lake(pipeline):
        yield pipeline.dataset()(sql)
        return
    load_id = dlt.current.load_package_state()["load_id"]
    yield from arrow_batches(sql, load_id, load_settings())


def arrow_batches(sql: str, load_id: str, settings: Settings) -> Iterator[pa.Table]:
    """The rows of ``sql`` in batches of ``rows_per_chunk(ROW_BYTES)``, with the load id."""
    rows = settings.budget.rows_per_chunk(ROW_BYTES)
    con = connect(":memory:", settings)
    try:
        reader = con.sql(sql).to_arrow_reader(rows)
        for batch in reader:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            ids = pa.array([load_id], pa.string()).take(pa.array([0] * table.num_rows, pa.int32()))
            yield table.append_column(pa.field(LOAD_ID_COLUMN, pa.string(), nullable=False), ids)
    finally:
        con.close()


def delete_superseded_on_lake(
    pipeline: dlt.Pipeline, load_id: str, names: list[str], tables: tuple[str, str | None]
) -> int:
    """Delete rows of files ``names`` under any load id but ``load_id``: one Delta commit
    per table, the rows table first (a kill between leaves rejects the next run's claim
    check finds and deletes)."""
    from ingestion.core.lake import LakeDataset, in_list, literal

    lake = LakeDataset(pipeline)
    existing = set(lake.tables())
    predicate = f"{in_list(SOURCE_FILE_COLUMN, names)} AND {LOAD_ID_COLUMN} <> {literal(load_id)}"
    return sum(lake.delete(table, predicate) for table in tables if table and table in existing)
