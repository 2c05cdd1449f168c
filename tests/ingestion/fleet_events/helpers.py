"""Shared steps of the fleet_events tests: run the CLI, read DuckDB and the group offsets."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import duckdb
from confluent_kafka import Consumer, TopicPartition

from ingestion.core.settings import Settings
from ingestion.fleet_events.settings import CONSUMER_GROUP
from tests.helpers import REPO, TRIPLINE, run_tripline

SUMMARY = re.compile(
    r"rows read (?P<read>[\d,]+) = loaded (?P<loaded>[\d,]+) \+ rejected (?P<rejected>[\d,]+)"
    r"(?P<bad> \(DOES NOT RECONCILE\))?.*new_events (?P<new>-?\d+)"
)


def run_pipeline(bootstrap: str, topic: str, *extra: str) -> dict[str, int]:
    """Run ``tripline pipeline run fleet_events``; return the summary counts."""
    result = run_tripline(
        "pipeline",
        "run",
        "fleet_events",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        *extra,
        check=True,
        timeout=300,
    )
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout + result.stderr
    assert match["bad"] is None, result.stdout
    return {k: int(v.replace(",", "")) for k, v in match.groupdict().items() if k != "bad"}


def start_pipeline(
    bootstrap: str,
    topic: str,
    *extra: str,
    quiet: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start ``tripline pipeline run fleet_events`` (text pipes unless ``quiet``)."""
    command = [TRIPLINE, "pipeline", "run", "fleet_events", "--bootstrap", bootstrap]
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [*command, "--topic", topic, *extra],
        cwd=REPO,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(env or {})},
        stdout=output,
        stderr=output,
        text=True,
    )


def start_follower(
    bootstrap: str, topic: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``tripline pipeline run fleet_events --follow``."""
    return start_pipeline(bootstrap, topic, "--follow", *extra, env=env)


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def scalar(settings: Settings, sql: str) -> Any:
    return query(settings, sql)[0][0]


def committed_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": CONSUMER_GROUP})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        return {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
    finally:
        consumer.close()


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "tripline-tests"})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.topics[topic].partitions
        }
    finally:
        consumer.close()


def report_json(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text())
