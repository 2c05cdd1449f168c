"""Logging to stderr as plain lines, or JSON lines when ``TRIPLINE_LOG_FORMAT=json``.

dlt's own logger goes through the same handler: its records are forwarded to Tripline's,
so they come out in the same format, one line each (a traceback only with ``--debug``).
A step whose failure Tripline expects and handles (the strict attempt at a file that then
takes the quarantine route) mutes dlt for its duration.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOGGER_NAME = "tripline"
DLT_LOGGER_NAME = "dlt"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class _OneLine(logging.Filter):
    """Without ``--debug``: a record's first line only, and no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        first = next((line.strip() for line in message.splitlines() if line.strip()), "")
        if first != message or record.exc_info:
            record.msg, record.args = first, ()
            record.exc_info = record.exc_text = None
        return True


class _ForwardToTripline(logging.Handler):
    """Hands dlt's records to Tripline's logger (dlt may set its own formatter on us:
    it is never used, because formatting happens in Tripline's handler)."""

    muted = 0
    _lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if _ForwardToTripline.muted:
            return
        logging.getLogger(LOGGER_NAME).handle(record)


def configure_logging(log_format: str = "text", debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    if not debug:
        handler.addFilter(_OneLine())
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    dlt_logger = logging.getLogger(DLT_LOGGER_NAME)
    dlt_logger.handlers[:] = [_ForwardToTripline()]
    dlt_logger.propagate = False


@contextmanager
def dlt_muted() -> Iterator[None]:
    """Silence dlt's logger while a failure Tripline handles itself may happen."""
    with _ForwardToTripline._lock:
        _ForwardToTripline.muted += 1
    try:
        yield
    finally:
        with _ForwardToTripline._lock:
            _ForwardToTripline.muted -= 1


def get_logger(name: str) -> logging.Logger:
    """A child of the ``tripline`` logger, e.g. ``tripline.trips``."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
