"""SIGKILL the consumer at random points of a large run; the table ends exact anyway."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from ingestion.fleet_events.generator import GeneratorOptions, generate
from tests.ingestion.fleet_events.helpers import query, run_pipeline, start_pipeline

RAW = "raw_fleet_events"
KILLS = 6


def _wait_for_first_commit(beat: Path, process: subprocess.Popen[str], timeout: float = 90) -> None:
    """Until the run's heartbeat is touched a second time, or the run exits.

    The batch loop touches it before each batch, so a second touch means the first batch
    was loaded and its offsets committed.
    """
    deadline = time.monotonic() + timeout
    first: int | None = None
    while time.monotonic() < deadline and process.poll() is None:
        if beat.exists():
            stamp = beat.stat().st_mtime_ns
            if first is None:
                first = stamp
            elif stamp != first:
                return
        time.sleep(0.05)


def test_sigkill_at_random_points_then_exactly_the_valid_events(
    kafka, topic, tripline_env, tmp_path: Path
):
    reports = [generate(kafka.bootstrap, GeneratorOptions(trips=20_000, seed=21, topic=topic))]
    rng = random.Random(5)
    killed_mid_run = attempts = 0
    while killed_mid_run < KILLS and attempts < 3 * KILLS:
        attempts += 1
        beat = tmp_path / f"heartbeat-{attempts}"
        process = start_pipeline(
            kafka.bootstrap,
            topic,
            "--batch-messages",
            "2000",
            quiet=True,
            env={"TRIPLINE_HEARTBEAT_FILE": str(beat)},
        )
        # Every other kill lands in start-up; the others in the batch loop (~0.3 s per batch
        # of 2,000), timed from the run's first committed batch: on a busy machine a batch
        # can take seconds, and kills timed from start-up alone then all landed before any
        # commit, so the runs made no progress to lose or duplicate.
        if attempts % 2:
            time.sleep(rng.uniform(0.5, 2.5))
        else:
            _wait_for_first_commit(beat, process)
            time.sleep(rng.uniform(0.0, 3.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed_mid_run += 1
        elif process.returncode == 0:
            # The run drained the topic before the kill: more events for the next one.
            reports.append(
                generate(
                    kafka.bootstrap, GeneratorOptions(trips=10_000, seed=21 + attempts, topic=topic)
                )
            )
        process.wait(30)
    assert killed_mid_run >= KILLS
    valid_events = sum(r.valid_events for r in reports)
    malformed = sum(r.malformed for r in reports)

    counts = run_pipeline(kafka.bootstrap, topic)
    assert counts["read"] < sum(r.messages for r in reports)  # earlier runs made progress

    settings = tripline_env
    total, distinct = query(
        settings, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert total == distinct == valid_events
    dead, distinct_dead = query(
        settings,
        f'select count(*), count(distinct (partition, "offset")) '
        f"from {RAW}.trip_events_dead_letter",
    )[0]
    assert dead == distinct_dead == malformed
    orphans, doubled = query(
        settings,
        f"""
        select
            (select count(*) from {RAW}.trip_event_surcharges as s
             anti join {RAW}.trip_events as e on s.event_id = e.event_id),
            (select count(*) - count(distinct (event_id, surcharge_position))
             from {RAW}.trip_event_surcharges)
        """,
    )[0]
    assert (orphans, doubled) == (0, 0)
