"""What the JSON API devservers (Open-Meteo, Socrata) share: a request log and fault switches.

A test arms faults (``server.faults.add("429", times=2)``) and reads ``server.requests`` to
assert what the client asked. Faults fire on the next matching requests, in the order armed:

- ``429``: Too Many Requests with ``Retry-After: <retry_after>`` seconds;
- ``500``: Internal Server Error;
- ``slow``: the answer is delayed ``delay`` seconds (beyond a client's read timeout);
- ``cut``: headers announce the full body, half is sent, the connection is closed;
- ``malformed``: 200 with a body that is not valid JSON;
- ``mutate``: 200 with valid JSON that ``mutate(answer)`` changed (a field missing, an array
  cut short), for checks of the answer's shape;
- ``hook``: ``action(path, params)`` runs first, then the request is answered as usual (the
  data changes between two pages, as a live dataset does).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("429", "500", "slow", "cut", "malformed", "mutate", "hook")

Params = dict[str, str]
Matcher = Callable[[str, Params], bool]


@dataclass
class Fault:
    kind: str
    times: int = 1
    retry_after: int = 1  # whole seconds, as servers send it
    delay: float = 5.0
    match: Matcher | None = None
    mutate: Callable[[Any], Any] | None = None
    action: Callable[[str, Params], None] | None = None


@dataclass
class LoggedRequest:
    """One request as the server saw it (``has_app_token`` rather than the token itself)."""

    at: float
    method: str
    path: str
    params: Params
    has_app_token: bool
    status: int = 0
    fault: str = ""


@dataclass
class Faults:
    """Armed faults; thread-safe because the server answers on many threads."""

    armed: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, times: int = 1, **options: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: choose from {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.armed.append(Fault(kind, times, **options))

    def clear(self) -> None:
        with self.lock:
            self.armed.clear()

    def take(self, path: str, params: Params) -> Fault | None:
        with self.lock:
            for fault in self.armed:
                if fault.match is None or fault.match(path, params):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.armed.remove(fault)
                    return fault
        return None


class ApiError(Exception):
    """An error the API answers with ``status`` and a JSON body, as the real service does."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


# (path, params, headers) -> JSON-serialisable answer; raises ApiError for a 4xx answer.
Route = Callable[[str, Params, dict[str, str]], Any]


@dataclass
class ApiServer:
    """A running devserver: its base URL, request log and fault switches."""

    url: str
    faults: Faults
    requests: list[LoggedRequest]
    lock: threading.Lock

    def logged(self, path_prefix: str = "") -> list[LoggedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()


def _handler(
    route: Route, faults: Faults, log: list[LoggedRequest], lock: threading.Lock
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            raw = parse_qs(parts.query, keep_blank_values=True)
            params = {key: values[-1] for key, values in raw.items()}
            entry = LoggedRequest(
                time.time(), "GET", parts.path, params, bool(self.headers.get("X-App-Token"))
            )
            with lock:
                log.append(entry)
            fault = faults.take(parts.path, params)
            entry.fault = fault.kind if fault else ""
            if fault and fault.kind == "429":
                entry.status = 429
                body = b'{"error": true, "reason": "Too many requests"}'
                self._send(429, body, {"Retry-After": str(int(fault.retry_after))})
                return
            if fault and fault.kind == "500":
                entry.status = 500
                self._send(500, b'{"error": true, "reason": "Internal server error"}')
                return
            if fault and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault and fault.kind == "hook" and fault.action is not None:
                fault.action(parts.path, params)
            try:
                answer = route(parts.path, params, dict(self.headers.items()))
                if fault and fault.kind == "mutate" and fault.mutate is not None:
                    answer = fault.mutate(answer)
                status, body = 200, json.dumps(answer).encode()
            except ApiError as exc:
                status, body = exc.status, json.dumps(exc.body).encode()
            entry.status = status
            if fault and fault.kind == "malformed":
                self._send(200, body[: max(1, len(body) // 2)] + b"<html>")
                return
            if fault and fault.kind == "cut":
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            try:
                self._send(status, body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (timeout) while we were slow

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """Clients that time out or drop connections are expected here: no tracebacks."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


@contextmanager
def serve_api(route: Route) -> Iterator[ApiServer]:
    """Serve ``route`` on ``http://127.0.0.1:<free port>`` in a background thread."""
    faults, lock = Faults(), threading.Lock()
    log: list[LoggedRequest] = []
    server = _QuietServer(("127.0.0.1", 0), _handler(route, faults, log, lock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ApiServer(f"http://127.0.0.1:{server.server_address[1]}", faults, log, lock)
    finally:
        server.shutdown()
        server.server_close()
