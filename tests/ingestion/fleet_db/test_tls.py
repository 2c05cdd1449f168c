"""Transport security to the fleet database: TLS required off this machine, verified for real.

The server is a real PostgreSQL with ``ssl=on`` (Debian's build: pgserver's has no SSL), a
certificate this module makes, and client certificates required on every TCP connection.

Its name: ``fleet-db.tripline.test`` (``.test`` is reserved, RFC 2606, and never resolves).
libpq's ``hostaddr=127.0.0.1`` connects to loopback without any name lookup while ``host``
stays the name the certificate is checked against, exactly as a production DSN pinning an
address would; connectorx (rust-postgres) honours ``hostaddr`` too. No /etc/hosts change and
no packet leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from devservers.postgres import (
    TLS_INSTALL_HINT,
    PostgresServer,
    ServerTls,
    start_postgres,
    system_postgres_bin,
)
from ingestion.core.errors import ConfigurationError
from ingestion.fleet_db.generator import generate
from ingestion.fleet_db.helpers import create_engine, parse_dsn
from ingestion.fleet_db.settings import TABLES
from tests.helpers import run_tripline
from tests.ingestion.fleet_db.conftest import PLANTED_PASSWORD, raw_rows, source_rows
from tests.ingestion.fleet_db.pki import Pki, make_pki

HOST = "fleet-db.tripline.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), [HOST, "localhost"], "postgres")


@pytest.fixture(scope="module")
def tls_postgres(pki: Pki) -> Iterator[PostgresServer]:
    if system_postgres_bin() is None:
        if os.environ.get("TRIPLINE_CI"):
            pytest.fail(f"CI must run the TLS tests: {TLS_INSTALL_HINT}")
        pytest.skip(TLS_INSTALL_HINT)
    tls = ServerTls(pki.server_cert, pki.server_key, client_ca=pki.ca)
    with start_postgres(password=PLANTED_PASSWORD, tls=tls) as server:
        yield server


def _dsn(server: PostgresServer, pki: Pki, database: str, ca: Path, sslmode: str) -> str:
    query = {
        "hostaddr": "127.0.0.1",
        "sslmode": sslmode,
        "sslrootcert": str(ca),
        "sslcert": str(pki.client_cert),
        "sslkey": str(pki.client_key),
    }
    return f"postgresql://postgres:{PLANTED_PASSWORD}@{HOST}:{server.port}/{database}?" + (
        urlencode(query)
    )


@pytest.fixture
def database(tls_postgres: PostgresServer) -> str:
    name = f"fleet_{uuid.uuid4().hex[:10]}"
    tls_postgres.create_database(name)
    return name


def _run(dsn: str, *options: str) -> tuple[int, str, str]:
    result = run_tripline(
        "pipeline", "run", "fleet_db", *options, env={"TRIPLINE_FLEET_DB_DSN": dsn}
    )
    assert PLANTED_PASSWORD not in result.stdout + result.stderr
    return result.returncode, result.stdout, result.stderr.strip().splitlines()[-1]


def _in_sync(dsn: str, settings: object) -> None:
    for table in TABLES:
        assert raw_rows(settings, table.name, table.primary_key) == source_rows(  # type: ignore[arg-type]
            dsn, table.name, table.primary_key
        ), table.name


def test_verify_full_passes_with_the_right_ca_and_fails_with_another(
    tls_postgres: PostgresServer, pki: Pki, database: str, tripline_env: object
) -> None:
    good = _dsn(tls_postgres, pki, database, pki.ca, "verify-full")
    generate(good, drivers=20, seed=4)
    code, stdout, last = _run(good)
    assert code == 0, last
    assert "backend adbc" in stdout
    _in_sync(good, tripline_env)
    engine = create_engine(parse_dsn(good))
    try:
        with engine.connect() as connection:
            used_tls = connection.exec_driver_sql(
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()"
            ).scalar_one()
    finally:
        engine.dispose()
    assert used_tls is True

    wrong = _dsn(tls_postgres, pki, database, pki.other_ca, "verify-full")
    code, _, last = _run(wrong)
    assert code == 3
    assert last.startswith("tripline: error: cannot connect to the fleet database at ")
    assert "certificate verify failed" in last


def test_connectorx_keeps_the_dsns_tls_settings(
    tls_postgres: PostgresServer, pki: Pki, database: str, tripline_env: object
) -> None:
    # rust-postgres cannot check host names: connectorx takes sslmode=require with the CA
    # (the CA is verified, the name is not) and must get the client certificate from the DSN,
    # or the server turns it away.
    dsn = _dsn(tls_postgres, pki, database, pki.ca, "require")
    generate(dsn, drivers=20, seed=6)
    code, stdout, last = _run(dsn, "--backend", "connectorx")
    assert code == 0, last
    assert "backend connectorx" in stdout
    _in_sync(dsn, tripline_env)

    code, _, last = _run(
        _dsn(tls_postgres, pki, database, pki.ca, "verify-full"), "--backend", "connectorx"
    )
    assert code == 2
    assert "--backend adbc" in last and "verify-full" in last


def test_a_dsn_off_this_machine_without_tls_is_refused_in_one_line(
    tls_postgres: PostgresServer, database: str
) -> None:
    # Pinned to 127.0.0.1: without the check the run would try that server (and fail on its
    # demand for a client certificate), never another machine.
    plain = f"postgresql://postgres:{PLANTED_PASSWORD}@{HOST}:{tls_postgres.port}/{database}?hostaddr=127.0.0.1"
    code, _, last = _run(plain)
    assert code == 2, last
    assert "sslmode=verify-full" in last


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:pw@db.tripline.test:5432/fleet",
        "postgresql://u:pw@10.0.0.5/fleet?application_name=x",
        "mysql://u:pw@db.tripline.test:3306/fleet",
        "mysql://u:pw@db.tripline.test/fleet?ssl_disabled=false",
    ],
)
def test_remote_without_tls_is_refused(dsn: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_dsn(dsn)
    message = str(refused.value)
    assert "\n" not in message and "pw" not in message.replace("password", "")
    assert ("sslmode=verify-full" if dsn.startswith("postgresql") else "ssl_ca=") in message


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:pw@127.0.0.1:5432/fleet",
        "postgresql://u:pw@localhost/fleet",
        "postgresql://u:pw@[::1]:5432/fleet",
        "postgresql://u@/fleet?host=/var/run/postgresql",
        "postgresql://u:pw@db.tripline.test/fleet?sslmode=verify-full&sslrootcert=/ca.pem",
        "postgresql://u:pw@db.tripline.test/fleet?sslmode=require",  # explicitly less
        "postgresql://u:pw@db.tripline.test/fleet?sslmode=disable",  # explicitly none
        "mysql://u:pw@127.0.0.1:3306/fleet",
        "mysql://u:pw@localhost/fleet",
        "mysql://u:pw@db.tripline.test/fleet?ssl_ca=/ca.pem",
        "mysql://u:pw@db.tripline.test/fleet?ssl_disabled=true",  # explicitly none
        "sqlite:////tmp/fleet.db",
    ],
)
def test_local_or_explicit_dsns_are_accepted(dsn: str) -> None:
    parse_dsn(dsn)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False)])
def test_ssl_disabled_reaches_pymysql_as_a_boolean(value: str, expected: bool) -> None:
    # PyMySQL takes any non-empty string as true, so "false" in the URL would disable TLS.
    dsn = f"mysql://u:pw@db.tripline.test/fleet?ssl_ca=/ca.pem&ssl_disabled={value}"
    engine = create_engine(parse_dsn(dsn))
    captured: dict[str, object] = {}

    @sa.event.listens_for(engine, "do_connect")
    def capture(dialect: object, record: object, cargs: object, cparams: dict[str, object]) -> None:
        captured.update(cparams)
        raise _CapturedError  # never connect

    try:
        with pytest.raises(_CapturedError):
            engine.connect()
    finally:
        engine.dispose()
    assert captured["ssl_disabled"] is expected


class _CapturedError(Exception):
    pass
