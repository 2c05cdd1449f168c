"""The shared API retry policy: jittered exponential backoff, Retry-After, bounded attempts."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from devservers.api_common import serve_api
from ingestion.core.http import MalformedResponseError, RetryPolicy, http_failure, retrying_session


def _answer(path: str, params: dict[str, str], headers: dict[str, str]) -> object:
    return {"ok": True}


def test_backoff_is_exponential_with_jitter_and_bounded() -> None:
    policy = RetryPolicy(max_attempts=4, backoff_seconds=0.2, read_timeout_seconds=2)
    with serve_api(_answer) as server:
        server.faults.add("500", times=99)
        session = retrying_session("test", policy)
        started = time.perf_counter()
        # the last answer comes back; rest_api's response hook raises it as an HTTPError
        response = session.get(f"{server.url}/x")
        elapsed = time.perf_counter() - started
        log = server.logged()
    assert response.status_code == 500
    assert len(log) == 4  # bounded
    gaps = [b.at - a.at for a, b in itertools.pairwise(log)]
    # exponential: backoff * 2**(attempt - 1) -> 0.2, 0.4, 0.8 s; jitter keeps
    # each wait between half and all of it
    for gap, base in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert base / 2 - 0.05 <= gap <= base + 0.5, gaps
    assert elapsed < 4
    with pytest.raises(requests.HTTPError) as failure:
        response.raise_for_status()
    found = http_failure(failure.value)
    assert found is not None and found.what.startswith("HTTP 500") and found.url.endswith("/x")


def test_retry_after_is_honoured_then_success() -> None:
    with serve_api(_answer) as server:
        server.faults.add("429", times=1, retry_after=2)
        response = retrying_session("test", RetryPolicy(backoff_seconds=0.01)).get(
            f"{server.url}/x"
        )
        log = server.logged()
    assert response.json() == {"ok": True}
    assert log[1].at - log[0].at >= 1.95


def test_invalid_json_is_not_retried() -> None:
    with serve_api(_answer) as server:
        server.faults.add("malformed", times=5)
        with pytest.raises(MalformedResponseError):
            retrying_session("test", RetryPolicy(backoff_seconds=0.01)).get(f"{server.url}/x")
        assert len(server.logged()) == 1
