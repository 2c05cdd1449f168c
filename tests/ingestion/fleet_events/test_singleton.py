"""One consumer at a time, taking turns with other writers, and a heartbeat on every pass.

Two real ``tripline pipeline run fleet_events`` processes against the real broker: the
second one exits in one line (``TRIPLINE_LOCK_TIMEOUT=0``) or waits for the first and then
goes on from exactly where it stopped. While the follower runs, another writer can take the
warehouse lease between its micro-batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from ingestion.core.lease import hold
from ingestion.fleet_events.generator import GeneratorOptions, generate
from tests.helpers import REPO, TRIPLINE, run_tripline
from tests.ingestion.fleet_events.helpers import query, start_follower

RAW = "raw_fleet_events"


def _events(settings) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(query(settings, f"select count(*) from {RAW}.trip_events")[0][0])
    except Exception:  # not created yet, or a load holds the file
        return -1


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def test_second_consumer_exits_or_waits_and_state_never_moves_back(
    kafka, topic, tripline_env, tmp_path: Path
):
    first = generate(kafka.bootstrap, GeneratorOptions(trips=150, seed=51, topic=topic))
    beat = tmp_path / "heartbeat"
    follower = start_follower(
        kafka.bootstrap, topic, "--batch-seconds", "1", env={"TRIPLINE_HEARTBEAT_FILE": str(beat)}
    )
    waiting = None
    try:
        _wait(lambda: _events(tripline_env) == first.valid_events, 60, "first wave loaded")

        # The heartbeat moves on while nothing arrives (empty polls are passes too).
        touched = beat.stat().st_mtime
        _wait(lambda: beat.stat().st_mtime > touched, 5, "a heartbeat on an idle topic")

        # Another writer gets the warehouse between micro-batches; the follower waits for it.
        with hold(tripline_env.duckdb_path, "test writer", timeout=30):
            second = generate(kafka.bootstrap, GeneratorOptions(trips=40, seed=52, topic=topic))
            time.sleep(2)
            assert _events(tripline_env) == first.valid_events  # not while we hold it
        _wait(
            lambda: _events(tripline_env) == first.valid_events + second.valid_events,
            30,
            "second wave loaded after the lease was released",
        )

        refused = run_tripline(
            "pipeline",
            "run",
            "fleet_events",
            "--bootstrap",
            kafka.bootstrap,
            "--topic",
            topic,
            env={"TRIPLINE_LOCK_TIMEOUT": "0"},
        )
        assert refused.returncode == 7, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "the fleet_events lease is held by" in lines[0], lines

        log = tmp_path / "second.log"
        with log.open("w") as sink:
            waiting = subprocess.Popen(
                [
                    *(TRIPLINE, "pipeline", "run", "fleet_events", "--follow", "--bootstrap"),
                    *(kafka.bootstrap, "--topic", topic, "--batch-seconds", "1"),
                ],
                cwd=REPO,
                env={**os.environ, "TRIPLINE_LOCK_TIMEOUT": "120"},
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
            )
        _wait(lambda: "waiting up to 120 s" in log.read_text(), 60, "the second one waiting")
        assert waiting.poll() is None
        follower.send_signal(signal.SIGTERM)
        _out, stderr = follower.communicate(timeout=60)
        assert follower.returncode == 0, stderr[-2000:]

        third = generate(kafka.bootstrap, GeneratorOptions(trips=40, seed=53, topic=topic))
        expected = first.valid_events + second.valid_events + third.valid_events
        _wait(lambda: _events(tripline_env) == expected, 60, "third wave loaded by the second")
        waiting.send_signal(signal.SIGTERM)
        stdout, _ = waiting.communicate(timeout=60)
        stderr = log.read_text()
    finally:
        for process in (follower, waiting):
            if process is not None and process.poll() is None:
                process.kill()
    assert waiting.returncode == 0, stderr[-2000:]
    assert "waiting up to 120 s for the fleet_events lease, held by pipeline fleet_events" in (
        stderr
    )
    # It went on from where the first stopped: it read only the third wave.
    assert f"rows read {third.messages:,} " in stdout
    total, distinct = query(
        tripline_env, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert total == distinct == expected
