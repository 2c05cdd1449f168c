"""The warehouse lease: one writer at a time per DuckDB file, named, with a bounded wait.

DuckDB lets one process write a file at a time, but dlt opens and closes its connection
between steps, so two runs could interleave their steps and each take the other's pending
work for a crash. Every writer (each pipeline run, ``tripline dbt``, the demo) therefore holds
an exclusive ``flock`` on ``<warehouse>.lock`` for its whole run, through ``filelock``. The
kernel releases the lock when the process dies, however it dies, so a killed run never
leaves a stale lease behind.

Who holds it (what, pid, host, since when) is written to ``<warehouse>.lock.json`` after the
lock is taken: filelock truncates the lock file itself on every attempt, so the holder's
record lives beside it. A second writer waits up to ``TRIPLINE_LOCK_TIMEOUT`` seconds
(default 900; ``0`` fails at once), says once whom it waits for, and then leaves with
:class:`WarehouseBusyError`, one line and exit code 7.

Other names (``name=``) give leases of their own beside the warehouse, e.g. the Kafka
consumer's singleton lease, held for a follower's whole life while the warehouse lease is
taken per micro-batch.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from ingestion.core.errors import ConfigurationError, TriplineError
from ingestion.core.logs import get_logger

log = get_logger("lease")

DEFAULT_LOCK_TIMEOUT_SECONDS = 900.0
WAREHOUSE = "warehouse"
# The pid of a ``tripline`` process that holds the lease for the dbt it started: the dbt
# plugin then does not try to take the lease its own parent holds.
HOLDER_PID_ENV = "TRIPLINE_LEASE_HOLDER_PID"


class WarehouseBusyError(TriplineError):
    """Another writer held the lease for longer than this one may wait."""

    exit_code = 7


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as written beside the lock file."""

    what: str
    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"{self.what} (pid {self.pid} on {self.host}, since {self.since})"


def lock_timeout(environ: Mapping[str, str] | None = None) -> float:
    """``TRIPLINE_LOCK_TIMEOUT`` in seconds (0 = do not wait)."""
    env = os.environ if environ is None else environ
    raw = env.get("TRIPLINE_LOCK_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"TRIPLINE_LOCK_TIMEOUT={raw!r} is not a number of seconds (e.g. 900, or 0)"
        ) from None
    if value < 0:
        raise ConfigurationError("TRIPLINE_LOCK_TIMEOUT must be 0 or more seconds")
    return value


def lock_path(warehouse: Path, name: str = WAREHOUSE) -> Path:
    """``tripline.duckdb.lock`` for the warehouse lease, ``tripline.duckdb.<name>.lock`` else."""
    suffix = ".lock" if name == WAREHOUSE else f".{name}.lock"
    return warehouse.with_name(warehouse.name + suffix)


def holder_path(warehouse: Path, name: str = WAREHOUSE) -> Path:
    lock = lock_path(warehouse, name)
    return lock.with_name(lock.name + ".json")


def current_holder(warehouse: Path, name: str = WAREHOUSE) -> Holder | None:
    """The holder record beside the lock, if one can be read (it is informational only)."""
    try:
        data = json.loads(holder_path(warehouse, name).read_text())
        return Holder(str(data["what"]), int(data["pid"]), str(data["host"]), str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lock(warehouse: Path, name: str) -> FileLock:
    path = lock_path(warehouse, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One lock object per path and process, shared by all threads: nested holds (the demo
    # runs pipelines and dbt inside its own lease) only count up.
    return FileLock(str(path), is_singleton=True, thread_local=False)


def _write_holder(warehouse: Path, name: str, holder: Holder) -> None:
    target = holder_path(warehouse, name)
    staged = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(asdict(holder)))
    os.replace(staged, target)


@contextmanager
def hold(
    warehouse: Path,
    what: str,
    *,
    name: str = WAREHOUSE,
    timeout: float | None = None,
) -> Iterator[Holder]:
    """Hold the lease ``name`` of ``warehouse`` for the ``with`` block; wait a bounded time.

    Re-entrant within one process. Raises :class:`WarehouseBusyError` when another process
    keeps it for longer than ``timeout`` seconds (default ``TRIPLINE_LOCK_TIMEOUT``).
    """
    wait = lock_timeout() if timeout is None else timeout
    lock = _lock(warehouse, name)
    if lock.is_locked:  # this process holds it already
        with lock:
            yield current_holder(warehouse, name) or _me(what)
        return
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _wait_for(lock, warehouse, name, what, wait)
    me = _me(what)
    try:
        _write_holder(warehouse, name, me)
        yield me
    finally:
        if lock.lock_counter == 1:
            holder_path(warehouse, name).unlink(missing_ok=True)
        lock.release()


def _me(what: str) -> Holder:
    since = datetime.now(UTC).isoformat(timespec="seconds")
    return Holder(what, os.getpid(), socket.gethostname(), since)


def _wait_for(lock: FileLock, warehouse: Path, name: str, what: str, wait: float) -> None:
    holder = current_holder(warehouse, name)
    held_by = holder.describe() if holder else "another process"
    lease = "the warehouse lease" if name == WAREHOUSE else f"the {name} lease"
    if wait <= 0:
        raise WarehouseBusyError(
            f"{warehouse.name} is busy: {lease} is held by {held_by}; "
            f"{what} did not wait (TRIPLINE_LOCK_TIMEOUT=0)"
        )
    log.warning("%s: waiting up to %.0f s for %s, held by %s", what, wait, lease, held_by)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        holder = current_holder(warehouse, name)
        held_by = holder.describe() if holder else held_by
        raise WarehouseBusyError(
            f"{warehouse.name} is busy: {lease} is still held by {held_by} after {wait:.0f} s; "
            "run again later or raise TRIPLINE_LOCK_TIMEOUT"
        ) from None
    log.info("%s: got %s", what, lease)


def hold_until_exit(warehouse: Path, what: str) -> None:
    """Take the warehouse lease for the rest of this process (dbt run on its own); a no-op
    in a process whose parent holds it for it (``tripline dbt`` sets ``HOLDER_PID_ENV``)."""
    if os.environ.get(HOLDER_PID_ENV) == str(os.getppid()):
        return
    lease = hold(warehouse, what)
    lease.__enter__()  # released by the kernel when the process exits
    _held_until_exit.append(lease)


_held_until_exit: list[AbstractContextManager[Holder]] = []
