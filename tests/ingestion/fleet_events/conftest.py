"""One real Apache Kafka broker for the whole test session (or ``KAFKA_BOOTSTRAP_SERVERS``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers.kafka_broker import KafkaBroker, missing_requirement, running_broker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    reason = missing_requirement()
    if reason and not _external():
        pytest.fail(f"cannot start Kafka: {reason}")
    work: Path = tmp_path_factory.mktemp("kafka")
    with running_broker(work) as broker:
        yield broker


def _external() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip())


@pytest.fixture
def topic() -> str:
    """A topic of its own for each test, so tests never see each other's events."""
    return f"fleet.trip-events.test-{uuid.uuid4().hex[:8]}"
