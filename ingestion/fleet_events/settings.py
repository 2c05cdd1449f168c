"""Names, limits and the Kafka consumer configuration of the ``fleet_events`` pipeline.

Connection settings come from the environment (as ECS passes them) or from dlt's
``secrets.toml`` under ``[sources.fleet_events]``; secrets are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration, configspec
from dlt.common.typing import TSecretStrValue

from ingestion.core.budget import MemoryBudget
from ingestion.core.errors import ConfigurationError

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


@configspec
class KafkaClientConfiguration(BaseConfiguration):
    """The librdkafka client settings, from dlt's providers (as dlt's Kafka source has them).

    Keys live under ``[sources.fleet_events]`` in ``secrets.toml`` / ``config.toml`` or in the
    environment as ``SOURCES__FLEET_EVENTS__<KEY>``; the passwords are secret values, never
    logged. ``properties`` carries any other librdkafka property (a TOML table, or JSON in
    ``SOURCES__FLEET_EVENTS__PROPERTIES``), e.g. ``{"ssl.endpoint.identification.algorithm":
    "https"}``; its values are treated as secrets too.
    """

    bootstrap_servers: str | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: TSecretStrValue | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: TSecretStrValue | None = None
    ssl_keystore_location: str | None = None
    ssl_keystore_password: TSecretStrValue | None = None
    properties: dict[str, Any] | None = None

    def librdkafka(self) -> dict[str, Any]:
        """The set fields as librdkafka properties (``sasl_username`` -> ``sasl.username``)."""
        config: dict[str, Any] = {}
        for name in self.get_resolvable_fields():
            value = getattr(self, name)
            if name != "properties" and value not in (None, ""):
                config[name.replace("_", ".")] = str(value)
        config.update({str(k): v for k, v in (self.properties or {}).items()})
        return config


# The environment names ECS passes (deploy/ecs/task-fleet-events.json); they win over dlt's.
ENV_ALIASES = {
    "KAFKA_BOOTSTRAP_SERVERS": "bootstrap.servers",
    "KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "KAFKA_SASL_USERNAME": "sasl.username",
    "KAFKA_SASL_PASSWORD": "sasl.password",
    "KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _hosts(bootstrap: str) -> list[str]:
    hosts = []
    for server in bootstrap.split(","):
        server = server.strip().split("://")[-1]
        host = server.rsplit(":", 1)[0] if server.count(":") == 1 or "]" in server else server
        hosts.append(host.strip("[]") if host.startswith("[") else host)
    return [host for host in hosts if host]


def check_transport(config: Mapping[str, Any]) -> None:
    """Refuse SASL over an unencrypted connection to anything but this machine.

    ``SASL_PLAINTEXT`` sends the SCRAM exchange (and PLAIN's password) in the clear; it is
    only allowed to 127.0.0.1 / localhost, as the tests' broker is.
    """
    protocol = str(config.get("security.protocol", "PLAINTEXT")).upper()
    if protocol != "SASL_PLAINTEXT":
        return
    remote = [h for h in _hosts(str(config["bootstrap.servers"])) if h not in _LOOPBACK]
    if remote:
        raise ConfigurationError(
            f"Kafka security.protocol SASL_PLAINTEXT would send credentials unencrypted to "
            f"{', '.join(remote)}: use SASL_SSL (KAFKA_SECURITY_PROTOCOL=SASL_SSL)"
        )


def client_config(bootstrap: str | None = None) -> dict[str, Any]:
    """librdkafka settings shared by the consumer, the generator and the admin calls.

    dlt's providers first (:class:`KafkaClientConfiguration`), then the ``KAFKA_*`` variables,
    then ``bootstrap`` (the CLI's ``--bootstrap``). For Amazon MSK set
    ``KAFKA_SECURITY_PROTOCOL=SASL_SSL``, ``KAFKA_SASL_MECHANISM=SCRAM-SHA-512``, the user and
    password and, if the image's CA bundle is not the default, ``KAFKA_SSL_CA_LOCATION``
    (docs/fleet_events.md). Raises :class:`ConfigurationError` for SASL in the clear to a
    remote broker.
    """
    spec = resolve_configuration(
        KafkaClientConfiguration(), sections=("sources", SOURCE_NAME), accept_partial=True
    )
    config = spec.librdkafka()
    for env_name, prop in ENV_ALIASES.items():
        value = os.environ.get(env_name)
        if value:
            config[prop] = value
    if bootstrap:
        config["bootstrap.servers"] = bootstrap
    config.setdefault("bootstrap.servers", "127.0.0.1:9092")
    check_transport(config)
    return config
