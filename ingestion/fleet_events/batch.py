"""One micro-batch: the pages one dlt load and one offset commit cover."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingestion.fleet_events.decode import DecodedPage
from ingestion.fleet_events.offsets import Gap
from ingestion.fleet_events.prefetch import Page, Prefetcher, reached
from ingestion.fleet_events.settings import BatchLimits


@dataclass
class BatchCounts:
    """What one batch (or a whole run) consumed; messages = valid + dead letters + tombstones.

    ``lost`` counts the messages in ``gaps``: offsets stepped over, never read.
    """

    messages: int = 0
    valid: int = 0
    dead_letters: int = 0
    tombstones: int = 0
    bytes: int = 0
    gaps: int = 0
    lost: int = 0

    def add(self, other: BatchCounts) -> None:
        self.messages += other.messages
        self.valid += other.valid
        self.dead_letters += other.dead_letters
        self.tombstones += other.tombstones
        self.bytes += other.bytes
        self.gaps += other.gaps
        self.lost += other.lost


@dataclass
class Batch:
    """Raw pages until a limit, the stop offsets or a stop request.

    ``positions`` (next offset per partition) advances only over pages handed out, so it is
    exactly what the batch's load covers; ``gaps`` are the offsets it stepped over unread
    (the start plan's first, then those found while reading), loaded with it.
    """

    topic: str
    prefetcher: Prefetcher
    positions: dict[int, int]
    limits: BatchLimits
    stop_at: dict[int, int] | None = None  # finite runs: the high watermarks seen at start
    stop_requested: threading.Event = field(default_factory=threading.Event)
    first_page: Page | None = None
    counts: BatchCounts = field(default_factory=BatchCounts)
    gaps: list[Gap] = field(default_factory=list)

    def take_gaps(self, gaps: list[Gap]) -> None:
        self.gaps.extend(gaps)
        self.counts.gaps += len(gaps)
        self.counts.lost += sum(gap.messages for gap in gaps)

    @property
    def finished(self) -> bool:
        """A finite run has read every partition up to its stop offset."""
        return reached(self.positions, self.stop_at)

    def _full(self, started: float) -> bool:
        return (
            self.counts.messages >= self.limits.max_messages
            or self.counts.bytes >= self.limits.max_bytes
            or (self.stop_at is None and time.monotonic() - started >= self.limits.max_seconds)
        )

    def pages(self) -> Iterator[DecodedPage]:
        """The batch's decoded pages, in order."""
        started = time.monotonic()
        page, self.first_page = self.first_page, None
        while True:
            if page is not None:
                self.positions = page.positions
                self.counts.messages += page.messages
                self.counts.bytes += page.size_bytes
                self.take_gaps(page.gaps)
                if page.decoded is not None:
                    yield page.decoded
            if self.finished or self._full(started) or self.stop_requested.is_set():
                return
            page = self.prefetcher.next_page(timeout=0.5)
