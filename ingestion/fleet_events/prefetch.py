"""Reading ahead: a thread turns the topic into raw pages while the previous ones load.

Consuming is Python work per message (about half of a run's CPU), decoding and loading are
DuckDB work that releases the GIL; on two cores the two overlap. The queue holds at most
``depth`` pages, so reading ahead costs a bounded amount of memory. Each page carries the
next offset of every partition after it: a batch that loads pages up to one of them covers
exactly the messages before those offsets, and pages read ahead but never loaded are
simply read again by the next run.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
from confluent_kafka import Message

from ingestion.fleet_events.consumer import EventConsumer
from ingestion.fleet_events.decode import RAW_SCHEMA

_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class RawPage:
    """Messages in ``RAW_SCHEMA`` columns and the partition positions just after them."""

    table: pa.Table
    positions: dict[int, int]
    size_bytes: int


class _RawColumns:
    """The columns of one raw page, filled message by message."""

    def __init__(self) -> None:
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.timestamps: list[int] = []
        self.values: list[bytes | None] = []
        self.size_bytes = 0
        self.started = time.monotonic()

    def __len__(self) -> int:
        return len(self.offsets)

    def table(self) -> pa.Table:
        return pa.table(
            [
                pa.array(self.partitions, pa.int32()),
                pa.array(self.offsets, pa.int64()),
                pa.array(self.timestamps, pa.int64()),
                pa.array(self.values, pa.binary()),
            ],
            schema=RAW_SCHEMA,
        )


class Prefetcher:
    """Consumes on a background thread into a bounded queue of :class:`RawPage`.

    Args:
        consumer: assigned to the start positions already; used by this thread only.
        positions: next offset per partition to read.
        stop_at: finite runs: the high watermarks seen at start (None: follow for ever).
        page_messages: a page is handed over at this many messages...
        flush_seconds: ...or this long after its first message (follow mode's latency).
        depth: pages that may wait in the queue.
    """

    def __init__(
        self,
        consumer: EventConsumer,
        positions: dict[int, int],
        stop_at: dict[int, int] | None,
        page_messages: int,
        flush_seconds: float,
        depth: int = 2,
    ) -> None:
        self._consumer = consumer
        self._positions = dict(positions)
        self._stop_at = stop_at
        self._page_messages = page_messages
        self._flush_seconds = flush_seconds
        self._pages: queue.Queue[RawPage | BaseException] = queue.Queue(maxsize=depth)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-prefetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join()

    def next_page(self, timeout: float) -> RawPage | None:
        """The next page, or None when none came within ``timeout``; re-raises read errors."""
        try:
            item = self._pages.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def _finished(self) -> bool:
        if self._stop_at is None:
            return False
        return all(self._positions.get(p, 0) >= high for p, high in self._stop_at.items())

    def _hand_over(self, item: RawPage | BaseException) -> bool:
        """Queue ``item``, waiting while the queue is full; False once closing."""
        while not self._closing.is_set():
            try:
                self._pages.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _page(self, raw: _RawColumns) -> RawPage:
        return RawPage(raw.table(), dict(self._positions), raw.size_bytes)

    def _run(self) -> None:
        try:
            raw = _RawColumns()
            while not self._closing.is_set():
                if self._finished():
                    self._hand_over(self._page(raw))  # the last page (maybe only positions)
                    return
                messages = self._consumer.page(timeout=_POLL_SECONDS)
                if not len(raw):
                    raw.started = time.monotonic()
                if messages:
                    self._take(messages, raw)
                elif self._stop_at is not None:
                    self._skip_gaps()
                full = len(raw) >= self._page_messages
                due = len(raw) > 0 and time.monotonic() - raw.started >= self._flush_seconds
                if full or due:
                    if not self._hand_over(self._page(raw)):
                        return
                    raw = _RawColumns()
        except BaseException as error:  # handed to the loading thread, which raises it
            self._hand_over(error)

    def _take(self, messages: list[Message], raw: _RawColumns) -> None:
        """Append the messages the run covers; the hot loop of a run, so kept flat."""
        positions, stop_at = self._positions, self._stop_at
        partitions, offsets = raw.partitions, raw.offsets
        timestamps, values = raw.timestamps, raw.values
        size = 0
        for message in messages:
            # Both are set on every message consume() returns without an error.
            partition: int = message.partition()  # type: ignore[assignment]
            offset: int = message.offset()  # type: ignore[assignment]
            if stop_at is not None and offset >= stop_at.get(partition, 0):
                continue  # written after this run started: the next run takes it
            if offset < positions.get(partition, 0):
                continue  # already covered (a re-delivery after reconnecting)
            positions[partition] = offset + 1
            value = message.value()
            partitions.append(partition)
            offsets.append(offset)
            timestamps.append(message.timestamp()[1])
            values.append(value)
            size += len(value) if value else 0
        raw.size_bytes += size

    def _skip_gaps(self) -> None:
        """Offsets without a message (transaction markers, compaction) still end a partition."""
        assert self._stop_at is not None
        for partition, offset in self._consumer.app_positions(list(self._stop_at)).items():
            if offset > self._positions.get(partition, 0):
                self._positions[partition] = min(offset, self._stop_at[partition])
