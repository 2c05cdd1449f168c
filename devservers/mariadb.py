"""A real MariaDB for tests, the benchmark and demos, from Debian's ``mariadb-server``.

``scripts/services.d/mariadb.sh`` installs the package (binaries only). This module never
touches the system service: it creates a datadir in a temp folder with ``mariadb-install-db``,
starts ``mariadbd`` as a child process on a free 127.0.0.1 port, creates a database and a user
with a password, and ``stop()`` ends exactly that process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devservers.processes import ManagedServer, free_port, wait_for_port

DEFAULT_PASSWORD = "tripline-dev-password"
_SEARCH = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
INSTALL_HINT = (
    "MariaDB is not installed: run 'sudo apt-get update && sudo apt-get install -y "
    "mariadb-server' (or 'sudo bash scripts/services.d/mariadb.sh') to enable these tests"
)


def _find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def mariadb_available() -> bool:
    """Whether ``mariadbd`` and ``mariadb-install-db`` are installed."""
    return _find("mariadbd") is not None and _find("mariadb-install-db") is not None


@dataclass
class MariaDbServer(ManagedServer):
    """One running MariaDB server; ``dsn`` is a URL for the ``tripline`` user.

    ``stop()`` is a clean shutdown (SIGTERM), then the directory goes if we made it.
    """

    stop_signal = signal.SIGTERM
    stop_timeout = 30

    root: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    database: str = "fleet"
    owns_root: bool = True
    _stopped: bool = field(default=False, repr=False)

    @property
    def dsn(self) -> str:
        return f"mysql://tripline:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"


def start_mariadb(
    root: Path | None = None,
    password: str = DEFAULT_PASSWORD,
    database: str = "fleet",
    timeout: float = 60,
) -> MariaDbServer:
    """Create a datadir under ``root`` (a new temp dir by default) and start ``mariadbd``."""
    mariadbd, install_db = _find("mariadbd"), _find("mariadb-install-db")
    if mariadbd is None or install_db is None:
        raise RuntimeError(INSTALL_HINT)
    owns_root = root is None
    root = Path(tempfile.mkdtemp(prefix="tripline-mariadb-")) if root is None else root
    datadir, log = root / "data", root / "mariadbd.log"
    user_args: list[str] = []
    if os.geteuid() == 0:
        # mariadbd refuses to run as root unless told to; run it as root explicitly so the
        # temp datadir needs no chown (the process is ours and is stopped by pid).
        user_args = ["--user=root"]
    subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            *user_args,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = [
        mariadbd,
        "--no-defaults",
        f"--datadir={datadir}",
        *user_args,
        "--bind-address=127.0.0.1",
        f"--port={port}",
        f"--socket={root / 'mysqld.sock'}",
        f"--pid-file={root / 'mysqld.pid'}",
        f"--log-error={log}",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=0",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        "--default-time-zone=+00:00",
        "--max-connections=50",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    server = MariaDbServer(root, port, password, process, database, owns_root)
    atexit.register(server.stop)  # a script that dies still stops its server
    try:
        wait_for_port(port, process, timeout, log)
        _create_database(server)
    except BaseException:
        server.stop()
        raise
    return server


def _create_database(server: MariaDbServer) -> None:
    import pymysql  # type: ignore[import-untyped]

    deadline = time.monotonic() + 30
    while True:
        try:
            connection = pymysql.connect(unix_socket=str(server.socket), user="root", password="")
            break
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"create database if not exists `{server.database}`")
            cursor.execute(
                "create user if not exists 'tripline'@'%%' identified by %s", (server.password,)
            )
            cursor.execute(
                "create user if not exists 'tripline'@'localhost' identified by %s",
                (server.password,),
            )
            for host in ("%", "localhost"):
                cursor.execute(f"grant all on *.* to 'tripline'@'{host}' with grant option")
        connection.commit()
    finally:
        connection.close()


if __name__ == "__main__":  # a quick manual check: start, print the DSN, wait for Ctrl-C
    with start_mariadb() as running:
        print(running.dsn, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
