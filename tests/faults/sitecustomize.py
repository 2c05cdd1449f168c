"""Failpoints for crash tests: kill a real ``tripline`` process at a named moment.

A crash test puts this folder on ``PYTHONPATH`` and describes one fault in
``TRIPLINE_TEST_FAULT`` (JSON). Python imports this module at start-up, and it wraps the one
function the fault names, so the process dies (SIGKILL, no clean-up) or misbehaves exactly
there — between two statements, before or after a commit — instead of wherever a timer
happens to land. Production code knows nothing of it.

    {"at": "sql", "match": ["insert into", "2023-02"], "nth": 2, "when": "after"}
        the 2nd statement whose text contains every "match" (case-insensitive) has run;
        "nth": "every" fires on each one
    {"at": "call", "target": "dlt.pipeline.pipeline:Pipeline.abort_packages", "when": "after"}
        a function or method has returned
    {"action": "sql", "sql": "delete …"}
        instead of dying, run this statement on the same connection (a lost row)
    {"action": "sleep", "seconds": 5}
        instead of dying, stay there a while (a run that holds the warehouse for longer)
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import time
from contextlib import contextmanager
from typing import Any

_SPEC = json.loads(os.environ.get("TRIPLINE_TEST_FAULT") or "null")
_seen = 0


def _hit() -> bool:
    global _seen
    _seen += 1
    nth = _SPEC.get("nth", 1)
    return nth == "every" or _seen == int(nth)


def _die() -> None:
    if _SPEC.get("action") == "sleep":
        time.sleep(float(_SPEC.get("seconds", 5)))
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap_sql() -> None:
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    original = DuckDbSqlClient.execute_query
    wanted = _SPEC["match"] if isinstance(_SPEC["match"], list) else [_SPEC["match"]]
    match = [str(text).lower() for text in wanted]
    when = _SPEC.get("when", "before")

    @contextmanager
    def execute_query(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        fires = all(text in str(query).lower() for text in match) and _hit()
        if fires and when == "before":
            _die()
        with original(self, query, *args, **kwargs) as cursor:
            if fires and _SPEC.get("action") == "sql":
                self._conn.execute(_SPEC["sql"])
            elif fires:
                _die()
            yield cursor

    DuckDbSqlClient.execute_query = execute_query  # type: ignore[method-assign]


def _wrap_call() -> None:
    module_name, _, path = str(_SPEC["target"]).partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)
    when = _SPEC.get("when", "before")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fires = _hit()
        if fires and when == "before":
            _die()
        result = original(*args, **kwargs)
        if fires:
            _die()
        return result

    setattr(owner, name, wrapper)


if _SPEC:
    (_wrap_sql if _SPEC.get("at") == "sql" else _wrap_call)()
