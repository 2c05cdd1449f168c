"""Errors a user can act on: each carries one line saying what failed and what to do."""

from __future__ import annotations


class TriplineError(Exception):
    """An error shown to the user as a single line (the traceback only with ``--debug``)."""

    exit_code = 1


class ConfigurationError(TriplineError):
    """Bad arguments or configuration."""

    exit_code = 2


class SourceError(TriplineError):
    """A source that is missing, unreachable or unreadable."""

    exit_code = 3


class DestinationError(TriplineError):
    """The DuckDB destination cannot be opened or written."""

    exit_code = 4


class PartialLoadError(TriplineError):
    """Some inputs loaded and some failed; what loaded stays loaded."""

    exit_code = 5
