"""Calendar months as the TLC names its files (``2024-01``) and ranges of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ingestion.core.errors import ConfigurationError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ConfigurationError(f"bad month {text!r}: use YYYY-MM, e.g. 2024-01")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month_range(text: str) -> list[Month]:
    """``2024-01:2024-03`` → January, February and March 2024; ``2024-05`` → May alone."""
    first_text, _, last_text = text.partition(":")
    first = Month.parse(first_text)
    last = Month.parse(last_text) if last_text else first
    if last < first:
        raise ConfigurationError(f"bad month range {text!r}: the end comes before the start")
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
    return months
