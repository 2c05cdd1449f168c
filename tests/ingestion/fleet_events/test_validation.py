"""Which messages are trip events and which become dead letters, and why."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest

from ingestion.fleet_events.generator import GeneratorOptions, _TripFactory
from ingestion.fleet_events.helpers import Malformed, validate


def _completed() -> dict:
    factory = _TripFactory(
        random.Random(3), GeneratorOptions(trips=1, cancel_rate=0.0), datetime.now(UTC)
    )
    events, outcome = factory.trip()
    assert outcome == "completed"
    return events[-1]


def test_generated_events_are_valid_and_times_parsed():
    factory = _TripFactory(random.Random(1), GeneratorOptions(trips=1), datetime.now(UTC))
    for _ in range(200):
        events, _outcome = factory.trip()
        for event in events:
            parsed = validate(orjson.dumps(event))
            assert parsed["event_time"].tzinfo is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("event_id"), "missing field event_id"),
        (lambda e: e.update(driver_id="D-1"), "wrong type for driver_id"),
        (lambda e: e.update(driver_id=True), "wrong type for driver_id"),
        (lambda e: e.update(event_time=1700000000), "wrong type for event_time"),
        (lambda e: e.update(event_time="yesterday"), "is not an ISO 8601 time"),
        (lambda e: e.update(event_time="2026-01-01T10:00:00"), "has no time zone"),
        (lambda e: e.update(event_type="trip_teleported"), "unknown event_type"),
        (lambda e: e.update(dropoff_zone_id=266), "is not a TLC zone id"),
        (lambda e: e["fare"].update(total_amount="ten"), "wrong type for total_amount"),
        (lambda e: e["fare"]["surcharges"].append({"kind": "x"}), "missing field amount"),
    ],
)
def test_malformed_events_name_their_reason(change, reason):
    event = _completed()
    change(event)
    with pytest.raises(Malformed, match=reason):
        validate(orjson.dumps(event))


@pytest.mark.parametrize("payload", [b"", b'{"event_id": "a", "ev', b"[1, 2]", b"\xff\xfe"])
def test_not_json_objects_are_malformed(payload):
    with pytest.raises(Malformed):
        validate(payload)


def test_requested_trip_may_have_no_driver_but_assigned_must():
    factory = _TripFactory(
        random.Random(5), GeneratorOptions(trips=1, cancel_rate=0.0), datetime.now(UTC)
    )
    requested, assigned = factory.trip()[0][:2]
    assert requested["driver_id"] is None
    validate(orjson.dumps(requested))
    assigned["driver_id"] = None
    with pytest.raises(Malformed, match="driver_id"):
        validate(orjson.dumps(assigned))
