"""One line for a failure: walk an exception's causes, name what it is.

dlt wraps a destination's error in two or three layers (``PipelineStepFailed`` →
``LoadClientJobFailed`` → the DuckDB error), so the line a user needs is usually the
innermost one. A full disk, a file another process holds and a file that is not what its
name says are named as such, because each asks the operator for something different.
"""

from __future__ import annotations

import errno

from ingestion.core.redact import redact

MAX_LINE = 300

_DISK_FULL = ("no space left on device", "disk is full", "could not write all bytes")
_LOCKED = ("could not set lock on file", "conflicting lock is held")
_CORRUPT = (
    "no magic bytes found",
    "is not a parquet file",
    "invalid parquet",
    "not a gzip file",
    "compressed file ended before",
    "invalid gzip",
    "unexpected end of file",
    "corrupt",
)


def cause_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from (``__cause__``, else ``__context__``)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _cut(line: str) -> str:
    """At most ``MAX_LINE`` characters, masked first: a cut must not split a secret."""
    return redact(line.strip())[:MAX_LINE]


def first_line(exc: BaseException) -> str:
    """The first non-empty line of ``exc``'s message, else its type's name."""
    for line in str(exc).splitlines():
        if line.strip():
            return _cut(line)
    return type(exc).__name__


def innermost_line(exc: BaseException) -> str:
    """The root cause's line: the one that names an error when it has several lines."""
    root = cause_chain(exc)[-1]
    lines = [line.strip() for line in str(root).splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return _cut(line)
    return _cut(lines[0]) if lines else type(root).__name__


def kind_of(exc: BaseException) -> str | None:
    """``disk full``, ``locked`` or ``corrupt`` when the chain says so, else ``None``."""
    for item in cause_chain(exc):
        if isinstance(item, OSError) and item.errno == errno.ENOSPC:
            return "disk full"
        text = str(item).lower()
        if any(marker in text for marker in _DISK_FULL):
            return "disk full"
        if any(marker in text for marker in _LOCKED):
            return "locked"
        if any(marker in text for marker in _CORRUPT):
            return "corrupt"
    return None


def describe_failure(exc: BaseException) -> str:
    """One line for a failure, prefixed with what it is when that is known."""
    line = innermost_line(exc)
    kind = kind_of(exc)
    if kind == "disk full":
        return f"disk full: {line}"
    if kind == "locked":
        return f"file locked by another process: {line}"
    if kind == "corrupt":
        return f"corrupt or truncated file: {line}"
    return line
