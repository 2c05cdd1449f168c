"""The dlt source for the fleet's trip events on Kafka topic ``fleet.trip-events``.

One resource reads a bounded :class:`~ingestion.fleet_events.batch.Batch` of messages,
decodes it page by page in DuckDB (:mod:`ingestion.fleet_events.decode`) and yields three
Arrow tables per page, which dlt writes to Parquet files rotated at the budget's file size:

* valid events to ``trip_events`` (merge on ``event_id``: replays after a crash and the
  producer's duplicates collapse to one row), the nested ``fare`` and ``location`` objects
  flattened into ``fare__*`` and ``location__*`` columns;
* ``fare.surcharges`` unnested to ``trip_event_surcharges``, one row per surcharge, keyed by
  ``event_id`` and its position in the list (merge on both);
* malformed messages to ``trip_events_dead_letter`` (merge on topic, partition and offset);
* tombstones (null values) to ``trip_event_tombstones`` with their keys (merge likewise);
* offsets the run stepped over unread (retention, ``--reset-offsets latest``) to
  ``offset_gaps`` (merge on topic, partition and first offset).

Every message row keeps its key as ``kafka_key`` (bytes).

The next offset of every partition is written to the resource state, which dlt commits in
the same load as the rows: the destination always knows exactly what it holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.resource import DltResource

from ingestion.fleet_events.batch import Batch
from ingestion.fleet_events.settings import (
    DEAD_LETTER_TABLE,
    EVENTS_TABLE,
    GAPS_TABLE,
    SOURCE_NAME,
    SURCHARGES_TABLE,
    TOMBSTONES_TABLE,
)

EVENT_COLUMNS: TTableSchemaColumns = {
    "event_id": {"data_type": "text", "nullable": False, "description": "unique per event"},
    "event_type": {"data_type": "text", "nullable": False},
    "event_time": {"data_type": "timestamp", "nullable": False, "timezone": True},
    "trip_id": {"data_type": "text", "nullable": False},
    "driver_id": {"data_type": "bigint"},
    "vehicle_id": {"data_type": "bigint"},
    "pickup_zone_id": {"data_type": "bigint"},
    "dropoff_zone_id": {"data_type": "bigint"},
    "distance_miles": {"data_type": "double"},
    "cancelled_by": {"data_type": "text"},
    "cancel_reason": {"data_type": "text"},
    "location__zone_id": {"data_type": "bigint"},
    "location__lat": {"data_type": "double"},
    "location__lon": {"data_type": "double"},
    "fare__currency": {"data_type": "text"},
    "fare__base_amount": {"data_type": "double"},
    "fare__tip_amount": {"data_type": "double"},
    "fare__tolls_amount": {"data_type": "double"},
    "fare__total_amount": {"data_type": "double"},
    "kafka_partition": {"data_type": "bigint", "nullable": False},
    "kafka_offset": {"data_type": "bigint", "nullable": False},
    "kafka_timestamp": {"data_type": "timestamp", "timezone": True},
    "kafka_key": {"data_type": "binary"},
}

SURCHARGE_COLUMNS: TTableSchemaColumns = {
    "event_id": {"data_type": "text", "nullable": False},
    "surcharge_position": {"data_type": "bigint", "nullable": False},
    "kind": {"data_type": "text", "nullable": False},
    "amount": {"data_type": "double", "nullable": False},
}

DEAD_LETTER_COLUMNS: TTableSchemaColumns = {
    "topic": {"data_type": "text", "nullable": False},
    "partition": {"data_type": "bigint", "nullable": False},
    "offset": {"data_type": "bigint", "nullable": False},
    "raw_base64": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "kafka_timestamp": {"data_type": "timestamp", "timezone": True},
    "kafka_key": {"data_type": "binary"},
}

TOMBSTONE_COLUMNS: TTableSchemaColumns = {
    "topic": {"data_type": "text", "nullable": False},
    "partition": {"data_type": "bigint", "nullable": False},
    "offset": {"data_type": "bigint", "nullable": False},
    "kafka_key": {"data_type": "binary"},
    "kafka_timestamp": {"data_type": "timestamp", "timezone": True},
}

GAP_COLUMNS: TTableSchemaColumns = {
    "topic": {"data_type": "text", "nullable": False},
    "partition": {"data_type": "bigint", "nullable": False},
    "first_offset": {"data_type": "bigint", "nullable": False},
    "last_offset": {"data_type": "bigint", "nullable": False},
    "messages": {"data_type": "bigint", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "detected_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
}

_GAP_SCHEMA = pa.schema(
    [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int64(), nullable=False),
        pa.field("first_offset", pa.int64(), nullable=False),
        pa.field("last_offset", pa.int64(), nullable=False),
        pa.field("messages", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detected_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

# Each page is marked with its table's hints: hints on the resource itself would also be
# applied to the other two tables, which share the resource.
_EVENT_HINTS = dlt.mark.make_hints(
    table_name=EVENTS_TABLE,
    write_disposition="merge",
    primary_key="event_id",
    columns=EVENT_COLUMNS,
)
_SURCHARGE_HINTS = dlt.mark.make_hints(
    table_name=SURCHARGES_TABLE,
    write_disposition="merge",
    primary_key=["event_id", "surcharge_position"],
    columns=SURCHARGE_COLUMNS,
)
_DEAD_LETTER_HINTS = dlt.mark.make_hints(
    table_name=DEAD_LETTER_TABLE,
    write_disposition="merge",
    primary_key=["topic", "partition", "offset"],
    columns=DEAD_LETTER_COLUMNS,
)
_TOMBSTONE_HINTS = dlt.mark.make_hints(
    table_name=TOMBSTONES_TABLE,
    write_disposition="merge",
    primary_key=["topic", "partition", "offset"],
    columns=TOMBSTONE_COLUMNS,
)
_GAP_HINTS = dlt.mark.make_hints(
    table_name=GAPS_TABLE,
    write_disposition="merge",
    primary_key=["topic", "partition", "first_offset"],
    columns=GAP_COLUMNS,
)


def offsets_in_state(state: Mapping[str, Any], topic: str) -> dict[int, int]:
    """The next offset per partition recorded in a pipeline's state (empty when none)."""
    resource = state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    stored = resource.get(EVENTS_TABLE, {}).get("offsets", {}).get(topic, {})
    return {int(partition): int(offset) for partition, offset in stored.items()}


def _with_topic(dead_letters: pa.Table, topic: str) -> pa.Table:
    return dead_letters.add_column(0, "topic", pa.array([topic] * dead_letters.num_rows))


def _marked(table: pa.Table, hints: Any, columns: TTableSchemaColumns) -> Any:
    """``table`` for dlt, its fields NOT NULL where the hints say so (dlt warns otherwise)."""
    fields = [
        field.with_nullable(columns.get(field.name, {}).get("nullable", True))
        for field in table.schema
    ]
    return dlt.mark.with_hints(table.cast(pa.schema(fields)), hints, create_table_variant=True)


@dlt.resource(name=EVENTS_TABLE)
def trip_events(batch: Batch) -> Iterator[Any]:
    """Valid events, surcharges and dead letters of one batch; its end offsets go to state.

    Args:
        batch: the bounded slice of the topic this load covers, page by decoded page.

    Returns:
        Arrow tables, each marked for its table.
    """
    topic = batch.topic
    offsets = dlt.current.resource_state().setdefault("offsets", {}).setdefault(topic, {})
    for page in batch.pages():
        batch.counts.valid += page.valid
        batch.counts.dead_letters += page.dead_letters.num_rows
        batch.counts.tombstones += page.tombstones.num_rows
        if page.events.num_rows:
            yield _marked(page.events, _EVENT_HINTS, EVENT_COLUMNS)
        if page.surcharges.num_rows:
            yield _marked(page.surcharges, _SURCHARGE_HINTS, SURCHARGE_COLUMNS)
        if page.dead_letters.num_rows:
            dead_letters = _with_topic(page.dead_letters, topic)
            yield _marked(dead_letters, _DEAD_LETTER_HINTS, DEAD_LETTER_COLUMNS)
        if page.tombstones.num_rows:
            tombstones = _with_topic(page.tombstones, topic)
            yield _marked(tombstones, _TOMBSTONE_HINTS, TOMBSTONE_COLUMNS)
    if batch.gaps:
        gaps = pa.Table.from_pylist([gap.row(topic) for gap in batch.gaps], schema=_GAP_SCHEMA)
        yield dlt.mark.with_hints(gaps, _GAP_HINTS, create_table_variant=True)
    offsets.update({str(p): offset for p, offset in batch.positions.items()})


@dlt.source(name=SOURCE_NAME)
def fleet_events(batch: Batch) -> DltResource:
    """The fleet trip events of one bounded batch of ``fleet.trip-events``.

    Args:
        batch: where to read and how much (see ``ingestion.fleet_events.batch``).

    Returns:
        The ``trip_events`` resource (which also fills the surcharge, dead-letter, tombstone
        and gap tables).
    """
    return trip_events(batch)
