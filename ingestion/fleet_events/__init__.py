"""The dlt source for the fleet's trip events on Kafka topic ``fleet.trip-events``.

One resource reads a bounded :class:`~ingestion.fleet_events.consumer.Batch` of messages and
yields, page by page:

* valid events to ``trip_events`` (merge on ``event_id``: replays after a crash and the
  producer's duplicates collapse to one row). dlt's normalizer unnests the nested ``fare``
  and ``location`` objects into columns and ``fare.surcharges`` into the child table
  ``trip_events__fare__surcharges``, in chunks bounded by the budget's buffer and file sizes;
* malformed messages to ``trip_events_dead_letter`` (merge on topic, partition and offset).

The next offset of every partition is written to the resource state, which dlt commits in
the same load as the rows: the destination always knows exactly what it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.resource import DltResource

from ingestion.fleet_events.consumer import Batch
from ingestion.fleet_events.helpers import Malformed, dead_letter, kafka_time, validate
from ingestion.fleet_events.settings import DEAD_LETTER_TABLE, EVENTS_TABLE, SOURCE_NAME

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
}

DEAD_LETTER_COLUMNS: TTableSchemaColumns = {
    "topic": {"data_type": "text", "nullable": False},
    "partition": {"data_type": "bigint", "nullable": False},
    "offset": {"data_type": "bigint", "nullable": False},
    "raw_base64": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "kafka_timestamp": {"data_type": "timestamp", "timezone": True},
}

# Each page is marked with its table's hints: hints on the resource itself would also be
# applied to the dead-letter table, which shares the resource.
_EVENT_HINTS = dlt.mark.make_hints(
    table_name=EVENTS_TABLE,
    write_disposition="merge",
    primary_key="event_id",
    columns=EVENT_COLUMNS,
)
_DEAD_LETTER_HINTS = dlt.mark.make_hints(
    table_name=DEAD_LETTER_TABLE,
    write_disposition="merge",
    primary_key=["topic", "partition", "offset"],
    columns=DEAD_LETTER_COLUMNS,
)


def offsets_in_state(state: dict[str, Any], topic: str) -> dict[int, int]:
    """The next offset per partition recorded in a pipeline's state (empty when none)."""
    resource = state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    stored = resource.get(EVENTS_TABLE, {}).get("offsets", {}).get(topic, {})
    return {int(partition): int(offset) for partition, offset in stored.items()}


@dlt.resource(name=EVENTS_TABLE)
def trip_events(batch: Batch) -> Iterator[Any]:
    """Valid events and dead letters of one batch; records the batch's end offsets in state.

    Args:
        batch: the bounded slice of the topic this load covers.

    Returns:
        Pages of event dicts, and dead-letter rows marked for their own table.
    """
    topic = batch.consumer.topic
    offsets = dlt.current.resource_state().setdefault("offsets", {}).setdefault(topic, {})
    seen: set[str] = set()
    for page in batch.pages():
        events: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        for message in page:
            payload = message.value()
            _, timestamp = message.timestamp()
            try:
                event = validate(payload)
            except Malformed as reason:
                dead.append(
                    dead_letter(
                        topic,
                        message.partition(),
                        message.offset(),
                        payload,
                        str(reason),
                        timestamp,
                    )
                )
                continue
            batch.counts.valid += 1
            if event["event_id"] in seen:
                batch.counts.duplicates_in_batch += 1
                continue
            seen.add(event["event_id"])
            event["kafka_partition"] = message.partition()
            event["kafka_offset"] = message.offset()
            event["kafka_timestamp"] = kafka_time(timestamp)
            events.append(event)
        batch.counts.dead_letters += len(dead)
        if events:
            yield dlt.mark.with_hints(events, _EVENT_HINTS, create_table_variant=True)
        if dead:
            yield dlt.mark.with_hints(dead, _DEAD_LETTER_HINTS, create_table_variant=True)
        offsets.update({str(p): offset for p, offset in batch.positions.items()})


@dlt.source(name=SOURCE_NAME, max_table_nesting=2)
def fleet_events(batch: Batch) -> DltResource:
    """The fleet trip events of one bounded batch of ``fleet.trip-events``.

    Args:
        batch: where to read and how much (see ``ingestion.fleet_events.consumer``).

    Returns:
        The ``trip_events`` resource (which also fills ``trip_events_dead_letter``).
    """
    return trip_events(batch)
