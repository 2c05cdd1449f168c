"""No failure prints a password: every byte of stdout and stderr of real CLI runs is searched.

Each case plants a password in the DSN and provokes one failure: a wrong password, a port
nobody listens on, an option connectorx rejects, the generator's unexpected error (the CLI's
generic path) and a password with an unencoded ``@`` (its tail would otherwise be read as part
of the host name, and every message naming the host would show it). Lost connections and
connectorx's panic are searched the same way in ``test_postgres.py``. Each runs with and
without ``--debug`` (tracebacks and dlt's logs).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from devservers.postgres import PostgresServer
from devservers.processes import free_port
from ingestion.core.redact import redact
from ingestion.fleet_db.helpers import parse_dsn
from ingestion.fleet_db.helpers import redact as redact_dsn
from tests.helpers import run_tripline
from tests.ingestion.fleet_db.conftest import PLANTED_PASSWORD

WRONG = "Wr0ng-" + PLANTED_PASSWORD[::-1]
HEAD, TAIL = "Pl4nted", "at-S3cret-tail-5529"  # "Pl4nted@at-S3cret-tail-5529", "@" unencoded


def _searched(secrets: tuple[str, ...], *args: str, dsn: str | None = None) -> str:
    env = {"TRIPLINE_FLEET_DB_DSN": dsn} if dsn else {}
    result = run_tripline(*args, env=env, timeout=300)
    printed = result.stdout + result.stderr
    assert result.returncode != 0, printed
    for secret in secrets:
        assert secret not in printed, f"{secret!r} was printed:\n{printed}"
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("debug", [(), ("--debug",)], ids=["plain", "debug"])
def test_no_failure_prints_the_password(
    postgres: PostgresServer, pg_dsn: str, tripline_env: object, debug: tuple[str, ...]
) -> None:
    database = pg_dsn.rsplit("/", 1)[1]
    run = ("pipeline", "run", "fleet_db", *debug)
    wrong = pg_dsn.replace(PLANTED_PASSWORD, WRONG)
    last = _searched((WRONG,), *run, dsn=wrong)
    assert "password authentication failed" in last

    nobody = f"postgresql://postgres:{PLANTED_PASSWORD}@127.0.0.1:{free_port()}/{database}"
    last = _searched((PLANTED_PASSWORD,), *run, dsn=nobody)
    assert "cannot connect" in last

    # libpq takes the option, rust-postgres does not: connectorx fails after the check passed.
    rejected = f"{pg_dsn}?gssencmode=disable"
    last = _searched((PLANTED_PASSWORD,), *run, "--backend", "connectorx", dsn=rejected)
    assert "gssencmode" in last

    # The generator has no error handling of its own: the CLI's generic path reports it.
    last = _searched((WRONG,), "generate", "fleet-db", *debug, "--dsn", wrong)
    assert "password authentication failed" in last

    # hostaddr keeps it on 127.0.0.1 whatever the host part reads as.
    unencoded = (
        f"postgresql://postgres:{HEAD}@{TAIL}@127.0.0.1:{postgres.port}/{database}"
        "?hostaddr=127.0.0.1"
    )
    for args in (run, ("generate", "fleet-db", *debug, "--dsn", unencoded)):
        last = _searched((HEAD, TAIL), *args, dsn=unencoded)
        assert "%40" in last  # says how to write it


def test_redact_masks_urls_and_password_values() -> None:
    text = (
        "postgresql://me:hunter2@db:5432/x, mysql://u:p%40ss@h/d, "
        "postgresql://u:pa@ss@h/d, host=db password=hunter3 user=me, "
        'password=\'two words\' sslpassword=k3y, {"password": "hunter4"}, PASSWORD: hunter5'
    )
    masked = redact(text)
    for secret in (
        "hunter2",
        "p%40ss",
        "pa@ss",
        "hunter3",
        "two words",
        "k3y",
        "hunter4",
        "hunter5",
    ):
        assert secret not in masked, masked
    assert "postgresql://me:***@db:5432/x" in masked and "user=me" in masked
    assert redact("nothing to hide at http://example.com/a@b") == (
        "nothing to hide at http://example.com/a@b"
    )
    # The DSN's own password goes wherever it appears, encoded or not.
    url = parse_dsn(f"postgresql://u:{quote('s3cr@t/x', safe='')}@127.0.0.1/d")
    assert "s3cr@t/x" not in redact_dsn("rejected s3cr@t/x", url)


def test_a_long_message_is_masked_before_it_is_cut() -> None:
    from ingestion.fleet_db.helpers import first_line

    url = parse_dsn(f"postgresql://u:{PLANTED_PASSWORD}@127.0.0.1/d")
    # The password straddles the 300th character, where a line is cut.
    message = "x" * 280 + f" postgresql://u:{PLANTED_PASSWORD}@127.0.0.1/d failed"
    line = first_line(RuntimeError(message), url)
    assert PLANTED_PASSWORD[:4] not in line and len(line) <= 300
