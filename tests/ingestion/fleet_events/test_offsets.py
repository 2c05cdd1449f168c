"""Offsets that do not fit the log: retention, out of range mid-read, a recreated topic, added
partitions; and what a message is besides an event (tombstones, keys, missing timestamps)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions

from devservers.kafka_broker import create_topic
from ingestion.fleet_events.consumer import EventConsumer
from ingestion.fleet_events.decode import PageDecoder
from ingestion.fleet_events.pipeline import RunOptions, run_fleet_events
from ingestion.fleet_events.prefetch import Prefetcher
from ingestion.fleet_events.settings import client_config
from tests.helpers import run_tripline
from tests.ingestion.fleet_events.helpers import (
    high_watermarks,
    query,
    scalar,
    start_follower,
)

RAW = "raw_fleet_events"


def _produce(bootstrap: str, topic: str, partition: int, count: int, start: int = 0) -> None:
    """``count`` small messages (not events: dead letters, which is all these tests need)."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for number in range(start, start + count):
        producer.produce(topic, f"m{number}".encode(), f"k{number}".encode(), partition=partition)
    assert producer.flush(30) == 0


def _delete_before(bootstrap: str, topic: str, partition: int, offset: int) -> None:
    """What retention does: move the partition's log start offset up to ``offset``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic, partition, offset)])
    for future in futures.values():
        future.result(30)


def _run(settings, bootstrap: str, topic: str, **options):  # type: ignore[no-untyped-def]
    """A run in this process (the CLI's start-up cost saved where its output is not tested)."""
    return run_fleet_events(settings, RunOptions(bootstrap=bootstrap, topic=topic, **options))


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def test_retention_past_the_stored_offset_is_a_recorded_gap(kafka, topic, tripline_env):
    create_topic(kafka.bootstrap, topic, 2)
    _produce(kafka.bootstrap, topic, 0, 20)
    _produce(kafka.bootstrap, topic, 1, 10)
    assert _run(tripline_env, kafka.bootstrap, topic).rows_read == 30  # p0 at 20, p1 at 10
    _produce(kafka.bootstrap, topic, 0, 30, start=20)  # offsets 20..49
    _delete_before(kafka.bootstrap, topic, 0, 35)  # 20..34 deleted before they were read

    result = run_tripline(
        "pipeline", "run", "fleet_events", "--bootstrap", kafka.bootstrap, "--topic", topic
    )
    assert result.returncode == 0, result.stderr
    assert f"{topic} partition 0 offsets 20..34 (15 messages) deleted by retention" in (
        result.stderr
    )
    assert "rows read 15 " in result.stdout  # 35..49
    assert "offset_gaps 1, lost_messages 15" in result.stdout
    gaps = query(
        tripline_env,
        f"select topic, partition, first_offset, last_offset, messages, reason "
        f"from {RAW}.offset_gaps",
    )
    assert gaps == [(topic, 0, 20, 34, 15, "deleted by retention before it was read")]
    assert _run(tripline_env, kafka.bootstrap, topic).rows_read == 0  # not reported again
    assert scalar(tripline_env, f"select count(*) from {RAW}.offset_gaps") == 1


def test_out_of_range_while_reading_is_a_gap_not_a_jump(kafka, topic, tripline_env):
    """The reader's fetch position is below the log start (retention ran after the run
    planned its start): librdkafka must report it, and the reader record it."""
    create_topic(kafka.bootstrap, topic, 1)
    _produce(kafka.bootstrap, topic, 0, 100)
    _delete_before(kafka.bootstrap, topic, 0, 40)
    consumer = EventConsumer(client_config(kafka.bootstrap), topic, "tripline-tests")
    consumer.assign({0: 0})
    decoder = PageDecoder()
    pages = []
    try:
        with Prefetcher(consumer, decoder, {0: 0}, {0: 100}, 1_000, 0.2) as prefetcher:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                page = prefetcher.next_page(timeout=1)
                if page is not None:
                    pages.append(page)
                    if page.positions.get(0) == 100:
                        break
    finally:
        consumer.close()
        decoder.close()
    read = sum(page.messages for page in pages)
    gaps = [gap for page in pages for gap in getattr(page, "gaps", [])]
    assert [(g.partition, g.first_offset, g.last_offset) for g in gaps] == [(0, 0, 39)]
    assert read + sum(gap.messages for gap in gaps) == 100  # every offset read or recorded


def test_recreated_topic_is_refused_until_the_operator_resets(kafka, topic, tripline_env):
    create_topic(kafka.bootstrap, topic, 1)
    _produce(kafka.bootstrap, topic, 0, 30)
    assert _run(tripline_env, kafka.bootstrap, topic).rows_read == 30
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.delete_topics([topic])[topic].result(30)
    _wait(lambda: topic not in admin.list_topics(timeout=5).topics, 30, "topic deleted")
    _wait(lambda: _recreate(kafka.bootstrap, topic), 30, "topic recreated")
    _produce(kafka.bootstrap, topic, 0, 12)

    refused = run_tripline(
        "pipeline", "run", "fleet_events", "--bootstrap", kafka.bootstrap, "--topic", topic
    )
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"{topic} partition 0: stored offset 30 is above the high watermark 12" in (
        refused.stderr
    )
    assert "--reset-offsets" in refused.stderr

    summary = _run(tripline_env, kafka.bootstrap, topic, reset_offsets="earliest")
    assert summary.rows_read == 12
    assert summary.extra["reset_offsets"] == "earliest"
    assert _run(tripline_env, kafka.bootstrap, topic).rows_read == 0  # on from the new offsets


def _recreate(bootstrap: str, topic: str) -> bool:
    try:
        create_topic(bootstrap, topic, 1)
    except Exception:  # the deletion may still be in progress
        return False
    return True


def test_tombstones_keys_and_missing_broker_timestamps(kafka, topic, tripline_env):
    create_topic(kafka.bootstrap, topic, 1)
    event = {
        "event_id": "e-1",
        "event_type": "trip_requested",
        "event_time": "2026-01-01T10:00:00+00:00",
        "trip_id": "t-1",
        "driver_id": None,
        "vehicle_id": None,
        "pickup_zone_id": 132,
    }
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    producer.produce(topic, orjson.dumps(event), b"t-1", partition=0)
    producer.produce(topic, None, b"t-0", partition=0)  # a tombstone for key t-0
    producer.produce(topic, b"[1]", b"\xff\x00", partition=0)  # malformed, binary key
    assert producer.flush(30) == 0

    summary = _run(tripline_env, kafka.bootstrap, topic)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (3, 2, 1)
    assert summary.extra["tombstones"] == 1
    assert query(tripline_env, f"select event_id, kafka_key from {RAW}.trip_events") == [
        ("e-1", b"t-1")
    ]
    assert query(tripline_env, f'select "offset", kafka_key from {RAW}.trip_event_tombstones') == [
        (1, b"t-0")
    ]
    assert query(tripline_env, f"select kafka_key from {RAW}.trip_events_dead_letter") == [
        (b"\xff\x00",)
    ]


def test_missing_broker_timestamp_is_null_not_1969():
    """librdkafka reports -1 when a message has no timestamp."""
    import pyarrow as pa

    from ingestion.fleet_events.decode import RAW_SCHEMA

    raw = pa.table(
        [
            pa.array([0, 0], pa.int32()),
            pa.array([0, 1], pa.int64()),
            pa.array([-1, -1], pa.int64()),
            pa.array([b"k", b"k"], pa.binary()),
            pa.array([b"not json", None], pa.binary()),
        ],
        schema=RAW_SCHEMA,
    )
    decoder = PageDecoder()
    try:
        page = decoder.decode(raw)
    finally:
        decoder.close()
    assert page.dead_letters.column("kafka_timestamp").to_pylist() == [None]
    assert page.tombstones.column("kafka_timestamp").to_pylist() == [None]


def test_partitions_added_while_following_are_read(kafka, topic, tripline_env, tmp_path: Path):
    create_topic(kafka.bootstrap, topic, 1)
    beat = tmp_path / "heartbeat"
    follower = start_follower(
        kafka.bootstrap,
        topic,
        "--batch-seconds",
        "1",
        "--follow-for",
        "90",
        env={"TRIPLINE_HEARTBEAT_FILE": str(beat)},
    )
    try:
        _wait(beat.exists, 60, "the follower's first heartbeat")
        _produce(kafka.bootstrap, topic, 0, 5)
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        admin.create_partitions([NewPartitions(topic, 3)])[topic].result(30)
        _produce(kafka.bootstrap, topic, 2, 7)
        added = time.monotonic()
        _wait(
            lambda: _dead_letters_of(tripline_env, 2) == 7,
            30,
            "messages of the added partition loaded",
        )
        took = time.monotonic() - added
    finally:
        follower.terminate()
        _stdout, stderr = follower.communicate(timeout=60)
    assert follower.returncode == 0, stderr[-2000:]
    assert "gained partitions" in stderr
    assert high_watermarks(kafka.bootstrap, topic)[2] == 7
    # One micro-batch interval (1 s) to notice, one batch to load; the rest is a busy machine.
    assert took < 20


def _dead_letters_of(settings, partition: int) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(
            scalar(
                settings,
                f"select count(*) from {RAW}.trip_events_dead_letter where partition = {partition}",
            )
        )
    except Exception:  # the table, or the file, is not there yet; or a load holds it
        return -1
