"""HTTP sessions for API sources: bounded retries, exponential backoff with jitter.

dlt's ``rest_api`` source accepts a ``requests`` session in its client configuration. The one
built here retries 429 (waiting what ``Retry-After`` asks, capped), 5xx, timeouts and
connections dropped mid-body, with exponential backoff plus jitter so that many clients
failing together do not retry in lock-step. After ``max_attempts`` the last error propagates;
``describe_http_failure`` turns it into one line naming the URL.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from dlt.sources.helpers.requests.retry import (
    DEFAULT_RETRY_EXCEPTIONS,
    DEFAULT_RETRY_STATUS,
    Client,
    retry_if_status,
    wait_exponential_retry_after,
)
from dlt.sources.helpers.requests.session import Session
from tenacity import RetryCallState, Retrying, retry_any, retry_if_exception_type
from tenacity import stop_after_attempt as _stop_after_attempt
from tenacity.wait import wait_exponential

from ingestion.core.failures import cause_chain
from ingestion.core.logs import get_logger

log = get_logger("http")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard an API source tries before giving up (env ``TRIPLINE_HTTP_*`` overrides)."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 60.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RetryPolicy:
        """The default policy with any ``TRIPLINE_HTTP_<FIELD>`` variable applied."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            max_attempts=int(env.get("TRIPLINE_HTTP_MAX_ATTEMPTS", defaults.max_attempts)),
            backoff_seconds=float(
                env.get("TRIPLINE_HTTP_BACKOFF_SECONDS", defaults.backoff_seconds)
            ),
            max_delay_seconds=float(
                env.get("TRIPLINE_HTTP_MAX_DELAY_SECONDS", defaults.max_delay_seconds)
            ),
            connect_timeout_seconds=float(
                env.get("TRIPLINE_HTTP_CONNECT_TIMEOUT_SECONDS", defaults.connect_timeout_seconds)
            ),
            read_timeout_seconds=float(
                env.get("TRIPLINE_HTTP_TIMEOUT_SECONDS", defaults.read_timeout_seconds)
            ),
        )


class MalformedResponseError(requests.RequestException):
    """A 2xx answer whose body is not valid JSON: a broken server, not worth retrying."""


@dataclass
class HttpStats:
    """What a run received: successful responses and their body bytes."""

    responses: int = 0
    bytes_read: int = 0


class _WaitWithJitter(wait_exponential_retry_after):
    """``Retry-After`` when the server sends it, else exponential backoff with equal jitter."""

    def __call__(self, retry_state: RetryCallState) -> float:
        retry_after = self._get_retry_after(retry_state)
        if retry_after is not None:
            return retry_after
        base = wait_exponential.__call__(self, retry_state)
        return float(base / 2 + random.uniform(0, base / 2))


def _log_retry(label: str, max_attempts: int) -> Any:
    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        reason = "unknown"
        if outcome is not None:
            exc = outcome.exception()
            if isinstance(exc, requests.HTTPError) and exc.response is not None:
                reason = f"HTTP {exc.response.status_code}"
            elif exc is not None:
                reason = type(exc).__name__
            else:
                result = outcome.result()
                if isinstance(result, requests.Response):
                    reason = f"HTTP {result.status_code}"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s, retrying in %.1f s (attempt %d of %d)",
            label,
            reason,
            wait,
            state.attempt_number + 1,
            max_attempts,
        )

    return before_sleep


class RetryingClient(Client):
    """dlt's retrying ``Client`` with jittered backoff and a log line before every retry."""

    def __init__(self, policy: RetryPolicy, label: str, stats: HttpStats | None = None) -> None:
        super().__init__(
            request_timeout=(policy.connect_timeout_seconds, policy.read_timeout_seconds),
            raise_for_status=False,
            request_max_attempts=policy.max_attempts,
            request_backoff_factor=policy.backoff_seconds,
            request_max_retry_delay=policy.max_delay_seconds,
        )
        self._policy = policy
        self._label = label
        self._stats = stats or HttpStats()

    def _make_session(self) -> Session:
        session = Session(
            timeout=(self._policy.connect_timeout_seconds, self._policy.read_timeout_seconds),
            raise_for_status=False,
        )
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        retrying = Retrying(
            wait=_WaitWithJitter(
                multiplier=self._policy.backoff_seconds, max=self._policy.max_delay_seconds
            ),
            retry=retry_any(
                retry_if_status(DEFAULT_RETRY_STATUS),
                retry_if_exception_type(tuple(DEFAULT_RETRY_EXCEPTIONS)),
            ),
            stop=_stop_after_attempt(self._policy.max_attempts),
            before_sleep=_log_retry(self._label, self._policy.max_attempts),
            reraise=True,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        session.send = _checked(retrying.wraps(session.send), self._stats)  # type: ignore[method-assign]
        return session


def _checked(send: Any, stats: HttpStats) -> Any:
    """Wrap a (retrying) ``send``: a success must carry valid JSON; count what arrived."""

    def send_and_check(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response: requests.Response = send(request, **kwargs)
        if response.ok:
            try:
                response.json()
            except ValueError as exc:
                raise MalformedResponseError(
                    f"invalid JSON ({exc})", request=request, response=response
                ) from None
            stats.responses += 1
            stats.bytes_read += len(response.content)
        return response

    return send_and_check


def retrying_session(
    label: str, policy: RetryPolicy | None = None, stats: HttpStats | None = None
) -> requests.Session:
    """A session for ``rest_api``'s ``client.session`` that expects JSON answers.

    ``label`` prefixes retry log lines; ``stats`` (if given) counts what was received. A
    success whose body is not JSON raises ``MalformedResponseError`` at once.
    """
    return RetryingClient(policy or RetryPolicy.from_env(), label, stats).session


@dataclass(frozen=True)
class HttpFailure:
    """The failed request, readable: decoded URL, its query parameters, and what went wrong."""

    url: str
    params: dict[str, str]
    what: str
    retryable: bool


def http_failure(exc: BaseException) -> HttpFailure | None:
    """The HTTP failure anywhere in ``exc``'s cause chain, else ``None``."""
    for current in cause_chain(exc):
        if isinstance(current, requests.RequestException):
            request, response = current.request, current.response
            raw = getattr(response, "url", None) or getattr(request, "url", None) or "?"
            parts = urlsplit(str(raw))
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if isinstance(current, MalformedResponseError):
                what = f"malformed response: {current}"
            elif response is not None:
                what = f"HTTP {response.status_code} {response.reason or ''}".strip()
            else:
                what = type(current).__name__
            url = f"{parts.scheme}://{parts.netloc}{parts.path}"
            return HttpFailure(url, params, what, not isinstance(current, MalformedResponseError))
    return None


def configured(env_name: str, dlt_key: str, default: str) -> str:
    """A source option: environment variable, else dlt config (``config.toml``), else default.

    ``dlt_key`` is a dotted dlt path such as ``sources.weather.archive_url``; dlt itself also
    resolves it from ``SOURCES__WEATHER__ARCHIVE_URL``.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    import dlt  # dlt's config providers are only needed here

    found: Any = dlt.config.get(dlt_key)
    return str(found) if found not in (None, "") else default
