"""Reading ahead: threads read and decode pages of the topic while earlier pages load.

Three stages run at once: a reader thread consumes messages into raw pages (Python work
per message), a decoder thread turns each raw page into Arrow tables in DuckDB, and the
caller's thread hands the tables to dlt and loads them. DuckDB releases the GIL, so on two
cores the stages overlap. Each queue holds at most ``depth`` pages, so reading ahead costs
a bounded amount of memory. Each page carries the next offset of every partition after it:
a batch that loads pages up to one of them covers exactly the messages before those
offsets, and pages read ahead but never loaded are simply read again by the next run.

The reader also keeps the run's offsets honest: a partition whose position fell out of the
log comes back from librdkafka as :class:`~ingestion.fleet_events.consumer.OutOfRange`; below
the low watermark the lost range travels with the page as a gap, above the high watermark
the run stops with one line. While following, it looks for partitions added to the topic
every ``discover_seconds`` and reads them from their low watermark.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from confluent_kafka import KafkaException, Message

from ingestion.core.errors import SourceError
from ingestion.core.logs import get_logger
from ingestion.fleet_events.consumer import EventConsumer
from ingestion.fleet_events.decode import RAW_SCHEMA, DecodedPage, PageDecoder
from ingestion.fleet_events.offsets import Gap, recreated_error, retention_gap

log = get_logger("fleet_events")

_POLL_SECONDS = 0.2


def reached(positions: dict[int, int], stop_at: dict[int, int] | None) -> bool:
    """Every partition is read up to its stop offset (never, when following: no stop)."""
    if stop_at is None:
        return False
    return all(positions.get(p, 0) >= high for p, high in stop_at.items())


@dataclass(frozen=True)
class RawPage:
    """Messages in ``RAW_SCHEMA`` columns and the partition positions just after them."""

    table: pa.Table
    positions: dict[int, int]
    size_bytes: int
    gaps: list[Gap]


@dataclass(frozen=True)
class Page:
    """A decoded page (None when it holds no message, only positions) and where it ends."""

    decoded: DecodedPage | None
    positions: dict[int, int]
    messages: int
    size_bytes: int
    gaps: list[Gap]


class _RawColumns:
    """The columns of one raw page, filled message by message."""

    def __init__(self) -> None:
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.timestamps: list[int] = []
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.gaps: list[Gap] = []
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
                pa.array(self.keys, pa.binary()),
                pa.array(self.values, pa.binary()),
            ],
            schema=RAW_SCHEMA,
        )


class Prefetcher:
    """Consumes and decodes on background threads into a bounded queue of :class:`Page`.

    Args:
        consumer: assigned to the start positions already; used by the reader thread only.
        decoder: used by the decoder thread only.
        positions: next offset per partition to read.
        stop_at: finite runs: the high watermarks seen at start (None: follow for ever).
        page_messages: a page is handed over at this many messages...
        flush_seconds: ...or this long after its first message (follow mode's latency).
        discover_seconds: following: look for added partitions this often (None: never).
        depth: pages that may wait in each of the two queues.
    """

    def __init__(
        self,
        consumer: EventConsumer,
        decoder: PageDecoder,
        positions: dict[int, int],
        stop_at: dict[int, int] | None,
        page_messages: int,
        flush_seconds: float,
        discover_seconds: float | None = None,
        depth: int = 2,
    ) -> None:
        self._consumer = consumer
        self._decoder = decoder
        self._positions = dict(positions)
        self._stop_at = stop_at
        self._page_messages = page_messages
        self._flush_seconds = flush_seconds
        self._discover_seconds = discover_seconds
        self._discovered = time.monotonic()
        self._raw: queue.Queue[RawPage | BaseException] = queue.Queue(maxsize=depth)
        self._ready: queue.Queue[Page | BaseException] = queue.Queue(maxsize=depth)
        self._closing = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, name="kafka-reader", daemon=True),
            threading.Thread(target=self._decode, name="page-decoder", daemon=True),
        ]

    def __enter__(self) -> Prefetcher:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        for thread in self._threads:
            thread.join()

    def next_page(self, timeout: float) -> Page | None:
        """The next page, or None when none came within ``timeout``; re-raises thread errors."""
        try:
            item = self._ready.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def _hand_over(self, to: queue.Queue[Any], item: object) -> bool:
        """Queue ``item``, waiting while the queue is full; False once closing."""
        while not self._closing.is_set():
            try:
                to.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        try:
            while not self._closing.is_set():
                try:
                    raw = self._raw.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(raw, BaseException):
                    self._hand_over(self._ready, raw)
                    return
                rows = raw.table.num_rows
                decoded = self._decoder.decode(raw.table) if rows else None
                page = Page(decoded, raw.positions, rows, raw.size_bytes, raw.gaps)
                if not self._hand_over(self._ready, page):
                    return
        except BaseException as error:  # handed to the loading thread, which raises it
            self._hand_over(self._ready, error)

    def _page(self, raw: _RawColumns) -> RawPage:
        return RawPage(raw.table(), dict(self._positions), raw.size_bytes, raw.gaps)

    def _read(self) -> None:
        try:
            raw = _RawColumns()
            while not self._closing.is_set():
                if reached(self._positions, self._stop_at):
                    self._hand_over(self._raw, self._page(raw))  # maybe only positions
                    return
                messages, lost = self._consumer.page(timeout=_POLL_SECONDS)
                if not len(raw) and not raw.gaps:
                    raw.started = time.monotonic()
                for out_of_range in lost:
                    self._out_of_range(out_of_range.partition, raw)
                if messages:
                    self._take(messages, raw)
                elif self._stop_at is not None:
                    self._skip_gaps()
                self._discover()
                full = len(raw) >= self._page_messages
                waiting = len(raw) > 0 or bool(raw.gaps)
                due = waiting and time.monotonic() - raw.started >= self._flush_seconds
                if full or due:
                    if not self._hand_over(self._raw, self._page(raw)):
                        return
                    raw = _RawColumns()
        except BaseException as error:  # passed on to the loading thread, which raises it
            self._hand_over(self._raw, error)

    def _take(self, messages: list[Message], raw: _RawColumns) -> None:
        """Append the messages the run covers; the hot loop of a run, so kept flat."""
        positions, stop_at = self._positions, self._stop_at
        partitions, offsets = raw.partitions, raw.offsets
        timestamps, keys, values = raw.timestamps, raw.keys, raw.values
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
            keys.append(message.key())
            values.append(value)
            size += len(value) if value else 0
        raw.size_bytes += size

    def _skip_gaps(self) -> None:
        """Offsets without a message (transaction markers, compaction) still end a partition."""
        assert self._stop_at is not None
        for partition, offset in self._consumer.app_positions(list(self._stop_at)).items():
            if offset > self._positions.get(partition, 0):
                self._positions[partition] = min(offset, self._stop_at[partition])

    def _out_of_range(self, partition: int, raw: _RawColumns) -> None:
        """The fetch position left the log: record what retention took, or refuse."""
        position = self._positions.get(partition, 0)
        low, high = self._consumer.watermarks(partition)
        if position > high:
            raise recreated_error(self._consumer.topic, partition, position, high)
        gap = retention_gap(partition, position, low)
        if gap is not None:
            gap.warn(self._consumer.topic)
            raw.gaps.append(gap)
        self._positions[partition] = max(position, low)
        self._consumer.restart_at(partition, self._positions[partition])

    def _discover(self) -> None:
        """Following: read partitions added to the topic since the last look."""
        if self._discover_seconds is None:
            return
        if time.monotonic() - self._discovered < self._discover_seconds:
            return
        self._discovered = time.monotonic()
        try:
            added = [p for p in self._consumer.partitions() if p not in self._positions]
            start = {p: self._consumer.watermarks(p)[0] for p in added}
        except (SourceError, KafkaException) as error:  # the broker is away: look next time
            log.debug("fleet_events: partition discovery skipped (%s)", error)
            return
        if not start:
            return
        log.info("fleet_events: %s gained partitions %s, reading them", self._consumer.topic, start)
        self._positions.update(start)
        self._consumer.add_partitions(start)
