"""A dlt ``sql_database`` table loader that reads PostgreSQL through ADBC (``COPY … BINARY``).

dlt builds the query (columns, incremental ``where`` and ``order by``); the ADBC PostgreSQL
driver runs it as ``COPY (<query>) TO STDOUT (FORMAT binary)`` and decodes the rows into Arrow
in C, so neither the server nor Python formats or parses text. Its batches are cast to the
same Arrow schema the ``copy`` loader uses (numeric as decimal, JSON as its text) and handed
to dlt in chunks of about ``chunk_size`` rows.

The connection is libpq's own (bundled with the driver): the DSN's ``sslmode``,
``sslrootcert`` and other libpq settings apply as they do for psycopg2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import sqlalchemy as sa

from ingestion.fleet_db.copy_loader import PostgresCopyLoader, with_constraints


def libpq_uri(url: sa.URL) -> str:
    """The DSN as a libpq URI: no SQLAlchemy driver, every query setting kept."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresAdbcLoader(PostgresCopyLoader):
    """Yields Arrow tables read with ADBC's binary COPY, typed like the ``copy`` loader's."""

    def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
        query = self.compile_query(self.make_query())
        schema = self._arrow_schema()
        with (
            adbc.connect(libpq_uri(self.engine.url)) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(query)
            pending: list[pa.RecordBatch] = []
            rows = 0
            for batch in cursor.fetch_record_batch():
                pending.append(_typed(batch, schema))
                rows += batch.num_rows
                if rows >= self.chunk_size:
                    yield with_constraints(pa.Table.from_batches(pending), schema)
                    pending, rows = [], 0
            if rows:
                yield with_constraints(pa.Table.from_batches(pending), schema)


def _typed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``schema``'s types, nullable everywhere (the chunk's cast checks NOT NULL).

    The driver marks numeric and JSON as extension types over their text; their storage is
    cast like any other column.
    """
    columns = []
    for name in schema.names:
        column = batch.column(name)
        if isinstance(column, pa.ExtensionArray):
            column = column.storage
        target = schema.field(name).type
        columns.append(column if column.type == target else column.cast(target))
    loose = pa.schema([pa.field(f.name, f.type) for f in schema])
    return pa.RecordBatch.from_arrays(columns, schema=loose)
