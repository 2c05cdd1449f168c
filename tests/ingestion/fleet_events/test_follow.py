"""``--follow``: micro-batches keep up, survive a broker restart, and stop cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from ingestion.core.settings import Settings
from ingestion.fleet_events.generator import DELIVERY_TIMEOUT_S, GeneratorOptions, generate
from tests.ingestion.fleet_events.helpers import (
    committed_offsets,
    high_watermarks,
    query,
    start_follower,
)

RAW = "raw_fleet_events"


def _wait_committed(bootstrap: str, topic: str, timeout: float) -> None:
    """Until the consumer group's commits (made after each load) reach the end of the topic."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if committed_offsets(bootstrap, topic) == high_watermarks(bootstrap, topic):
                return
        except Exception:  # the broker may still be coming back
            pass
        time.sleep(0.5)
    raise AssertionError(f"follow run did not catch up within {timeout} s")


def _wait_loaded(settings: Settings, events: int, timeout: float) -> None:
    """Until the warehouse holds ``events`` distinct events (the follower may hold the file)."""
    deadline = time.monotonic() + timeout
    held = None
    while time.monotonic() < deadline:
        # The follower may be loading a batch: ask again.
        with contextlib.suppress(duckdb.Error):
            held = query(settings, f"select count(distinct event_id) from {RAW}.trip_events")[0][0]
        if held == events:
            return
        time.sleep(0.5)
    raise AssertionError(f"the warehouse holds {held} of {events} events after {timeout} s")


def test_broker_restart_during_follow_loses_nothing(kafka, topic, tripline_env):
    if kafka.external:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS points at a broker this test cannot restart")
    first = generate(kafka.bootstrap, GeneratorOptions(trips=1_000, seed=31, topic=topic))
    follower = start_follower(kafka.bootstrap, topic, "--batch-seconds", "1", "--follow-for", "240")
    try:
        _wait_committed(kafka.bootstrap, topic, 60)
        # The broker goes away while the second wave is being produced and consumed.
        with ThreadPoolExecutor(1) as pool:
            wave = pool.submit(
                generate,
                kafka.bootstrap,
                GeneratorOptions(trips=1_500, seed=32, topic=topic, rate=1_500),
            )
            time.sleep(1.5)
            kafka.restart(down_seconds=3)
            second = wave.result(timeout=DELIVERY_TIMEOUT_S + 60)
        # The warehouse is the truth: wait for its rows, not for the group's commits, which
        # only mirror the stored offsets (a commit refused while the coordinator reloads
        # after the restart is not made again until the next batch with messages).
        expected = first.valid_events + second.valid_events
        try:
            _wait_loaded(tripline_env, expected, 150)
        except AssertionError as error:
            follower.kill()
            raise AssertionError(f"{error}: {follower.communicate()[1][-3000:]}") from None
        follower.send_signal(signal.SIGTERM)
        stdout, stderr = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, stderr
    assert "SIGTERM received" in stderr
    assert "rows read" in stdout  # the summary of a clean stop

    total, distinct = query(
        tripline_env, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert total == distinct == first.valid_events + second.valid_events
    dead = query(tripline_env, f"select count(*) from {RAW}.trip_events_dead_letter")[0][0]
    assert dead == first.malformed + second.malformed


def test_sigterm_at_any_moment_stops_the_follower_after_its_batch(
    kafka, topic, tripline_env, tmp_path
):
    """SIGTERM lands in extract, normalize or load (short batches: mostly dlt's steps).

    dlt holds SIGTERM during its normalize and load steps and drops it afterwards unless the
    pipeline takes the signal itself; a follower signalled then used to run on for ever.
    """
    generate(kafka.bootstrap, GeneratorOptions(trips=300, seed=41, topic=topic))
    producing = threading.Event()
    producing.set()

    def produce() -> None:
        seed = 42
        while producing.is_set():
            generate(kafka.bootstrap, GeneratorOptions(trips=20, seed=seed, topic=topic))
            seed += 1
            time.sleep(0.1)

    rng = random.Random(7)
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        for number in range(4):
            beat = tmp_path / f"heartbeat-{number}"
            follower = start_follower(
                kafka.bootstrap,
                topic,
                "--batch-seconds",
                "0.2",
                env={"TRIPLINE_HEARTBEAT_FILE": str(beat)},
            )
            # Past start-up, into the batch loop: timed from the first heartbeat, so a busy
            # machine's slow start-up cannot make the signal land before the handler.
            deadline = time.monotonic() + 90
            while not beat.exists() and follower.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(rng.uniform(1.0, 4.0))
            follower.send_signal(signal.SIGTERM)
            try:
                _stdout, stderr = follower.communicate(timeout=30)
            finally:
                if follower.poll() is None:
                    follower.kill()
            assert follower.returncode == 0, stderr[-2000:]
            assert "SIGTERM received" in stderr
    finally:
        producing.clear()
        producer.join()
    _total, distinct = query(
        tripline_env, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert _total == distinct > 0
