"""Hard deletes: find rows that vanished from the source by comparing primary keys.

An incremental read by ``updated_at`` never sees a row that was deleted outright. After each
load, Tripline streams the source's primary keys (one integer column, in chunks) into a
temporary DuckDB table and stamps ``_fleet_db_hard_deleted_at`` on raw rows whose key is no
longer in the source. The raw row stays (history is kept; dbt treats it like a soft delete);
if the key comes back, the next merge replaces the row and clears the stamp.

A source that suddenly returns almost no keys is far likelier a wrong DSN or an empty restore
than a purge, so a run that would mark more than ``MAX_HARD_DELETE_SHARE`` of a table refuses
and says so.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from ingestion.core.errors import SourceError
from ingestion.fleet_db.helpers import pg_copy
from ingestion.fleet_db.schema import schema_for
from ingestion.fleet_db.settings import HARD_DELETE_COLUMN, MAX_HARD_DELETE_SHARE, FleetTable

KEY_CHUNK = 500_000


def reconcile_table(
    engine: sa.Engine, pipeline: dlt.Pipeline, fleet_table: FleetTable, now: datetime | None = None
) -> int:
    """Stamp raw rows of ``fleet_table`` whose key left the source; return how many."""
    now = now or datetime.now(UTC)
    key = fleet_table.primary_key
    source = sa.table(fleet_table.name, sa.column(key), schema=schema_for(engine))
    with pipeline.sql_client() as client:
        target = client.make_qualified_table_name(fleet_table.name)
        if not _has_column(client, fleet_table.name, HARD_DELETE_COLUMN):
            return 0  # nothing loaded yet
        duck = client.native_connection
        duck.execute("create or replace temp table _fleet_source_keys (key bigint)")
        for keys in source_keys(engine, source, key):
            duck.register("_fleet_key_chunk", keys)
            duck.execute("insert into _fleet_source_keys select key from _fleet_key_chunk")
            duck.unregister("_fleet_key_chunk")
        missing_sql = (
            f"from {target} as raw where raw.{HARD_DELETE_COLUMN} is null and not exists "
            f"(select 1 from _fleet_source_keys as src where src.key = raw.{key})"
        )
        missing = _scalar(duck, f"select count(*) {missing_sql}")
        total = _scalar(duck, f"select count(*) from {target}")
        if missing and total and missing / total > MAX_HARD_DELETE_SHARE:
            raise SourceError(
                f"key reconciliation would mark {missing:,} of {total:,} {fleet_table.name} rows "
                "as hard-deleted; refusing (is the DSN pointing at the right database?). "
                "Run with --skip-reconcile to load without it"
            )
        if missing:
            duck.execute(
                f"update {target} as raw set {HARD_DELETE_COLUMN} = ? where "
                f"raw.{HARD_DELETE_COLUMN} is null and not exists "
                f"(select 1 from _fleet_source_keys as src where src.key = raw.{key})",
                [now],
            )
        duck.execute("drop table _fleet_source_keys")
    return missing


def source_keys(engine: sa.Engine, source: sa.TableClause, key: str) -> Iterator[pa.Table]:
    """The source's primary keys as Arrow chunks: COPY on PostgreSQL, a cursor elsewhere."""
    query = sa.select(source.c[key])
    if engine.dialect.name == "postgresql":
        yield from _copy_keys(engine, query)
        return
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=KEY_CHUNK).execute(query)
        for partition in result.partitions(KEY_CHUNK):
            values = np.fromiter((row[0] for row in partition), np.int64, len(partition))
            yield pa.table({"key": values})


def _copy_keys(engine: sa.Engine, query: sa.Select[Any]) -> Iterator[pa.Table]:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with tempfile.TemporaryFile() as spool:  # ~8 bytes a key; never held in memory whole
        pg_copy(engine, f"copy ({sql}) to stdout", spool)
        spool.seek(0)
        reader = pacsv.open_csv(
            spool,
            read_options=pacsv.ReadOptions(column_names=["key"], block_size=4 << 20),
            convert_options=pacsv.ConvertOptions(column_types={"key": pa.int64()}),
        )
        for batch in reader:
            yield pa.Table.from_batches([batch])


def _has_column(client: object, table_name: str, column: str) -> bool:
    rows = client.execute_sql(  # type: ignore[attr-defined]
        "select count(*) from information_schema.columns where table_schema = %s "
        "and table_name = %s and column_name = %s",
        client.dataset_name,  # type: ignore[attr-defined]
        table_name,
        column,
    )
    return bool(rows and rows[0][0])


def _scalar(duck: object, sql: str) -> int:
    row = duck.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0
