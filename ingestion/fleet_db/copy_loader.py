"""A dlt ``sql_database`` table loader that reads PostgreSQL with ``COPY … TO STDOUT``.

dlt builds the query (columns, incremental ``where`` and ``order by``); this loader sends it
through PostgreSQL's COPY protocol as CSV and parses the stream with Arrow's multithreaded CSV
reader into typed record batches of about ``chunk_size`` rows. The server streams, a pipe of a
few MB sits between the reading thread and Arrow, so memory stays at one chunk however large
the table.

Each chunk carries the source's NOT NULL constraints in its Arrow schema (checked by the cast
that sets them): dlt's incremental step then skips its search for rows with no cursor value,
which copies every chunk twice (``filter`` of the rows with and without one).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from dlt.common.libs.pyarrow import get_py_arrow_datatype
from dlt.destinations.impl.duckdb.factory import duckdb as duckdb_factory
from dlt.sources.sql_database.helpers import BaseTableLoader

from ingestion.fleet_db.helpers import pg_copy

_CAPS = duckdb_factory().capabilities()
# Bytes of CSV per Arrow block: about 100 bytes a row, so one block is roughly one chunk.
_BYTES_PER_ROW = 100


class PostgresCopyLoader(BaseTableLoader):
    """Yields Arrow tables parsed from ``COPY (<dlt's query>) TO STDOUT WITH CSV``."""

    def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
        query = self.compile_query(self.make_query())
        schema = self._arrow_schema()
        read_fd, write_fd = os.pipe()
        failure: list[BaseException] = []

        def pump() -> None:
            try:
                with os.fdopen(write_fd, "wb", buffering=1 << 20) as sink:
                    pg_copy(self.engine, f"copy ({query}) to stdout with (format csv)", sink)
            except BaseException as exc:  # re-raised in the reading thread below
                failure.append(exc)

        thread = threading.Thread(target=pump, name="pg-copy", daemon=True)
        thread.start()
        try:
            with os.fdopen(read_fd, "rb", buffering=0) as source:
                reader = pacsv.open_csv(
                    source,
                    read_options=pacsv.ReadOptions(
                        column_names=schema.names,
                        block_size=max(1 << 20, self.chunk_size * _BYTES_PER_ROW),
                    ),
                    # Text may hold raw newlines; COPY quotes such values.
                    parse_options=pacsv.ParseOptions(newlines_in_values=True),
                    convert_options=pacsv.ConvertOptions(
                        column_types=schema,
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=False,
                        true_values=["t"],
                        false_values=["f"],
                    ),
                )
                # A pipe returns short reads, so Arrow's batches are small; dlt's per-item
                # cost (schema checks) is what matters, so hand it whole chunks.
                pending: list[pa.RecordBatch] = []
                rows = 0
                for batch in reader:
                    pending.append(batch)
                    rows += batch.num_rows
                    if rows >= self.chunk_size:
                        yield with_constraints(pa.Table.from_batches(pending), schema)
                        pending, rows = [], 0
                if rows:
                    yield with_constraints(pa.Table.from_batches(pending), schema)
        except pa.ArrowInvalid as exc:
            parse_error = exc  # judged once the COPY has ended: its failure comes first
        else:
            parse_error = None
        finally:
            thread.join()
        if failure:
            raise failure[0]
        # No rows at all (nothing changed since the last run) is an empty stream to Arrow.
        if parse_error is not None and not str(parse_error).startswith("Empty CSV file"):
            raise parse_error

    def _arrow_schema(self) -> pa.Schema:
        fields = []
        for column in self.table.columns:
            hint = self.columns.get(column.name, {})
            data_type = hint.get("data_type")
            if data_type == "json" or data_type is None:
                arrow_type = pa.string()
            elif data_type == "timestamp":
                arrow_type = pa.timestamp("us", tz="UTC")
            else:
                arrow_type = get_py_arrow_datatype(hint, _CAPS, "UTC")
            fields.append(pa.field(column.name, arrow_type, nullable=bool(column.nullable)))
        return pa.schema(fields)


def with_constraints(chunk: pa.Table, schema: pa.Schema) -> pa.Table:
    """``chunk`` with the NOT NULL fields of ``schema``; as parsed if a null contradicts one.

    Arrow checks the nulls while it casts (no copy: the types are the same). A null where the
    source declares none cannot come from PostgreSQL; should it, the chunk goes on as parsed
    and dlt's own checks (a missing cursor value fails the run) judge it as before.
    """
    try:
        return chunk.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return chunk
