"""SIGKILL the consumer at random points of a large run; the table ends exact anyway."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from ingestion.fleet_events.generator import GeneratorOptions, generate
from tests.helpers import REPO, TRIPLINE
from tests.ingestion.fleet_events.helpers import query, run_pipeline, scalar

RAW = "raw_fleet_events"
KILLS = 6


def _start(bootstrap: str, topic: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            TRIPLINE,
            "pipeline",
            "run",
            "fleet_events",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--batch-messages",
            "6000",
        ],
        cwd=REPO,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_at_random_points_then_exactly_the_valid_events(kafka, topic, tripline_env):
    report = generate(kafka.bootstrap, GeneratorOptions(trips=20_000, seed=21, topic=topic))
    rng = random.Random(5)
    killed_mid_run = 0
    for _ in range(KILLS):
        process = _start(kafka.bootstrap, topic)
        # A run needs ~2.5 s to start and ~1.5 s per batch of 3,000: kill anywhere from start-up on.
        time.sleep(rng.uniform(2.5, 7.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed_mid_run += 1
        process.wait(30)
    assert killed_mid_run >= 5

    counts = run_pipeline(kafka.bootstrap, topic)
    assert counts["read"] < report.messages  # earlier runs committed part of the topic

    settings = tripline_env
    total, distinct = query(
        settings, f"select count(*), count(distinct event_id) from {RAW}.trip_events"
    )[0]
    assert total == distinct == report.valid_events
    dead, distinct_dead = query(
        settings,
        f'select count(*), count(distinct (partition, "offset")) '
        f"from {RAW}.trip_events_dead_letter",
    )[0]
    assert dead == distinct_dead == report.malformed
    orphans = scalar(
        settings,
        f"""
        select count(*)
        from {RAW}.trip_events__fare__surcharges as s
        left join {RAW}.trip_events as e on s._dlt_root_id = e._dlt_id
        where e._dlt_id is null
        """,
    )
    assert orphans == 0
