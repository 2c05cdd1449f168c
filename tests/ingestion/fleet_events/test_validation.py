"""Which messages are trip events and which become dead letters, and why (the DuckDB decoder)."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest

from ingestion.fleet_events.decode import RAW_SCHEMA, DecodedPage, PageDecoder
from ingestion.fleet_events.generator import GeneratorOptions, _TripFactory


@pytest.fixture(scope="module")
def decoder() -> Iterator[PageDecoder]:
    decoder = PageDecoder()
    yield decoder
    decoder.close()


def _decode(
    decoder: PageDecoder,
    payloads: list[bytes | None],
    keys: list[bytes | None] | None = None,
    timestamp_ms: int = 1_700_000_000_000,
) -> DecodedPage:
    raw = pa.table(
        [
            pa.array([0] * len(payloads), pa.int32()),
            pa.array(range(len(payloads)), pa.int64()),
            pa.array([timestamp_ms] * len(payloads), pa.int64()),
            pa.array(keys or [None] * len(payloads), pa.binary()),
            pa.array(payloads, pa.binary()),
        ],
        schema=RAW_SCHEMA,
    )
    return decoder.decode(raw)


def _reason(decoder: PageDecoder, payload: bytes | None) -> str | None:
    dead = _decode(decoder, [payload]).dead_letters.to_pylist()
    return dead[0]["reason"] if dead else None


def _factory(seed: int, cancel_rate: float | None = None) -> _TripFactory:
    options = (
        GeneratorOptions(trips=1)
        if cancel_rate is None
        else GeneratorOptions(trips=1, cancel_rate=cancel_rate)
    )
    return _TripFactory(random.Random(seed), options, datetime.now(UTC))


def _completed() -> dict[str, Any]:
    events, outcome = _factory(3, cancel_rate=0.0).trip()
    assert outcome == "completed"
    return events[-1]


def test_generated_events_are_valid_typed_and_unnested(decoder: PageDecoder):
    factory = _factory(1)
    events = [event for _ in range(300) for event in factory.trip()[0]]
    page = _decode(decoder, [orjson.dumps(event) for event in events])
    assert page.dead_letters.num_rows == 0
    assert page.valid == page.events.num_rows == len(events)
    loaded = {row["event_id"]: row for row in page.events.to_pylist()}
    for event in events:
        row = loaded[event["event_id"]]
        assert row["event_time"] == datetime.fromisoformat(event["event_time"])
        assert row["driver_id"] == event["driver_id"]
        assert (
            row["location__zone_id"] == event["location"]["zone_id"]
            if "location" in event
            else True
        )
        if event["event_type"] == "trip_completed":
            assert row["fare__total_amount"] == event["fare"]["total_amount"]
    expected = [
        (event["event_id"], position, surcharge["kind"], surcharge["amount"])
        for event in events
        if event["event_type"] == "trip_completed"
        for position, surcharge in enumerate(event["fare"]["surcharges"], start=1)
    ]
    got = [
        (row["event_id"], row["surcharge_position"], row["kind"], row["amount"])
        for row in page.surcharges.to_pylist()
    ]
    assert sorted(got) == sorted(expected) and expected


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("event_id"), "missing field event_id"),
        (lambda e: e.update(driver_id="D-1"), "wrong type for driver_id: expected int"),
        (lambda e: e.update(driver_id=True), "wrong type for driver_id: expected int"),
        (lambda e: e.update(driver_id=12.5), "wrong type for driver_id: expected int"),
        (lambda e: e.update(trip_id=42), "wrong type for trip_id: expected str"),
        (lambda e: e.update(trip_id=""), "wrong type for trip_id: expected str"),
        (lambda e: e.update(event_time=1700000000), "wrong type for event_time"),
        (lambda e: e.update(event_time="yesterday"), "is not an ISO 8601 time"),
        (lambda e: e.update(event_time="2026-01-01T10:00:00"), "has no time zone"),
        (lambda e: e.update(event_type="trip_teleported"), "unknown event_type trip_teleported"),
        (lambda e: e.update(dropoff_zone_id=266), "dropoff_zone_id 266 is not a TLC zone id"),
        (lambda e: e.update(location=[1, 2]), "wrong type for location: expected object"),
        (lambda e: e.pop("fare"), "missing field fare"),
        (lambda e: e["fare"].update(total_amount="ten"), "wrong type for total_amount"),
        (lambda e: e["fare"].update(surcharges={}), "wrong type for surcharges"),
        (lambda e: e["fare"]["surcharges"].append(3), "fare.surcharges item: expected object"),
        (lambda e: e["fare"]["surcharges"].append({"kind": "x"}), "missing field amount"),
    ],
)
def test_malformed_events_name_their_reason(decoder: PageDecoder, change, reason):
    event = _completed()
    change(event)
    assert reason in (_reason(decoder, orjson.dumps(event)) or "valid")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty message"),
        (b'{"event_id": "a", "ev', "not JSON"),
        (b"[1, 2]", "not a JSON object: array"),
        (b"\xff\xfe", "not JSON: not UTF-8"),
    ],
)
def test_not_json_objects_are_malformed(decoder: PageDecoder, payload, reason):
    assert (_reason(decoder, payload) or "valid").startswith(reason)


def test_requested_trip_may_have_no_driver_but_assigned_must(decoder: PageDecoder):
    requested, assigned = _factory(5, cancel_rate=0.0).trip()[0][:2]
    assert requested["driver_id"] is None
    assert _reason(decoder, orjson.dumps(requested)) is None
    assigned["driver_id"] = None
    assert (
        _reason(decoder, orjson.dumps(assigned))
        == "wrong type for driver_id: expected int, got null"
    )


def test_every_message_gets_one_verdict_and_duplicates_keep_the_first_copy(
    decoder: PageDecoder,
):
    event = _completed()
    broken = b'{"event_id": '
    page = _decode(decoder, [orjson.dumps(event), broken, orjson.dumps(event)])
    assert (page.valid, page.duplicates, page.dead_letters.num_rows) == (2, 1, 1)
    assert page.events.column("kafka_offset").to_pylist() == [0]
    assert len({row["event_id"] for row in page.surcharges.to_pylist()}) == 1
    dead = page.dead_letters.to_pylist()[0]
    assert (dead["offset"], base64.b64decode(dead["raw_base64"])) == (1, broken)
    assert dead["kafka_timestamp"] == datetime.fromtimestamp(1_700_000_000, UTC)
