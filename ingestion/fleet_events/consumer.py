"""The Kafka side of a run: where each partition starts and stops, and bounded batches.

Tripline assigns every partition of the topic explicitly (no group rebalancing) and seeks to
the offsets kept in dlt state, which the destination commits together with the data. The
consumer group's committed offsets are written only after a load succeeded; they serve lag
monitoring and other tools, never as the starting point, so a crash replays and never skips.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ingestion.core.errors import SourceError
from ingestion.core.logs import get_logger
from ingestion.fleet_events.settings import CONSUME_PAGE, BatchLimits

log = get_logger("fleet_events")
_METADATA_TIMEOUT = 15.0


class EventConsumer:
    """A confluent-kafka consumer with manual assignment and manual commits."""

    def __init__(self, config: dict[str, Any], topic: str, group: str) -> None:
        self.topic = topic
        self._config, self._group = config, group
        self._committer: Consumer | None = None
        self._consumer = Consumer(
            {
                **config,
                "group.id": group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                # Bound librdkafka's prefetch queue: 32 MB per partition at most.
                "queued.max.messages.kbytes": 32_768,
                "log_level": 3,
            }
        )

    def partitions(self) -> list[int]:
        """The topic's partition ids; a one-line error when the broker or topic is missing."""
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=_METADATA_TIMEOUT)
        except KafkaException as error:
            raise SourceError(
                f"Kafka broker unreachable ({error.args[0].str()}): check KAFKA_BOOTSTRAP_SERVERS"
            ) from error
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise SourceError(
                f"Kafka topic {self.topic} does not exist: produce events first "
                "(tripline generate fleet-events)"
            )
        return sorted(topic.partitions)

    def watermarks(self, partition: int) -> tuple[int, int]:
        """(low, high) offsets: the first retained message and the next offset to be written."""
        low, high = self._consumer.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=_METADATA_TIMEOUT, cached=False
        )
        return int(low), int(high)

    def assign(self, positions: dict[int, int]) -> None:
        self._consumer.assign(
            [TopicPartition(self.topic, p, offset) for p, offset in positions.items()]
        )

    def page(self, timeout: float) -> list[Message]:
        """Up to ``CONSUME_PAGE`` messages; transient broker errors are logged and skipped."""
        messages = self._consumer.consume(CONSUME_PAGE, timeout)
        good: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.fatal():
                raise SourceError(f"Kafka consumer failed: {error.str()}")
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("kafka: %s (retrying)", error.str())
        return good

    def app_positions(self, partitions: list[int]) -> dict[int, int]:
        """The next offset consume() would return per partition (skips control records)."""
        found = self._consumer.position([TopicPartition(self.topic, p) for p in partitions])
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}

    def commit(self, positions: dict[int, int]) -> bool:
        """Commit ``positions`` to the consumer group; False (logged) if the broker is away.

        Commits go through a separate client that is thrown away after a failure: after a
        broker restart librdkafka could keep a consumer waiting for the group coordinator for
        minutes (measured here), while a new client finds it at once. Its short session
        timeout bounds how long a failing commit blocks the batch loop.
        """
        offsets = [TopicPartition(self.topic, p, offset) for p, offset in positions.items()]
        if self._committer is None:
            self._committer = Consumer(
                {
                    **self._config,
                    "group.id": self._group,
                    "enable.auto.commit": False,
                    "session.timeout.ms": 6_000,
                    "log_level": 3,
                }
            )
        try:
            self._committer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            log.warning("kafka: offset commit to the group failed (%s); state keeps them", error)
            self._committer.close()
            self._committer = None
            return False
        return True

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        self._consumer.close()


@dataclass
class BatchCounts:
    """What one batch (or a whole run) consumed; messages = valid + dead letters."""

    messages: int = 0
    valid: int = 0
    dead_letters: int = 0
    duplicates_in_batch: int = 0
    bytes: int = 0

    def add(self, other: BatchCounts) -> None:
        self.messages += other.messages
        self.valid += other.valid
        self.dead_letters += other.dead_letters
        self.duplicates_in_batch += other.duplicates_in_batch
        self.bytes += other.bytes


@dataclass
class Batch:
    """One micro-batch: pages of messages until a limit, the stop offsets or a stop request.

    ``positions`` (next offset per partition) advances only over messages handed out, so it
    is exactly what the batch's load covers.
    """

    consumer: EventConsumer
    positions: dict[int, int]
    limits: BatchLimits
    stop_at: dict[int, int] | None = None  # finite runs: the high watermarks seen at start
    stop_requested: threading.Event = field(default_factory=threading.Event)
    first_page: list[Message] = field(default_factory=list)
    counts: BatchCounts = field(default_factory=BatchCounts)

    @property
    def finished(self) -> bool:
        """A finite run has read every partition up to its stop offset."""
        if self.stop_at is None:
            return False
        return all(self.positions.get(p, 0) >= high for p, high in self.stop_at.items())

    def _full(self, started: float) -> bool:
        return (
            self.counts.messages >= self.limits.max_messages
            or self.counts.bytes >= self.limits.max_bytes
            or (self.stop_at is None and time.monotonic() - started >= self.limits.max_seconds)
        )

    def _keep(self, message: Message) -> bool:
        partition, offset = message.partition(), message.offset()
        if self.stop_at is not None and offset >= self.stop_at.get(partition, 0):
            return False  # written after this run started: the next run takes it
        if offset < self.positions.get(partition, 0):
            return False  # already covered (a re-delivery after reconnecting)
        self.positions[partition] = offset + 1
        self.counts.messages += 1
        self.counts.bytes += len(message.value() or b"")
        return True

    def pages(self) -> Iterator[list[Message]]:
        started = time.monotonic()
        page, self.first_page = self.first_page, []
        while True:
            kept = [m for m in page if self._keep(m)]
            if kept:
                yield kept
            if self.finished or self._full(started) or self.stop_requested.is_set():
                return
            page = self.consumer.page(timeout=0.5)
            if not page and self.stop_at is not None:
                self._skip_gaps()

    def _skip_gaps(self) -> None:
        """Offsets without a message (transaction markers, compaction) still end a partition."""
        assert self.stop_at is not None
        for partition, offset in self.consumer.app_positions(list(self.stop_at)).items():
            if offset > self.positions.get(partition, 0):
                self.positions[partition] = min(offset, self.stop_at[partition])
