"""One memory budget for the whole process, and every setting derived from it.

ECS kills a task whose process tree goes over its hard limit, so Tripline starts from that
limit (``TRIPLINE_MEMORY_LIMIT``, else the container's cgroup limit, else 4 GB) and derives
DuckDB's buffer pool, its thread count and dlt's buffers from it in one place. The pipelines
and dbt's profile both read these numbers, so they can never disagree.

The arithmetic, for a budget B:

* DuckDB ``memory_limit`` = 40 % of B. DuckDB allocates a little outside its buffer pool
  (parsers, compression buffers), and one DuckDB instance runs at a time (extract, then load),
  so 40 % leaves room for Python, dlt and pyarrow (about 300 MB measured) under B.
* DuckDB ``threads`` = cores, but at most one thread per 512 MB of B: each scanning thread
  holds row groups and compression buffers of its own.
* dlt ``buffer_max_items`` = B / 40 KiB rows (about 100 k at 4 GB): dict rows cost 1-2 KB
  each in Python, so the buffer stays near 5 % of B.
* dlt ``file_max_bytes`` = B / 16 (256 MB at 4 GB), clamped to 16-512 MB: load files rotate
  before they grow large, so normalize and load work on bounded pieces.
* Arrow/SQL chunk rows for a row of S bytes = 5 % of B / S.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.core.errors import ConfigurationError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
DEFAULT_BUDGET_BYTES = 4 * GIB
# A cgroup "limit" this large means "no limit" (cgroup v1 writes PAGE_COUNTER_MAX).
_UNLIMITED_THRESHOLD = 1 << 60

_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {
    "": 1,
    "b": 1,
    "k": KIB,
    "kb": 1000,
    "kib": KIB,
    "m": MIB,
    "mb": 1000**2,
    "mib": MIB,
    "g": GIB,
    "gb": 1000**3,
    "gib": GIB,
    "t": 1024 * GIB,
    "tb": 1000**4,
    "tib": 1024 * GIB,
}


def parse_size(text: str) -> int:
    """Parse a human size such as ``4GB``, ``1.5GiB``, ``512m`` or ``1073741824`` into bytes.

    ``GB`` is treated like DuckDB and Docker treat it: as 1000**3 (``GiB`` is 1024**3).
    """
    match = _SIZE_PATTERN.match(text)
    if not match:
        raise ConfigurationError(
            f"cannot read memory size {text!r}: use a number with a unit, e.g. 4GB or 3500MiB"
        )
    number, unit = match.groups()
    unit_key = (unit or "").lower()
    if unit_key not in _UNIT_BYTES:
        raise ConfigurationError(f"unknown size unit in {text!r}: use B, KB, MB, GB or KiB…GiB")
    size = int(float(number) * _UNIT_BYTES[unit_key])
    if size < 256 * MIB:
        raise ConfigurationError(f"memory budget {text!r} is below the 256 MB Tripline needs")
    return size


def cgroup_memory_limit(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The memory limit of the container this process runs in, or ``None`` when unlimited.

    Reads cgroup v2 (``memory.max``) first, then cgroup v1 (``memory/memory.limit_in_bytes``),
    which is what ECS on Fargate and on EC2 respectively expose.
    """
    candidates = [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for candidate in candidates:
        try:
            raw = candidate.read_text().strip()
        except OSError:
            continue
        if raw == "max":
            return None
        try:
            value = int(raw)
        except ValueError:
            continue
        return None if value >= _UNLIMITED_THRESHOLD else value
    return None


@dataclass(frozen=True)
class MemoryBudget:
    """The process tree's memory budget and the settings derived from it."""

    total_bytes: int
    origin: str
    cpu_count: int

    @property
    def duckdb_memory_limit_bytes(self) -> int:
        return int(self.total_bytes * 0.40)

    @property
    def duckdb_memory_limit(self) -> str:
        """DuckDB's ``memory_limit`` setting, in whole MiB."""
        return f"{self.duckdb_memory_limit_bytes // MIB}MiB"

    @property
    def duckdb_threads(self) -> int:
        return max(1, min(self.cpu_count, self.total_bytes // (512 * MIB)))

    @property
    def buffer_max_items(self) -> int:
        return _clamp(self.total_bytes // (40 * KIB), 5_000, 200_000)

    @property
    def file_max_bytes(self) -> int:
        return _clamp(self.total_bytes // 16, 16 * MIB, 512 * MIB)

    def rows_per_chunk(self, row_bytes: int) -> int:
        """Rows per Arrow/SQL chunk so one chunk stays near 5 % of the budget."""
        return _clamp(int(self.total_bytes * 0.05) // max(row_bytes, 1), 1_000, 1_000_000)

    def describe(self) -> str:
        return (
            f"budget {self.total_bytes / GIB:.1f} GiB ({self.origin}): duckdb memory_limit "
            f"{self.duckdb_memory_limit}, threads {self.duckdb_threads}, dlt buffer "
            f"{self.buffer_max_items} items, files of {self.file_max_bytes // MIB} MiB"
        )


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def resolve_budget(
    environ: Mapping[str, str] | None = None, cgroup_root: Path = Path("/sys/fs/cgroup")
) -> MemoryBudget:
    """The budget in force: ``TRIPLINE_MEMORY_LIMIT``, else the cgroup limit, else 4 GB."""
    env = os.environ if environ is None else environ
    cpus = os.cpu_count() or 1
    explicit = env.get("TRIPLINE_MEMORY_LIMIT", "").strip()
    if explicit:
        return MemoryBudget(parse_size(explicit), "TRIPLINE_MEMORY_LIMIT", cpus)
    limit = cgroup_memory_limit(cgroup_root)
    if limit is not None:
        return MemoryBudget(limit, "container cgroup limit", cpus)
    return MemoryBudget(DEFAULT_BUDGET_BYTES, "default", cpus)
