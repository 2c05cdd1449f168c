"""Decoding and validating one Kafka message: a trip event for dlt, or a dead letter.

Validation happens before dlt sees a message, so a wrong type becomes a dead letter with a
reason instead of a variant column, and every consumed message ends up in exactly one of the
two tables: valid = loaded, malformed = dead-lettered.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

EVENT_TYPES = frozenset(
    {"trip_requested", "driver_assigned", "trip_started", "trip_completed", "trip_cancelled"}
)
# Events after assignment must name the driver and the vehicle.
_NEEDS_DRIVER = frozenset({"driver_assigned", "trip_started", "trip_completed"})


class Malformed(ValueError):  # noqa: N818 - a verdict on a message, not a program error
    """The message is not a valid trip event; the text is the dead-letter reason."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require(event: dict[str, Any], name: str, kind: str, nullable: bool = False) -> Any:
    if name not in event:
        raise Malformed(f"missing field {name}")
    value = event[name]
    if value is None and nullable:
        return None
    ok = {
        "str": lambda v: isinstance(v, str) and v != "",
        "int": _is_int,
        "number": _is_number,
        "object": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
    }[kind](value)
    if not ok:
        raise Malformed(f"wrong type for {name}: expected {kind}, got {type(value).__name__}")
    return value


def _zone(event: dict[str, Any], name: str) -> None:
    zone = _require(event, name, "int")
    if not 1 <= zone <= 265:
        raise Malformed(f"{name} {zone} is not a TLC zone id (1..265)")


def _timestamp(event: dict[str, Any]) -> datetime:
    text = _require(event, "event_time", "str")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise Malformed(f"event_time {text[:40]!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise Malformed("event_time has no time zone")
    return moment.astimezone(UTC)


def _fare(event: dict[str, Any]) -> None:
    fare = _require(event, "fare", "object")
    for name in ("base_amount", "tip_amount", "tolls_amount", "total_amount"):
        _require(fare, f"{name}", "number", nullable=name != "total_amount")
    for surcharge in _require(fare, "surcharges", "list"):
        if not isinstance(surcharge, dict):
            raise Malformed("wrong type for fare.surcharges item: expected object")
        _require(surcharge, "kind", "str")
        _require(surcharge, "amount", "number")


def validate(payload: bytes | None) -> dict[str, Any]:
    """The event as a dict ready for dlt (``event_time`` parsed), or raise ``Malformed``."""
    if not payload:
        raise Malformed("empty message")
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise Malformed(f"not JSON: {str(error).split(':')[0][:80]}") from error
    if not isinstance(event, dict):
        raise Malformed(f"not a JSON object: {type(event).__name__}")
    _require(event, "event_id", "str")
    event_type = _require(event, "event_type", "str")
    if event_type not in EVENT_TYPES:
        raise Malformed(f"unknown event_type {event_type[:40]!r}")
    _require(event, "trip_id", "str")
    needs_driver = event_type in _NEEDS_DRIVER
    _require(event, "driver_id", "int", nullable=not needs_driver)
    _require(event, "vehicle_id", "int", nullable=not needs_driver)
    event["event_time"] = _timestamp(event)
    if "location" in event and event["location"] is not None:
        location = _require(event, "location", "object")
        _require(location, "lat", "number", nullable=True)
        _require(location, "lon", "number", nullable=True)
    if event_type == "trip_requested":
        _zone(event, "pickup_zone_id")
    elif event_type == "trip_completed":
        _zone(event, "pickup_zone_id")
        _zone(event, "dropoff_zone_id")
        _require(event, "distance_miles", "number")
        _fare(event)
    elif event_type == "trip_cancelled":
        _require(event, "cancelled_by", "str")
    return event


def dead_letter(
    topic: str, partition: int, offset: int, payload: bytes | None, reason: str, timestamp: int
) -> dict[str, Any]:
    """The dead-letter row for a malformed message: where it was, its bytes, and why."""
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "raw_base64": base64.b64encode(payload or b"").decode("ascii"),
        "reason": reason,
        "kafka_timestamp": kafka_time(timestamp),
    }


def kafka_time(milliseconds: int) -> datetime | None:
    """A Kafka message timestamp (ms since the epoch) as a UTC datetime."""
    return datetime.fromtimestamp(milliseconds / 1000, UTC) if milliseconds > 0 else None
