"""``tripline generate fleet-events``: trip events on Kafka with the faults real streams have.

Each trip produces ``trip_requested``, then either ``trip_cancelled`` (by the rider before a
driver is assigned, or by the driver after) or ``driver_assigned``, ``trip_started`` and
``trip_completed`` with a fare, its surcharges, the distance and the TLC zones. Keyed by
``trip_id``, so one trip's events share a partition. Faults, all counted in the report:

* duplicates: an event sent twice (an at-least-once producer retrying);
* out of order: a trip's events sent in a different order than their ``event_time``;
* late: events held back and sent after all other trips (``event_time`` long past);
* malformed (about 0.5 % of messages): not JSON, a required field missing, a wrong type.

The report's ``valid_events`` is the number of distinct valid events: what
``raw_fleet_events.trip_events`` must hold after the pipeline ran over everything.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ingestion.core.errors import SourceError
from ingestion.fleet_events.settings import (
    DEFAULT_DRIVERS,
    DEFAULT_PARTITIONS,
    DEFAULT_VEHICLES,
    TOPIC,
    client_config,
)

# Zones weighted towards Manhattan and the airports, like the city's demand.
_BUSY_ZONES = [161, 162, 163, 170, 186, 230, 236, 237, 48, 68, 79, 90, 100, 107, 132, 138, 142]
_SURCHARGES = [("congestion", 2.50), ("mta_tax", 0.50), ("improvement", 1.00)]
_CANCEL_REASONS = {"rider": ["changed_plans", "wait_too_long"], "driver": ["no_show", "unsafe"]}


@dataclass
class GeneratorOptions:
    trips: int
    rate: float | None = None  # messages per second; None = as fast as possible
    seed: int | None = None
    drivers: int = DEFAULT_DRIVERS
    vehicles: int = DEFAULT_VEHICLES
    partitions: int = DEFAULT_PARTITIONS
    topic: str = TOPIC
    duplicate_rate: float = 0.02
    out_of_order_rate: float = 0.05
    late_rate: float = 0.01
    malformed_rate: float = 0.005
    cancel_rate: float = 0.08
    # Trips are requested over the last ``span_minutes`` (default: the last six hours;
    # ``--rate`` live runs default to the last 45 minutes).
    span_minutes: float = 360.0


@dataclass
class GeneratorReport:
    """Counts for reconciliation: messages = valid_messages + malformed."""

    trips: int = 0
    valid_events: int = 0
    duplicates: int = 0
    out_of_order_trips: int = 0
    late_events: int = 0
    malformed: int = 0
    messages: int = 0
    completed_trips: int = 0
    cancelled_trips: int = 0
    seconds: float = 0.0

    @property
    def valid_messages(self) -> int:
        return self.valid_events + self.duplicates

    def line(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"fleet-events: {self.messages:,} messages for {self.trips:,} trips "
            f"({self.valid_events:,} distinct valid events + {self.duplicates:,} duplicates + "
            f"{self.malformed:,} malformed; {self.out_of_order_trips:,} trips out of order, "
            f"{self.late_events:,} late events) in {self.seconds:.1f} s ({rate:,.0f} msg/s)"
        )

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "valid_messages": self.valid_messages}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _zone(rng: random.Random) -> int:
    return rng.choice(_BUSY_ZONES) if rng.random() < 0.7 else rng.randint(1, 263)


class _TripFactory:
    def __init__(self, rng: random.Random, options: GeneratorOptions, now: datetime) -> None:
        self.rng, self.options, self.now = rng, options, now

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _event(
        self, kind: str, trip: dict[str, Any], at: datetime, **fields: Any
    ) -> dict[str, Any]:
        return {
            "event_id": self._id(),
            "event_type": kind,
            "event_time": _iso(at),
            "trip_id": trip["trip_id"],
            "driver_id": fields.pop("driver_id", trip.get("driver_id")),
            "vehicle_id": fields.pop("vehicle_id", trip.get("vehicle_id")),
            **fields,
        }

    def _location(self, zone: int) -> dict[str, Any]:
        rng = self.rng
        return {
            "zone_id": zone,
            "lat": round(40.55 + rng.random() * 0.35, 5),
            "lon": round(-74.05 + rng.random() * 0.35, 5),
        }

    def trip(self) -> tuple[list[dict[str, Any]], str]:
        """One trip's events up to now in event-time order, and its outcome so far.

        A trip requested recently may still be under way: its later events lie in the future
        and are not sent (outcome ``in_progress``).
        """
        events, outcome = self._lifecycle()
        sent = [e for e in events if e["event_time"] <= _iso(self.now)]
        return sent, outcome if len(sent) == len(events) else "in_progress"

    def _lifecycle(self) -> tuple[list[dict[str, Any]], str]:
        rng, opts = self.rng, self.options
        trip: dict[str, Any] = {"trip_id": f"T-{self._id()}"}
        pickup, dropoff = _zone(rng), _zone(rng)
        requested = self.now - timedelta(minutes=rng.random() * opts.span_minutes)
        events = [
            self._event(
                "trip_requested",
                trip,
                requested,
                driver_id=None,
                vehicle_id=None,
                pickup_zone_id=pickup,
                location=self._location(pickup),
            )
        ]
        if rng.random() < opts.cancel_rate / 2:
            at = requested + timedelta(seconds=rng.randint(30, 600))
            events.append(
                self._event(
                    "trip_cancelled",
                    trip,
                    at,
                    driver_id=None,
                    vehicle_id=None,
                    cancelled_by="rider",
                    cancel_reason=rng.choice(_CANCEL_REASONS["rider"]),
                )
            )
            return events, "cancelled"
        trip["driver_id"] = rng.randint(1, opts.drivers)
        trip["vehicle_id"] = rng.randint(1, opts.vehicles)
        assigned = requested + timedelta(seconds=rng.randint(5, 180))
        events.append(
            self._event("driver_assigned", trip, assigned, location=self._location(_zone(rng)))
        )
        if rng.random() < opts.cancel_rate / 2:
            at = assigned + timedelta(seconds=rng.randint(30, 600))
            events.append(
                self._event(
                    "trip_cancelled",
                    trip,
                    at,
                    cancelled_by="driver",
                    cancel_reason=rng.choice(_CANCEL_REASONS["driver"]),
                )
            )
            return events, "cancelled"
        started = assigned + timedelta(seconds=rng.randint(60, 900))
        events.append(
            self._event(
                "trip_started",
                trip,
                started,
                pickup_zone_id=pickup,
                location=self._location(pickup),
            )
        )
        distance = round(rng.lognormvariate(1.0, 0.8), 2)
        minutes = max(3.0, distance * rng.uniform(2.5, 5.0))
        completed = started + timedelta(minutes=minutes)
        base = round(3.0 + distance * 2.5 + minutes * 0.5, 2)
        chosen = [(k, a) for k, a in _SURCHARGES if rng.random() < 0.8]
        surcharges = [{"kind": k, "amount": a} for k, a in chosen]
        tip = round(base * rng.choice([0, 0.15, 0.2, 0.25]), 2)
        tolls = 6.94 if rng.random() < 0.05 else 0.0
        fare = {
            "currency": "USD",
            "base_amount": base,
            "tip_amount": tip,
            "tolls_amount": tolls,
            "surcharges": surcharges,
            "total_amount": round(base + tip + tolls + sum(a for _, a in chosen), 2),
        }
        events.append(
            self._event(
                "trip_completed",
                trip,
                completed,
                pickup_zone_id=pickup,
                dropoff_zone_id=dropoff,
                distance_miles=distance,
                fare=fare,
                location=self._location(dropoff),
            )
        )
        return events, "completed"

    def malformed(self, event: dict[str, Any]) -> bytes:
        """A broken message derived from ``event``: not JSON, a field missing, a wrong type."""
        rng = self.rng
        kind = rng.randrange(3)
        if kind == 0:
            return orjson.dumps(event)[: rng.randint(5, 40)]  # cut off: not JSON
        broken = dict(event, event_id=self._id())
        if kind == 1:
            broken.pop(rng.choice(["event_id", "trip_id", "event_time", "event_type"]))
            return orjson.dumps(broken)
        field = rng.choice(["driver_id", "event_time", "trip_id"])
        broken[field] = {"driver_id": "D-12", "event_time": 1_700_000_000, "trip_id": 42}[field]
        return orjson.dumps(broken)


def ensure_topic(config: dict[str, Any], topic: str, partitions: int) -> None:
    """Create the topic with ``partitions`` partitions unless it exists."""
    admin = AdminClient(config)
    try:
        existing = admin.list_topics(timeout=15).topics
    except KafkaException as error:
        raise SourceError(f"Kafka broker unreachable at {config['bootstrap.servers']}") from error
    if topic in existing:
        return
    future = admin.create_topics([NewTopic(topic, partitions, 1)])[topic]
    try:
        future.result(30)
    except KafkaException as error:
        if "already exists" not in str(error).lower():
            raise SourceError(f"cannot create Kafka topic {topic}: {error}") from error
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        meta = admin.list_topics(topic, timeout=5).topics.get(topic)
        if meta and meta.error is None and all(p.leader >= 0 for p in meta.partitions.values()):
            return
        time.sleep(0.2)


# How long a message may wait for a broker that is away (librdkafka's own default).
DELIVERY_TIMEOUT_S = 300.0


class _Sender:
    """A producer that keeps to a message rate and counts what it sent."""

    def __init__(self, config: dict[str, Any], topic: str, rate: float | None) -> None:
        self.producer = Producer(
            {
                **config,
                "linger.ms": 20,
                "compression.type": "lz4",
                "batch.num.messages": 10_000,
                "queue.buffering.max.messages": 200_000,
                "enable.idempotence": False,
                "message.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000),
            }
        )
        self.topic, self.rate = topic, rate
        self.sent = 0
        self.started = time.monotonic()
        self.errors: list[str] = []

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None:
            self.errors.append(str(error))

    def send(self, key: str, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(self.topic, value, key.encode(), on_delivery=self._delivered)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.sent += 1
        if self.sent % 1000 == 0:
            self.producer.poll(0)
        if self.rate:
            ahead = self.sent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)

    def close(self) -> None:
        # librdkafka reports every message by message.timeout.ms, delivered or failed, so
        # flushing a little longer than that waits out a broker restart without hanging.
        remaining = self.producer.flush(DELIVERY_TIMEOUT_S + 15)
        if remaining or self.errors:
            raise SourceError(
                f"Kafka producer: {remaining} undelivered, {len(self.errors)} failed "
                f"({self.errors[:1]})"
            )


def generate(bootstrap: str | None, options: GeneratorOptions) -> GeneratorReport:
    """Produce ``options.trips`` trips to the topic; return the counts to reconcile against."""
    config = client_config(bootstrap)
    ensure_topic(config, options.topic, options.partitions)
    rng = random.Random(options.seed)
    report = GeneratorReport()
    sender = _Sender(config, options.topic, options.rate)
    late: list[tuple[str, bytes]] = []
    started = time.perf_counter()
    for _ in range(options.trips):
        factory = _TripFactory(rng, options, datetime.now(UTC))
        events, outcome = factory.trip()
        report.trips += 1
        report.completed_trips += outcome == "completed"
        report.cancelled_trips += outcome == "cancelled"
        report.valid_events += len(events)
        if len(events) > 1 and rng.random() < options.out_of_order_rate:
            i = rng.randrange(len(events) - 1)
            events[i], events[i + 1] = events[i + 1], events[i]
            report.out_of_order_trips += 1
        for event in events:
            key, value = event["trip_id"], orjson.dumps(event)
            if rng.random() < options.late_rate:
                late.append((key, value))
                report.late_events += 1
                continue
            sender.send(key, value)
            if rng.random() < options.duplicate_rate:
                sender.send(key, value)
                report.duplicates += 1
            if rng.random() < options.malformed_rate:
                sender.send(key, factory.malformed(event))
                report.malformed += 1
    for key, value in late:
        sender.send(key, value)
    sender.close()
    report.messages = sender.sent
    report.seconds = time.perf_counter() - started
    return report
