"""One memory budget for the whole process, and every setting derived from it.

ECS kills a task whose process tree goes over its hard limit, so Tripline starts from that
limit (``TRIPLINE_MEMORY_LIMIT``, else the container's cgroup limit, else 4 GB) and derives
DuckDB's buffer pool, its thread count and dlt's buffers from it in one place. The pipelines
and dbt's profile both read these numbers, so they can never disagree.

The arithmetic, for a budget B:

* DuckDB ``memory_limit`` = 40 % of B. DuckDB allocates a little outside its buffer pool
  (parsers, compression buffers), and one DuckDB instance runs at a time (extract, then load),
  so 40 % leaves room for Python, dlt and pyarrow (about 300 MB measured) under B.
* DuckDB ``threads`` = the CPUs the container may use, but at most one thread per 512 MB of
  B: each scanning thread holds row groups and compression buffers of its own. The CPUs are
  the cgroup's CPU quota (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``
  in v1, rounded up), not ``os.cpu_count()``: a Fargate task of 1 vCPU can see more cores
  than its quota lets it use, and threads beyond the quota only take turns.
* dlt ``buffer_max_items`` = B / 40 KiB rows (about 100 k at 4 GB): dict rows cost 1-2 KB
  each in Python, so the buffer stays near 5 % of B.
* dlt ``file_max_bytes`` = B / 16 (256 MB at 4 GB), clamped to 16-512 MB: load files rotate
  before they grow large, so normalize and load work on bounded pieces.
* Arrow/SQL chunk rows for a row of S bytes = 5 % of B / S.
"""

from __future__ import annotations

import math
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


_PROC_SELF = Path("/proc/self")
_FS_ROOT = Path("/")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class _CgroupMount:
    """Where one cgroup hierarchy is mounted: ``root`` (a cgroup path) appears at ``point``."""

    root: str
    point: Path


def _unescape(field: str) -> str:
    """Mount fields escape spaces, tabs, newlines and backslashes as octal (``\\040``)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def _cpu_mounts(mountinfo: str) -> tuple[_CgroupMount | None, _CgroupMount | None]:
    """The cgroup v1 mount carrying the ``cpu`` controller and the cgroup v2 mount, if any."""
    v1 = v2 = None
    for line in mountinfo.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        mount = _CgroupMount(_unescape(fields[3]), Path(_unescape(fields[4])))
        if tail[0] == "cgroup" and "cpu" in tail[2].split(",") and v1 is None:
            v1 = mount
        elif tail[0] == "cgroup2" and v2 is None:
            v2 = mount
    return v1, v2


def _own_cgroups(text: str) -> tuple[str | None, str | None]:
    """This process's cgroup path in the v1 ``cpu`` hierarchy and in the v2 hierarchy."""
    v1 = v2 = None
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v1, v2


def _cgroup_dirs(path: str, mount: _CgroupMount, fs_root: Path) -> list[Path]:
    """The folder of ``path`` under ``mount`` and each parent up to the mount point.

    Inside a container the mount's root is usually the container's own cgroup (or a cgroup
    namespace makes the path ``/``); either way the path is taken relative to that root, and
    a path outside it (not visible from here) falls back to the mount point itself.
    """
    point = fs_root / str(mount.point).lstrip("/")
    root = mount.root.rstrip("/")
    relative = path[len(root) :] if path == root or path.startswith(root + "/") else ""
    folder = point / relative.lstrip("/")
    if not folder.is_dir():
        folder = point
    folders = [folder]
    while folder != point and point in folder.parents:
        folder = folder.parent
        folders.append(folder)
    return folders


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v1_quota(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = int(quota or "-1"), int(period or "0")
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _v2_quota(folder: Path) -> float | None:
    fields = (_read(folder / "cpu.max") or "max").split()
    try:
        return int(fields[0]) / int(fields[1]) if fields[0] != "max" and len(fields) > 1 else None
    except (ValueError, ZeroDivisionError):
        return None


def cgroup_cpu_limit(proc_self: Path = _PROC_SELF, fs_root: Path = _FS_ROOT) -> float | None:
    """The CPUs this process's cgroup quota allows (e.g. ``1.5``), or ``None`` when unlimited.

    Finds the process's cgroup through ``/proc/self/cgroup`` and its mount through
    ``/proc/self/mountinfo``, then takes the smallest quota of that cgroup and its parents
    visible from here: cgroup v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``) before v2
    (``cpu.max``), because on a hybrid host the ``cpu`` controller lives in v1. ``fs_root``
    prefixes every mount point, so tests can lay out fake files.
    """
    own_text = _read(proc_self / "cgroup")
    if own_text is None:
        return None
    own_v1, own_v2 = _own_cgroups(own_text)
    mountinfo = _read(proc_self / "mountinfo")
    mount_v1: _CgroupMount | None = _CgroupMount("/", Path("/sys/fs/cgroup/cpu"))
    mount_v2: _CgroupMount | None = _CgroupMount("/", Path("/sys/fs/cgroup"))
    if mountinfo is not None:  # else the usual mount points
        mount_v1, mount_v2 = _cpu_mounts(mountinfo)
    if own_v1 is not None and mount_v1 is not None:
        quotas = [_v1_quota(f) for f in _cgroup_dirs(own_v1, mount_v1, fs_root)]
    elif own_v2 is not None and mount_v2 is not None:
        quotas = [_v2_quota(f) for f in _cgroup_dirs(own_v2, mount_v2, fs_root)]
    else:
        return None
    limits = [q for q in quotas if q is not None]
    return min(limits) if limits else None


def available_cpus(proc_self: Path = _PROC_SELF, fs_root: Path = _FS_ROOT) -> int:
    """CPUs this process may use: the cores it may run on, capped by the cgroup quota.

    A fractional quota rounds up (1.5 CPUs allow 2 threads that together get 1.5 CPUs of
    time), as the JVM and .NET count a container's processors; never below 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(proc_self, fs_root)
    return max(1, min(cores, math.ceil(quota))) if quota is not None else max(1, cores)


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
    environ: Mapping[str, str] | None = None,
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    proc_self: Path = _PROC_SELF,
    fs_root: Path = _FS_ROOT,
) -> MemoryBudget:
    """The budget in force: ``TRIPLINE_MEMORY_LIMIT``, else the cgroup limit, else 4 GB.

    Its CPU count is :func:`available_cpus` (``proc_self`` and ``fs_root`` are for tests).
    """
    env = os.environ if environ is None else environ
    cpus = available_cpus(proc_self, fs_root)
    explicit = env.get("TRIPLINE_MEMORY_LIMIT", "").strip()
    if explicit:
        return MemoryBudget(parse_size(explicit), "TRIPLINE_MEMORY_LIMIT", cpus)
    limit = cgroup_memory_limit(cgroup_root)
    if limit is not None:
        return MemoryBudget(limit, "container cgroup limit", cpus)
    return MemoryBudget(DEFAULT_BUDGET_BYTES, "default", cpus)
