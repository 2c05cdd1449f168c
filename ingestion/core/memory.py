"""Peak resident memory of the whole process tree, sampled while work runs.

ECS counts every process in the task against its limit, so Tripline measures the same thing:
the sum of RSS over this process and all its descendants, sampled on a background thread.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_rss_bytes(root: psutil.Process) -> int:
    """RSS of ``root`` and every living descendant."""
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakTreeMemory:
    """Context manager sampling the process tree's RSS every ``interval`` seconds."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self.peak_bytes = 0

    def _run(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._process))
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> PeakTreeMemory:
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
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._process))
