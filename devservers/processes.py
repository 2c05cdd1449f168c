"""Child server processes for the devservers: free ports, readiness, a clean stop.

Shared by the PostgreSQL, MariaDB and Kafka devservers, which each start a real server as a
child process on 127.0.0.1 and must end exactly that process.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Wait until ``process`` accepts TCP connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode} before listening:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float = 20) -> None:
    """Send ``sig`` to the server process we started and wait; kill it if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class ManagedServer:
    """Stop-once lifecycle for a server started as ``self.process`` under ``self.root``.

    Subclasses (dataclasses) set ``stop_signal`` and ``stop_timeout``; ``stop()`` sends the
    signal, waits, and removes ``root`` when the server created it.
    """

    stop_signal: ClassVar[int]
    stop_timeout: ClassVar[float] = 20
    root: Path
    process: subprocess.Popen[bytes]
    owns_root: bool
    _stopped: bool

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stop_process(self.process, self.stop_signal, timeout=self.stop_timeout)
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
