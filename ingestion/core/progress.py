"""Progress of long work, by bytes: the unit in flight and the whole run, rate and ETA.

Every input's size is known before it is read, so a run's total is known up front. Within a
unit (a file or a batch of files that DuckDB reads inside dlt's load, where Tripline holds no
connection to ask DuckDB for its query progress) the bytes read so far are the process's
``rchar`` (``/proc/self/io``: every byte its read calls returned) since the unit began,
capped at the unit's size — DuckDB reads its input once, so this tracks it closely.

Shown as a live ``tqdm`` bar when stderr is a terminal; otherwise as a log line every
``interval`` seconds (CloudWatch, CI), which in JSON mode carries the figures as fields.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm

from ingestion.core.budget import MIB
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory

log = get_logger("progress")
_IO = Path("/proc/self/io")


def bytes_read() -> int:
    """Bytes this process's read calls have returned so far (0 where /proc has no io)."""
    try:
        for line in _IO.read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Progress:
    """Progress of a run of ``total_bytes``, one unit of work at a time."""

    def __init__(
        self,
        what: str,
        total_bytes: int,
        memory: PeakTreeMemory,
        log_format: str = "text",
        interval: float = 15.0,
        live: bool | None = None,
    ) -> None:
        self._what, self._total, self._memory = what, max(total_bytes, 1), memory
        self._json = log_format == "json"
        self._interval = interval
        self._live = sys.stderr.isatty() and not self._json if live is None else live
        self._done = 0  # bytes of finished units
        self._unit, self._unit_bytes, self._phase = "", 0, ""
        self._unit_started_at, self._unit_read_at_start = 0.0, 0
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._bar: tqdm[Any] | None = None

    def __enter__(self) -> Progress:
        if self._live:
            self._bar = tqdm(
                total=self._total, unit="B", unit_scale=True, file=sys.stderr, desc=self._what
            )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self._bar is not None:
            self._bar.close()

    def start(self, unit: str, unit_bytes: int, phase: str) -> None:
        """A unit of work of ``unit_bytes`` begins, in ``phase`` (download, parse, load…)."""
        with self._lock:
            self._unit, self._unit_bytes, self._phase = unit, unit_bytes, phase
            self._unit_started_at, self._unit_read_at_start = time.perf_counter(), bytes_read()

    def phase(self, phase: str) -> None:
        with self._lock:
            self._phase = phase

    def finish(self) -> None:
        """The unit in flight is done: its bytes count as done."""
        with self._lock:
            self._done += self._unit_bytes
            self._unit, self._unit_bytes, self._phase = "", 0, ""
        self._show()

    def snapshot(self) -> dict[str, Any]:
        """The figures a progress line shows."""
        with self._lock:
            in_unit = min(max(bytes_read() - self._unit_read_at_start, 0), self._unit_bytes)
            done = self._done + in_unit
            elapsed = time.perf_counter() - self._started
            rate = done / elapsed if elapsed > 0 else 0.0
            return {
                "event": "progress",
                "what": self._what,
                "unit": self._unit,
                "phase": self._phase,
                "unit_bytes": self._unit_bytes,
                "unit_done_bytes": in_unit,
                "run_done_bytes": done,
                "run_total_bytes": self._total,
                "bytes_per_second": round(rate),
                "eta_seconds": round((self._total - done) / rate) if rate > 0 else None,
                "elapsed_seconds": round(elapsed, 1),
                "peak_memory_bytes": self._memory.peak_bytes,
            }

    def _run(self) -> None:
        tick = 0.5 if self._live else self._interval
        while not self._stop.wait(tick):
            self._show()

    def _show(self) -> None:
        figures = self.snapshot()
        if self._bar is not None:
            self._bar.n = figures["run_done_bytes"]
            self._bar.set_postfix_str(f"{figures['unit']} {figures['phase']}".strip())
            return
        if self._stop.is_set() or not figures["unit"]:
            return  # between units: the unit's own summary line says it
        if self._json:
            log.info("progress", extra={"fields": figures})
            return
        eta = figures["eta_seconds"]
        log.info(
            "  ... %s: %s, %.0f/%.0f MB of it; run %.0f/%.0f MB at %.1f MB/s, %s, "
            "peak memory %.0f MB",
            figures["unit"],
            figures["phase"],
            figures["unit_done_bytes"] / MIB,
            figures["unit_bytes"] / MIB,
            figures["run_done_bytes"] / MIB,
            figures["run_total_bytes"] / MIB,
            figures["bytes_per_second"] / MIB,
            f"ETA {eta:.0f} s" if eta is not None else "ETA unknown",
            figures["peak_memory_bytes"] / MIB,
        )
