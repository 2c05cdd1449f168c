"""Names, limits and the Kafka consumer configuration of the ``fleet_events`` pipeline.

Connection settings come from the environment (as ECS passes them) or from dlt's
``secrets.toml`` under ``[sources.fleet_events]``; secrets are never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dlt

from ingestion.core.budget import MemoryBudget

PIPELINE_NAME = "fleet_events"
DATASET = "raw_fleet_events"
SOURCE_NAME = "fleet_events"
TOPIC = "fleet.trip-events"
DEFAULT_PARTITIONS = 6
CONSUMER_GROUP = "tripline-fleet-events"
EVENTS_TABLE = "trip_events"
SURCHARGES_TABLE = "trip_event_surcharges"
DEAD_LETTER_TABLE = "trip_events_dead_letter"
TOMBSTONES_TABLE = "trip_event_tombstones"
GAPS_TABLE = "offset_gaps"
# The child table dlt's normalizer wrote in the first version (see _check_layout).
FIRST_LAYOUT_CHILD_TABLE = "trip_events__fare__surcharges"

# Fleet database ids the generator draws from (docs/fleet_db.md: drivers 1..N, vehicles 1..M).
DEFAULT_DRIVERS = 200
DEFAULT_VEHICLES = 150
ZONE_IDS = range(1, 266)  # TLC taxi zones 1..265

# A raw event is about 330-600 bytes of JSON; while its page is decoded it also has a row in
# DuckDB's verdict table and in the Arrow output: about 2 KB in all.
MESSAGE_WORKING_BYTES = 2_000
# Raw pages per batch: each page is one DuckDB decode, each batch one dlt load with about 1 s
# of fixed cost. On 970,781 messages, 4 pages per batch ran in 12.8 s at a 1.03 GB peak,
# 8 pages in 13.3 s at 1.39 GB (the merge of a larger batch), 2 pages in 14.8 s at 0.97 GB.
PAGES_PER_BATCH = 4
# The decoding DuckDB connection's memory_limit, as a share of the budget (the destination's
# connection has 40 %).
DECODER_MEMORY_SHARE = 0.1
# librdkafka messages fetched per consume() call.
CONSUME_PAGE = 10_000

# (environment variable, dlt secrets key, librdkafka property)
_CLIENT_SETTINGS = [
    ("KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers", "bootstrap.servers"),
    ("KAFKA_SECURITY_PROTOCOL", "security_protocol", "security.protocol"),
    ("KAFKA_SASL_MECHANISM", "sasl_mechanism", "sasl.mechanism"),
    ("KAFKA_SASL_USERNAME", "sasl_username", "sasl.username"),
    ("KAFKA_SASL_PASSWORD", "sasl_password", "sasl.password"),
    ("KAFKA_SSL_CA_LOCATION", "ssl_ca_location", "ssl.ca.location"),
]


@dataclass(frozen=True)
class BatchLimits:
    """One micro-batch (one dlt load and one offset commit) ends at whichever comes first."""

    max_messages: int
    max_bytes: int
    max_seconds: float
    page_messages: int

    @classmethod
    def from_budget(
        cls,
        budget: MemoryBudget,
        max_messages: int | None = None,
        max_bytes: int | None = None,
        max_seconds: float | None = None,
    ) -> BatchLimits:
        """One page in decoding holds about 5 % of the budget; a batch is a few pages.

        Only one page is in memory at a time (dlt writes the decoded pages to files), so the
        batch limits bound the work one load and one offset commit cover, not memory.
        """
        page_messages = budget.rows_per_chunk(MESSAGE_WORKING_BYTES)
        if max_messages:
            page_messages = min(page_messages, max_messages)
        return cls(
            max_messages=max_messages or page_messages * PAGES_PER_BATCH,
            max_bytes=max_bytes or max(8 << 20, int(budget.total_bytes * 0.1)),
            max_seconds=max_seconds if max_seconds is not None else 2.0,
            page_messages=page_messages,
        )


def _secret(key: str) -> str | None:
    value = dlt.secrets.get(f"sources.{SOURCE_NAME}.{key}")
    return str(value) if value not in (None, "") else None


def client_config(bootstrap: str | None = None) -> dict[str, Any]:
    """librdkafka settings shared by the consumer, the generator and the admin calls.

    For Amazon MSK set ``KAFKA_SECURITY_PROTOCOL=SASL_SSL``, ``KAFKA_SASL_MECHANISM=SCRAM-SHA-512``
    and the user and password (or the same keys in ``secrets.toml``).
    """
    config: dict[str, Any] = {}
    for env_name, secret_key, prop in _CLIENT_SETTINGS:
        value = os.environ.get(env_name) or _secret(secret_key)
        if value:
            config[prop] = value
    if bootstrap:
        config["bootstrap.servers"] = bootstrap
    config.setdefault("bootstrap.servers", "127.0.0.1:9092")
    return config
