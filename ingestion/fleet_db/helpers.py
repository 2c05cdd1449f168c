"""Connection handling for the fleet database: DSNs, engines, and keeping secrets out of logs.

A DSN is accepted in the forms people type (``postgresql://``, ``postgres://``, ``mysql://``,
``mariadb://``, ``sqlite:///path``) and turned into the SQLAlchemy URL with the driver Tripline
installs (psycopg2, PyMySQL). The password never reaches a log line or an error message:
:func:`redact` removes it from any text before it is shown.
"""

from __future__ import annotations

import os
import re
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from ingestion.core import failures
from ingestion.core.errors import ConfigurationError, SourceError
from ingestion.fleet_db.settings import DSN_ENV

_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql",
    "sqlite": "sqlite",
}
_SECRET_PATTERN = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def redact(text: str, url: URL | None = None) -> str:
    """``text`` with any password (of ``url``, or in any ``scheme://user:pw@`` form) masked."""
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return _SECRET_PATTERN.sub(r"\1***@", text)


def parse_dsn(dsn: str) -> URL:
    """A SQLAlchemy URL with Tripline's drivers, or a one-line error that shows no secret."""
    try:
        url = make_url(dsn.strip())
    except Exception as exc:
        raise ConfigurationError(
            f"cannot read the fleet database DSN ({redact(str(exc))}): use e.g. "
            "postgresql://user:password@host:5432/fleet, mysql://… or sqlite:///path/fleet.db"
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
    return url


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
    """The first line of an error's message (``ingestion.core.failures``), secrets masked."""
    return redact(failures.first_line(exc), url)


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
