"""The zone columns of a coordinate-era file, filled over Arrow record batches.

A 2009–2016 yellow or green file records its pickups and dropoffs as longitude/latitude.
Its quarantine SELECT (``ingestion.trips.projection``) leaves ``pu_location_id``,
``do_location_id`` and their ``*_zone_status`` NULL; :func:`zoned` streams that SELECT's
result out of DuckDB as record batches of :func:`batch_rows` rows, fills the four columns with
:func:`ingestion.trips.zone_points.locate` (NumPy over the whole batch), and hands the batches
on as a ``RecordBatchReader`` that DuckDB scans again to write the file's Parquet parts.

Why batches and not a SQL function: DuckDB calls a Python UDF once per vector of 2,048 rows,
under the GIL, and the fixed cost of a call was most of the lookup's time (0.45–0.57 M points
per CPU-second inside the pipeline; bench/results/eras.md has the figures before and after).
A batch of 100 k+ rows makes that cost vanish. One batch at a time is in Python's hands, so
memory stays bounded whatever the file's length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

from ingestion.core.settings import Settings
from ingestion.trips.lake_load import ROW_BYTES
from ingestion.trips.zone_points import STATUS_NAMES, locate

ZONE_BATCH_ROWS = 1 << 17
"""Rows per batch at most: 131,072 rows of a trip table are about 50 MB of Arrow. Timed at
32 k, 131 k and 500 k rows a batch, all within 2 % of each other (2 M points)."""
ZoneColumns = Sequence[tuple[str, str, str, str]]
"""(zone id, longitude, latitude, status) column names, as ``ColumnMap.derived_zones``."""


def batch_rows(settings: Settings) -> int:
    """Rows per batch: :data:`ZONE_BATCH_ROWS`, fewer when the budget is small."""
    return min(ZONE_BATCH_ROWS, settings.budget.rows_per_chunk(ROW_BYTES))


def with_zones(batch: pa.RecordBatch, zones: ZoneColumns) -> pa.RecordBatch:
    """``batch`` with each zone id and status column set from its coordinates.

    The columns keep the types the batch gives them (the SELECT casts the placeholders), so
    every batch has the schema of the first.
    """
    names = batch.schema.names
    for zone, lon, lat, status in zones:
        found = locate(batch.column(lon), batch.column(lat))
        ids, codes = found.to_arrow()
        zone_at, status_at = names.index(zone), names.index(status)
        status_type = batch.schema.field(status_at).type
        statuses = pa.array(STATUS_NAMES, status_type).take(codes)
        batch = batch.set_column(zone_at, zone, ids.cast(batch.schema.field(zone_at).type))
        batch = batch.set_column(status_at, status, statuses)
    return batch


def zoned(
    reader: pa.RecordBatchReader, zones: ZoneColumns, failures: list[BaseException]
) -> pa.RecordBatchReader:
    """``reader``'s batches with their zone columns filled, one batch at a time.

    An error while reading ``reader`` (the parse itself) is appended to ``failures`` before
    it propagates: the scan that consumes the result reports it wrapped in its own message,
    a traceback included, and the caller raises the original instead.
    """

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                if batch.num_rows:
                    yield with_zones(batch, zones)
        except BaseException as exc:
            failures.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
