"""Where a run starts on each partition, and the offsets it could not read (gaps).

The stored offset of a partition (dlt state, committed with the rows) is where the next run
reads on. Three things can make it wrong, and none may pass silently:

* retention deleted messages before they were read (stored < low watermark): the run reads
  on from the low watermark and records the lost range as a :class:`Gap`;
* the topic was deleted and created again (stored > high watermark): the run refuses in one
  line until the operator chooses ``--reset-offsets earliest`` (read the new topic from its
  start) or ``latest`` (skip what it holds, recorded as a gap);
* a partition is new (no stored offset): it is read from its low watermark.

Gaps go to ``raw_fleet_events.offset_gaps`` in the same load as the offsets that step over
them, a warning names each, and the run summary counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ingestion.core.errors import SourceError
from ingestion.core.logs import get_logger

log = get_logger("fleet_events")

ResetChoice = Literal["earliest", "latest"]
RESET_CHOICES: tuple[ResetChoice, ...] = ("earliest", "latest")
RETENTION = "deleted by retention before it was read"
RESET_LATEST = "skipped by --reset-offsets latest"


@dataclass(frozen=True)
class Gap:
    """Offsets ``first_offset..last_offset`` (inclusive) of a partition that were not read."""

    partition: int
    first_offset: int
    last_offset: int
    reason: str
    detected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def messages(self) -> int:
        return self.last_offset - self.first_offset + 1

    def warn(self, topic: str) -> None:
        log.warning(
            "fleet_events: %s partition %d offsets %d..%d (%d messages) %s",
            topic,
            self.partition,
            self.first_offset,
            self.last_offset,
            self.messages,
            self.reason,
        )

    def row(self, topic: str) -> dict[str, object]:
        return {
            "topic": topic,
            "partition": self.partition,
            "first_offset": self.first_offset,
            "last_offset": self.last_offset,
            "messages": self.messages,
            "reason": self.reason,
            "detected_at": self.detected_at,
        }


def retention_gap(partition: int, position: int, low: int) -> Gap | None:
    """The messages below the low watermark a reader at ``position`` never got."""
    return Gap(partition, position, low - 1, RETENTION) if position < low else None


def recreated_error(topic: str, partition: int, stored: int, high: int) -> SourceError:
    return SourceError(
        f"Kafka topic {topic} partition {partition}: stored offset {stored} is above the high "
        f"watermark {high} (topic recreated?); rerun with --reset-offsets earliest or latest"
    )


@dataclass
class StartPlan:
    """The start offset of every partition, the gaps this implies and any reset applied."""

    positions: dict[int, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    resets: dict[int, str] = field(default_factory=dict)


def plan_start(
    topic: str,
    stored: dict[int, int],
    partitions: Iterable[int],
    watermarks: Callable[[int], tuple[int, int]],
    reset: ResetChoice | None = None,
) -> StartPlan:
    """Start offsets from the stored ones and the broker's watermarks (see the module doc).

    With ``reset`` every partition starts at its low (``earliest``) or high (``latest``)
    watermark, whatever is stored: the operator's explicit choice.
    """
    plan = StartPlan()
    for partition in partitions:
        low, high = watermarks(partition)
        if reset == "earliest":
            plan.positions[partition] = low
            plan.resets[partition] = f"{stored.get(partition, '-')} -> {low}"
            continue
        if reset == "latest":
            plan.positions[partition] = high
            plan.resets[partition] = f"{stored.get(partition, '-')} -> {high}"
            if high > low:
                plan.gaps.append(Gap(partition, low, high - 1, RESET_LATEST))
            continue
        if partition not in stored:
            plan.positions[partition] = low
            continue
        position = stored[partition]
        if position > high:
            raise recreated_error(topic, partition, position, high)
        gap = retention_gap(partition, position, low)
        if gap is not None:
            plan.gaps.append(gap)
        plan.positions[partition] = max(position, low)
    return plan
