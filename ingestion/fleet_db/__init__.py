"""The fleet's dispatch database (PostgreSQL, MySQL/MariaDB or SQLite) into ``raw_fleet_db``.

A dlt source on dlt's ``sql_database``: one resource per fleet table, read incrementally by
``updated_at`` and merged on the primary key, so updates overwrite, soft deletes arrive as rows
with ``deleted_at`` set, and a re-run loads nothing twice. Hard deletes are found by key
reconciliation (:mod:`ingestion.fleet_db.reconcile`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.schema.typing import TWriteDispositionConfig
from dlt.extract.resource import DltResource
from dlt.sources.sql_database import sql_database
from sqlalchemy.dialects import mysql

from ingestion.fleet_db.adbc_loader import PostgresAdbcLoader
from ingestion.fleet_db.copy_loader import PostgresCopyLoader
from ingestion.fleet_db.cursor import read_up_to
from ingestion.fleet_db.helpers import connectorx_url, create_engine, parse_dsn
from ingestion.fleet_db.schema import schema_for
from ingestion.fleet_db.settings import (
    CURSOR_COLUMN,
    HARD_DELETE_COLUMN,
    TABLE_NAMES,
    table,
)

APPEND: TWriteDispositionConfig = "append"
# The destination's own merge on the primary key: delete-insert on DuckDB, upsert on the
# lake's Delta tables (which have no delete-insert); the same rows either way.
MERGE: TWriteDispositionConfig = "merge"


def adapt_type(sql_type: Any) -> Any:
    """Make every engine's reflected types mean the same thing in DuckDB.

    MySQL has no boolean (``tinyint(1)`` is one) and no time zone on ``datetime``; the fleet
    database stores UTC by contract, so naive timestamps become ``timestamptz``.
    """
    if isinstance(sql_type, mysql.TINYINT) and getattr(sql_type, "display_width", None) == 1:
        return sa.Boolean()
    if isinstance(sql_type, sa.DateTime) and not sql_type.timezone:
        return sa.DateTime(timezone=True)
    return sql_type


def json_as_text(table: sa.Table) -> sa.Table:
    """Read JSON columns as their text: Arrow then carries the document as the source wrote it."""
    for column in table.columns:
        if isinstance(column.type, sa.JSON):
            column.type = sa.Text()
    return table


def _with_tripline_columns(item: Any) -> Any:
    """Add ``_dlt_load_id`` and the (empty) hard-delete column to each Arrow chunk.

    dlt adds ``_dlt_load_id`` to Arrow data only by rewriting every Parquet file in the
    normalize step; a constant column added here costs nothing, and recovery, freshness and
    dbt's ``loaded_at`` need it.
    """
    if not isinstance(item, pa.Table):
        return item
    if HARD_DELETE_COLUMN not in item.column_names:
        timestamp = pa.timestamp("us", tz="UTC")
        item = item.append_column(
            pa.field(HARD_DELETE_COLUMN, timestamp), pa.nulls(item.num_rows, timestamp)
        )
    if "_dlt_load_id" not in item.column_names:
        load_id = dlt.current.load_package_state()["load_id"]
        item = item.append_column(
            pa.field("_dlt_load_id", pa.string(), nullable=False),
            _constant_column(load_id, item.num_rows),
        )
    return item


_CONSTANTS: dict[str, pa.Array] = {}


def _constant_column(value: str, rows: int) -> pa.Array:
    """``rows`` copies of ``value``: a slice of one array built per value, not one per chunk."""
    built = _CONSTANTS.get(value)
    if built is None or len(built) < rows:
        built = pa.array([value], pa.string()).take(pa.array(np.zeros(rows, np.int32)))
        _CONSTANTS.clear()  # one load id at a time: the previous run's array can go
        _CONSTANTS[value] = built
    return built.slice(0, rows)


@dlt.source(name="fleet_db", max_table_nesting=0)
def fleet_db(
    credentials: ConnectionStringCredentials | str = dlt.secrets.value,
    backend: str = "pyarrow",
    chunk_sizes: dict[str, int] | None = None,
    tables: Iterable[str] = TABLE_NAMES,
    first_load: Iterable[str] = (),
    read_until: datetime | None = None,
) -> Iterable[DltResource]:
    """One incremental, merging resource per fleet table.

    Args:
        credentials: the DSN (``postgresql://``, ``mysql://``, ``sqlite:///``), from
            ``TRIPLINE_FLEET_DB_DSN`` or ``sources.fleet_db.credentials`` in dlt secrets.
        backend: ``adbc`` (PostgreSQL's binary ``COPY`` decoded by ADBC), ``copy``
            (PostgreSQL ``COPY … TO STDOUT`` as CSV parsed by Arrow), ``pyarrow`` or
            ``connectorx``.
        chunk_sizes: rows per chunk per table (from the memory budget).
        tables: which tables to load.
        first_load: tables with no rows in the destination yet: they are appended, which
            gives the same result as a merge (the source's keys are unique) without the
            staging copy and the delete-insert of millions of rows.
        read_until: the last ``updated_at`` this run reads (the database's clock minus the
            lag, :mod:`ingestion.fleet_db.cursor`); ``None`` reads up to the newest row.

    Returns:
        The resources, one per table, named like the tables.
    """
    dsn = (
        credentials.to_native_representation()
        if isinstance(credentials, ConnectionStringCredentials)
        else str(credentials)
    )
    engine = create_engine(parse_dsn(dsn))
    names = list(tables)
    sizes = chunk_sizes or {}
    loaders = {"copy": PostgresCopyLoader, "adbc": PostgresAdbcLoader}
    loader_class = loaders.get(backend)
    backend_kwargs: dict[str, Any] = {}
    if backend == "connectorx":
        # connectorx takes a URL without the SQLAlchemy driver; TLS settings stay in it.
        backend_kwargs = {"return_type": "arrow_stream", "conn": connectorx_url(engine.url)}
    appended = set(first_load)
    for name in names:
        source = sql_database(
            credentials=engine,
            schema=schema_for(engine),
            table_names=[name],
            chunk_size=sizes.get(name, 50_000),
            backend="pyarrow" if backend in loaders else backend,  # type: ignore[arg-type]
            reflection_level="full_with_precision",
            type_adapter_callback=adapt_type,
            table_adapter_callback=json_as_text,
            backend_kwargs=backend_kwargs,
            table_loader_class=loader_class,
            query_adapter_callback=None if read_until is None else read_up_to(read_until),
        )
        resource = source.resources[name]
        resource.apply_hints(
            primary_key=table(name).primary_key,
            write_disposition=APPEND if name in appended else MERGE,
            # > last: every row up to the last cursor was committed when it was read.
            incremental=dlt.sources.incremental(CURSOR_COLUMN, range_start="open"),
            columns=[{"name": "equipment", "data_type": "json"}] if name == "vehicles" else None,
        )
        yield resource.add_map(_with_tripline_columns)
