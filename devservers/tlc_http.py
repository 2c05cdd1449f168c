"""An HTTP file server in the TLC layout (``/trip-data/…``, ``/misc/…``) on 127.0.0.1.

It behaves like the CloudFront origin the TLC publishes through where the pipeline cares:
HEAD with Content-Length, ETag and Last-Modified, byte ranges, and 404 for a month not yet
published. A fault switch cuts a file's first download halfway, as a flaky network does.
"""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ingestion.trips.zones import ZONE_LOOKUP_FILE


@dataclass
class TlcHttpState:
    root: Path
    cut_once: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: TlcHttpState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _resolve(self) -> Path | None:
            path = self.path.split("?", 1)[0]
            name = path.rsplit("/", 1)[-1]
            if path.startswith("/trip-data/") or path == f"/misc/{ZONE_LOOKUP_FILE}":
                candidate = state.root / name
                return candidate if candidate.is_file() else None
            return None

        def _headers(self, file: Path, status: int, length: int, extra: dict[str, str]) -> None:
            stat = file.stat()
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"')
            self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()

        def _not_found(self) -> None:
            body = b"<Error><Code>NoSuchKey</Code></Error>"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            with state.lock:
                state.requests.append(("HEAD", self.path, ""))
            file = self._resolve()
            if file is None:
                self._not_found()
                return
            self._headers(file, 200, file.stat().st_size, {})

        def do_GET(self) -> None:
            range_header = self.headers.get("Range", "")
            with state.lock:
                state.requests.append(("GET", self.path, range_header))
            file = self._resolve()
            if file is None:
                self._not_found()
                return
            size = file.stat().st_size
            start, end = 0, size - 1
            status, extra = 200, {}
            if range_header.startswith("bytes="):
                first, _, last = range_header[6:].partition("-")
                start = int(first or 0)
                end = min(int(last), size - 1) if last else size - 1
                status, extra = 206, {"Content-Range": f"bytes {start}-{end}/{size}"}
            length = end - start + 1
            self._headers(file, status, length, extra)
            with state.lock:
                cut = file.name in state.cut_once
                state.cut_once.discard(file.name)
            with file.open("rb") as handle:
                handle.seek(start)
                remaining = length // 2 if cut else length
                while remaining > 0:
                    chunk = handle.read(min(1 << 20, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            if cut:
                self.close_connection = True
                self.connection.shutdown(2)

    return Handler


@contextmanager
def serve_tlc_files(root: Path) -> Iterator[tuple[str, TlcHttpState]]:
    """Serve ``root`` (generated files) as ``http://127.0.0.1:<port>`` in the TLC layout."""
    state = TlcHttpState(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
