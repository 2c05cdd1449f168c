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

from ingestion.core.destination import tables_with_column
from ingestion.core.destinations import is_lake, sql_client
from ingestion.core.errors import SourceError
from ingestion.core.lake import LakeDataset, timestamp_literal, update_keys
from ingestion.fleet_db.helpers import pg_copy
from ingestion.fleet_db.schema import schema_for
from ingestion.fleet_db.settings import HARD_DELETE_COLUMN, MAX_HARD_DELETE_SHARE, FleetTable

KEY_CHUNK = 500_000
# Keys compared per step: the anti-join's hash table holds one range, not the whole table.
KEY_RANGE = 1_000_000


def reconcile_table(
    engine: sa.Engine, pipeline: dlt.Pipeline, fleet_table: FleetTable, now: datetime | None = None
) -> int:
    """Stamp raw rows of ``fleet_table`` whose key left the source; return how many.

    Works through the raw table's key span in ranges of about ``KEY_RANGE`` keys: each step
    reads that range of source keys into a temp table and keeps the raw keys it lacks, so
    memory stays at one range however large the table. Nothing is stamped until every range
    is compared and the share of missing keys has been checked.
    """
    now = now or datetime.now(UTC)
    key = fleet_table.primary_key
    source = sa.table(fleet_table.name, sa.column(key), schema=schema_for(engine))
    with sql_client(pipeline) as client:
        target = client.make_qualified_table_name(fleet_table.name)
        if fleet_table.name not in tables_with_column(client, HARD_DELETE_COLUMN):
            return 0  # nothing loaded yet
        duck = client.native_connection
        low, high, total = duck.execute(
            f"select min({key}), max({key}), count(*) from {target}"
        ).fetchone()
        if not total:
            return 0
        duck.execute("create or replace temp table _fleet_missing_keys (key bigint)")
        step = max(KEY_RANGE, -(-(high - low + 1) // -(-total // KEY_RANGE)))
        for start in range(low, high + 1, step):
            stop = start + step
            duck.execute("create or replace temp table _fleet_source_keys (key bigint)")
            query = sa.select(source.c[key]).where(source.c[key] >= start, source.c[key] < stop)
            for keys in source_keys(engine, query):
                duck.register("_fleet_key_chunk", keys)
                duck.execute("insert into _fleet_source_keys select key from _fleet_key_chunk")
                duck.unregister("_fleet_key_chunk")
            duck.execute(
                f"insert into _fleet_missing_keys select raw.{key} from {target} as raw "
                f"where raw.{key} >= ? and raw.{key} < ? and raw.{HARD_DELETE_COLUMN} is null "
                f"and not exists (select 1 from _fleet_source_keys as src "
                f"where src.key = raw.{key})",
                [start, stop],
            )
        duck.execute("drop table _fleet_source_keys")
        missing = _scalar(duck, "select count(*) from _fleet_missing_keys")
        if missing and missing / total > MAX_HARD_DELETE_SHARE:
            duck.execute("drop table _fleet_missing_keys")
            raise SourceError(
                f"key reconciliation would mark {missing:,} of {total:,} {fleet_table.name} rows "
                "as hard-deleted; refusing (is the DSN pointing at the right database?). "
                "Run with --skip-reconcile to load without it"
            )
        if missing and is_lake(pipeline):  # the lake's tables are read-only views here
            keys = [k for (k,) in duck.execute("select key from _fleet_missing_keys").fetchall()]
            lake = LakeDataset(pipeline)
            stamp = {HARD_DELETE_COLUMN: timestamp_literal(now)}
            update_keys(lake, fleet_table.name, key, keys, stamp)
        elif missing:
            duck.execute(
                f"update {target} set {HARD_DELETE_COLUMN} = ? "
                f"where {key} in (select key from _fleet_missing_keys)",
                [now],
            )
        duck.execute("drop table _fleet_missing_keys")
    return missing


def source_keys(engine: sa.Engine, query: sa.Select[Any]) -> Iterator[pa.Table]:
    """The keys ``query`` selects, as Arrow chunks: COPY on PostgreSQL, a cursor elsewhere."""
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


def _scalar(duck: object, sql: str) -> int:
    row = duck.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0
