"""Connection handling for the fleet database: DSNs, engines, and keeping secrets out of logs.

A DSN is accepted in the forms people type (``postgresql://``, ``postgres://``, ``mysql://``,
``mariadb://``, ``sqlite:///path``) and turned into the SQLAlchemy URL with the driver Tripline
installs (psycopg2, PyMySQL). The password never reaches a log line or an error message:
:func:`redact` removes it from any text before it is shown.

A database that is not on this machine is reached over TLS unless the DSN says otherwise:
PostgreSQL needs an explicit ``sslmode`` (``verify-full`` is what Tripline asks for), MySQL an
``ssl_ca`` (or an explicit ``ssl_disabled=true``); without it the DSN is refused in one line
naming the setting to add. Local means a Unix socket, ``localhost`` or a loopback address.
"""

from __future__ import annotations

import ipaddress
import os
from typing import IO, Any
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from ingestion.core import failures
from ingestion.core.errors import ConfigurationError, SourceError
from ingestion.core.redact import redact as core_redact
from ingestion.fleet_db.settings import DSN_ENV

_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql",
    "sqlite": "sqlite",
}


def redact(text: str, url: URL | None = None) -> str:
    """``text`` with the DSN's password (decoded and encoded) and any credentials masked."""
    secrets: list[str] = []
    if url is not None and url.password:
        password = str(url.password)
        secrets = [password, quote(password, safe=""), quote_plus(password)]
    return core_redact(text, secrets)


def parse_dsn(dsn: str) -> URL:
    """A SQLAlchemy URL with Tripline's drivers, or a one-line error that shows no secret."""
    try:
        url = make_url(dsn.strip())
        if url.host and "@" in url.host:
            # An unencoded "@" in the password: its tail would be read as part of the host
            # and shown in every message naming it.
            raise ValueError("an '@' after the password")
    except Exception as exc:
        raise ConfigurationError(
            f"cannot read the fleet database DSN ({first_line(exc)}): use e.g. "
            "postgresql://user:password@host:5432/fleet, mysql://… or sqlite:///path/fleet.db, "
            "with '@', ':' and '/' in the password percent-encoded (%40, %3A, %2F)"
        ) from None
    driver = _DRIVERS.get(url.drivername, url.drivername)
    if not driver.startswith(("postgresql", "mysql", "sqlite")):
        raise ConfigurationError(
            f"unsupported fleet database {url.drivername!r}: "
            "use PostgreSQL, MySQL/MariaDB or SQLite"
        )
    url = url.set(drivername=driver)
    if driver.startswith("mysql"):
        url = url.update_query_dict({"charset": "utf8mb4"})
        _ssl_disabled(url)  # a value that is not a boolean fails here, in one line
    _require_tls(url)
    return url


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_MYSQL_TLS_KEYS = ("ssl_ca", "ssl_capath", "ssl_cert", "ssl_key")


def _query_value(url: URL, key: str) -> str | None:
    value = url.query.get(key)
    if isinstance(value, tuple):
        value = value[-1] if value else None
    return None if value is None else str(value)


def _ssl_disabled(url: URL) -> bool | None:
    """MySQL's ``ssl_disabled`` from the DSN as a boolean (PyMySQL would take "false" as true)."""
    raw = _query_value(url, "ssl_disabled")
    if raw is None:
        return None
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigurationError(f"ssl_disabled={raw!r} in the fleet database DSN: use true or false")


def is_local(url: URL) -> bool:
    """Whether ``url`` reaches a database on this machine: a Unix socket, localhost, loopback."""
    if url.drivername.startswith("sqlite"):
        return True
    if url.drivername.startswith("mysql") and _query_value(url, "unix_socket"):
        return True
    host = url.host or _query_value(url, "host")  # libpq takes ?host= as well
    if not host or host.startswith("/"):
        return True  # no host: libpq and PyMySQL use the local socket
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_tls(url: URL) -> None:
    if is_local(url):
        return
    where = describe(url)
    if url.drivername.startswith("postgresql") and _query_value(url, "sslmode") is None:
        raise ConfigurationError(
            f"the fleet database ({where}) is not on this machine and the DSN does not ask for "
            "TLS: add sslmode=verify-full to the DSN (with sslrootcert=<CA file> unless the CA "
            "is ~/.postgresql/root.crt), or set sslmode to what you accept instead"
        )
    if url.drivername.startswith("mysql"):
        configured = any(_query_value(url, key) for key in _MYSQL_TLS_KEYS)
        if not configured and _ssl_disabled(url) is not True:
            raise ConfigurationError(
                f"the fleet database ({where}) is not on this machine and the DSN does not ask "
                "for TLS: add ssl_ca=<CA file> to the DSN (the server's certificate and host "
                "name are then verified), or ssl_disabled=true to connect without TLS"
            )


def transport_warning(url: URL) -> str | None:
    """What the DSN gives up when it reaches another machine with less than verified TLS."""
    if is_local(url):
        return None
    if url.drivername.startswith("postgresql"):
        mode = _query_value(url, "sslmode") or ""
        if mode in ("require", "verify-ca"):
            return f"sslmode={mode}: the server's certificate is not checked against its host name"
        if mode != "verify-full":
            return f"sslmode={mode}: the connection may not be encrypted"
        return None
    if url.drivername.startswith("mysql"):
        if _ssl_disabled(url):
            return "ssl_disabled=true: the connection is not encrypted"
        if not (_query_value(url, "ssl_ca") or _query_value(url, "ssl_capath")):
            return "no ssl_ca: the server's certificate is not verified"
        if (_query_value(url, "ssl_check_hostname") or "").lower() in _FALSE:
            return "ssl_check_hostname=false: the server's host name is not verified"
    return None


def connectorx_url(url: URL) -> str:
    """The DSN for connectorx: no SQLAlchemy driver, the DSN's own query kept.

    rust-postgres knows ``sslmode`` disable, prefer and require only; with ``sslrootcert``,
    connectorx verifies the CA on ``require``, which is what ``verify-ca`` means. It cannot
    check the host name, so ``verify-full`` is refused rather than quietly weakened.
    """
    mode = _query_value(url, "sslmode")
    if mode == "verify-full":
        raise ConfigurationError(
            "--backend connectorx cannot verify the server's host name (sslmode=verify-full): "
            "use --backend adbc (the default), or sslmode=require with sslrootcert= to accept "
            "a check of the CA only"
        )
    if mode == "verify-ca":
        if not _query_value(url, "sslrootcert"):
            raise ConfigurationError(
                "--backend connectorx needs sslrootcert=<CA file> in the DSN to verify the CA "
                "(sslmode=verify-ca); or use --backend adbc"
            )
        url = url.update_query_dict({"sslmode": "require"})
    plain = url.set(drivername=url.get_backend_name())
    return plain.render_as_string(hide_password=False)


def resolve_dsn(explicit: str | None = None) -> str:
    """The DSN from ``--dsn``, ``TRIPLINE_FLEET_DB_DSN`` or dlt secrets, in that order."""
    if explicit:
        return explicit
    from_env = os.environ.get(DSN_ENV, "").strip()
    if from_env:
        return from_env
    import dlt

    configured: object = None
    try:
        configured = dlt.secrets.get("sources.fleet_db.credentials")
    except Exception:
        configured = None
    if configured:
        return str(configured) if not isinstance(configured, dict) else _from_parts(configured)
    raise ConfigurationError(
        f"no fleet database configured: set {DSN_ENV} or sources.fleet_db.credentials in "
        ".dlt/secrets.toml (see docs/fleet_db.md)"
    )


def _from_parts(parts: dict[str, object]) -> str:
    url = URL.create(
        drivername=str(parts.get("drivername", "postgresql")),
        username=_opt(parts.get("username")),
        password=_opt(parts.get("password")),
        host=_opt(parts.get("host")),
        port=int(str(parts["port"])) if parts.get("port") else None,
        database=_opt(parts.get("database")),
    )
    return url.render_as_string(hide_password=False)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def create_engine(url: URL) -> sa.Engine:
    """An engine for ``url`` whose sessions read and write timestamps in UTC."""
    connect_args: dict[str, object] = {}
    if url.drivername.startswith("postgresql"):
        connect_args = {"options": "-c timezone=UTC", "connect_timeout": 10}
    elif url.drivername.startswith("mysql"):
        connect_args = {"init_command": "set time_zone = '+00:00'", "connect_timeout": 10}
        disabled = _ssl_disabled(url)
        if disabled is not None:
            url = url.difference_update_query(["ssl_disabled"])
            connect_args["ssl_disabled"] = disabled
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def check_connection(engine: sa.Engine) -> None:
    """Connect once so a wrong DSN fails with one line before any work starts."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except Exception as exc:
        raise SourceError(
            f"cannot connect to the fleet database at {describe(engine.url)}: "
            f"{first_line(exc, engine.url)}"
        ) from None


def describe(url: URL) -> str:
    """Where ``url`` points, for messages: engine, host, port and database, no user or secret."""
    if url.drivername.startswith("sqlite"):
        return f"sqlite {url.database}"
    engine = url.get_backend_name()
    return f"{engine} {url.host}:{url.port or 'default'}/{url.database}"


def first_line(exc: BaseException, url: URL | None = None) -> str:
    """The first line of an error's message (``ingestion.core.failures``), secrets masked.

    Masked before the line is cut to length: a secret cut in half is no longer recognised.
    """
    text = redact(str(exc), url)
    return failures.first_line(Exception(text)) if text.strip() else type(exc).__name__


def pg_copy(engine: sa.Engine, sql: str, stream: IO[bytes], commit: bool = False) -> None:
    """Run a PostgreSQL ``COPY … TO STDOUT`` / ``FROM STDIN`` with ``stream`` (psycopg2)."""
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.copy_expert(sql, stream)
        finally:
            cursor.close()
        if commit:
            raw.commit()
    finally:
        raw.close()
