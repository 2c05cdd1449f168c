"""One real Apache Kafka broker for the whole test session (or ``KAFKA_BOOTSTRAP_SERVERS``).

Its certificates are made here with the JDK's ``keytool``, so the same broker also serves
SASL_SSL (SCRAM-SHA-512) and mutual TLS for the security tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers.kafka_broker import (
    KafkaBroker,
    make_tls_material,
    missing_requirement,
    running_broker,
)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    reason = missing_requirement()
    if reason and not _external():
        pytest.fail(f"cannot start Kafka: {reason}")
    work: Path = tmp_path_factory.mktemp("kafka")
    tls = None if _external() else make_tls_material(work / "tls")
    with running_broker(work, tls=tls) as broker:
        yield broker


def _external() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip())


@pytest.fixture
def topic() -> str:
    """A topic of its own for each test, so tests never see each other's events."""
    return f"fleet.trip-events.test-{uuid.uuid4().hex[:8]}"
