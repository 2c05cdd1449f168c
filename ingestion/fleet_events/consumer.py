"""The Kafka client of a run: partitions, watermarks, assignment, pages and commits.

Tripline assigns every partition of the topic explicitly (no group rebalancing) and seeks to
the offsets kept in dlt state, which the destination commits together with the data. The
consumer group's committed offsets are written only after a load succeeded; they serve lag
monitoring and other tools, never as the starting point, so a crash replays and never skips.
One consumer at a time is guaranteed by the consumer lease (``ingestion.fleet_events.pipeline``),
not by the group.

``auto.offset.reset`` is ``error``: when a fetch position falls out of the log (retention
deleted messages not yet read, or the topic was recreated), librdkafka reports it instead of
jumping, and :meth:`EventConsumer.page` hands it back as an :class:`OutOfRange` so the run
records the gap or refuses, never moves on silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ingestion.core.errors import SourceError
from ingestion.core.logs import get_logger
from ingestion.fleet_events.settings import CONSUME_PAGE

log = get_logger("fleet_events")
_METADATA_TIMEOUT = 15.0


@dataclass(frozen=True)
class OutOfRange:
    """librdkafka found a partition's fetch position outside the log."""

    partition: int


class EventConsumer:
    """A confluent-kafka consumer with manual assignment and manual commits."""

    def __init__(self, config: dict[str, Any], topic: str, group: str) -> None:
        self.topic = topic
        self._config, self._group = config, group
        self._committer: Consumer | None = None
        self._last_error = ""
        self._consumer = Consumer(
            {
                **config,
                # librdkafka's own log lines would reach stderr unformatted: its errors come
                # through error_cb instead, and the last one goes into the one-line error.
                "log_level": 0,
                "error_cb": self._on_error,
                "group.id": group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                # Never jump: an offset outside the log comes back as an error we handle.
                "auto.offset.reset": "error",
                # Bound librdkafka's prefetch queue: 32 MB per partition at most.
                "queued.max.messages.kbytes": 32_768,
            }
        )

    def _on_error(self, error: KafkaError) -> None:
        self._last_error = str(error.str())
        log.debug("kafka: %s", self._last_error)

    def partitions(self) -> list[int]:
        """The topic's partition ids; a one-line error when the broker or topic is missing."""
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=_METADATA_TIMEOUT)
        except KafkaException as error:
            self._consumer.poll(0)  # serves error_cb: why the broker could not be reached
            cause = self._last_error or error.args[0].str()
            raise SourceError(
                f"Kafka broker unreachable ({cause}): check KAFKA_BOOTSTRAP_SERVERS and the "
                "security settings (docs/kafka.md)"
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

    def add_partitions(self, positions: dict[int, int]) -> None:
        """Start reading more partitions (added to the topic while following)."""
        self._consumer.incremental_assign(
            [TopicPartition(self.topic, p, offset) for p, offset in positions.items()]
        )

    def restart_at(self, partition: int, offset: int) -> None:
        """Fetch ``partition`` from ``offset`` again (after an out-of-range error librdkafka
        stops the partition, and ``seek`` is refused in that state)."""
        self._consumer.incremental_unassign([TopicPartition(self.topic, partition)])
        self._consumer.incremental_assign([TopicPartition(self.topic, partition, offset)])

    def page(self, timeout: float) -> tuple[list[Message], list[OutOfRange]]:
        """Up to ``CONSUME_PAGE`` messages and the partitions whose position left the log.

        Transient broker errors are logged and skipped.
        """
        messages = self._consumer.consume(CONSUME_PAGE, timeout)
        good: list[Message] = []
        lost: list[OutOfRange] = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.code() == KafkaError._AUTO_OFFSET_RESET:
                lost.append(OutOfRange(int(message.partition() or 0)))
            elif error.fatal():
                raise SourceError(f"Kafka consumer failed: {error.str()}")
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("kafka: %s (retrying)", error.str())
        return good, lost

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
