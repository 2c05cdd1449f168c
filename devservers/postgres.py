"""A real PostgreSQL 16 for tests, the benchmark and demos, from the ``pgserver`` wheel.

``pgserver`` ships PostgreSQL's binaries on PyPI. Rather than its own socket-only server, this
module runs those binaries itself: ``initdb`` with a password for TCP logins, then ``postgres``
as a child process listening on a free 127.0.0.1 port, so clients connect exactly as they would
to a production server (password over TCP) and ``stop()`` ends exactly that process. As root,
PostgreSQL refuses to run, so the server runs as pgserver's unprivileged ``pgserver`` user.
That user must reach the binaries and the data folder: from a clone in a private folder (mode
0700, e.g. root's home) the binaries run from a shared copy (:func:`pgserver_bin`) and data
folders go under a temp folder every user can pass through; parent folders are never opened up.

pgserver's build has no SSL. A server with TLS (``tls=``) runs Debian's PostgreSQL instead
(:func:`system_postgres_bin`, package ``postgresql``), with the certificate and key the caller
made; with a client CA it also requires a client certificate on every TCP connection.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devservers.processes import ManagedServer, free_port, wait_for_port

DEFAULT_PASSWORD = "tripline-dev-password"
TLS_INSTALL_HINT = (
    "PostgreSQL with SSL is not installed (pgserver's build has none): run 'sudo apt-get "
    "update && sudo apt-get install -y postgresql' to enable the TLS tests"
)


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key; ``client_ca`` makes client certificates mandatory."""

    cert: Path
    key: Path
    client_ca: Path | None = None


def system_postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries (built with OpenSSL), the newest version, if installed."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def _run_as() -> tuple[str | None, int | None, int | None]:
    """The (user, uid, gid) to run the server as: ourselves, or ``pgserver`` when root."""
    if os.geteuid() != 0:
        return None, None, None
    import pwd

    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    entry = pwd.getpwnam("pgserver")
    return "pgserver", entry.pw_uid, entry.pw_gid


@dataclass
class PostgresServer(ManagedServer):
    """One running PostgreSQL server; ``dsn`` is a SQLAlchemy URL with the password.

    ``stop()`` is PostgreSQL's fast shutdown (SIGINT), then the directory goes if we made it.
    """

    stop_signal = signal.SIGINT

    root: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    database: str = "fleet"
    owns_root: bool = True
    _stopped: bool = field(default=False, repr=False)

    @property
    def dsn(self) -> str:
        return self.url(self.database)

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def create_database(self, database: str) -> None:
        """Create ``database`` unless it exists (as postgres, over the Unix socket)."""
        _create_database(self, database)


def start_postgres(
    root: Path | None = None,
    password: str = DEFAULT_PASSWORD,
    database: str = "fleet",
    settings: dict[str, str] | None = None,
    timeout: float = 60,
    tls: ServerTls | None = None,
    bin_dir: Path | None = None,
) -> PostgresServer:
    """Initialise a cluster under ``root`` (a new temp dir by default) and start it on TCP.

    ``bin_dir``: PostgreSQL's binaries (default pgserver's; with ``tls``, Debian's).
    """
    user, uid, gid = _run_as()
    if bin_dir is None and tls is not None:
        bin_dir = system_postgres_bin()
        if bin_dir is None:
            raise RuntimeError(TLS_INSTALL_HINT)
    if bin_dir is None:
        bin_dir = pgserver_bin(shared=user is not None)
    owns_root = root is None
    if root is None:
        base = None if user is None else _data_base()
        root = Path(tempfile.mkdtemp(prefix="tripline-pg-", dir=base))
    root.mkdir(parents=True, exist_ok=True)
    if user is not None and not _reachable_by_others(root):
        raise RuntimeError(
            f"PostgreSQL runs as {user!r} and cannot reach {root}: a folder on the way is "
            "private; choose a root under /tmp or /var/tmp"
        )
    pgdata, sockets, log = root / "pgdata", root / "sockets", root / "postgres.log"
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    sockets.mkdir(exist_ok=True)
    if uid is not None and gid is not None:
        for path in (root, sockets, pwfile):
            os.chown(path, uid, gid)
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        check=True,
        capture_output=True,
        user=user,
    )
    pwfile.unlink()
    port = free_port()
    tls_options = _install_tls(root, pgdata, tls, uid, gid) if tls else {}
    options = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(sockets),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "timezone": "UTC",
        "max_connections": "50",
        **tls_options,
        **(settings or {}),
    }
    command = [str(bin_dir / "postgres"), "-D", str(pgdata)]
    for key, value in options.items():
        command += ["-c", f"{key}={value}"]
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, user=user, start_new_session=True
        )
    server = PostgresServer(root, port, password, process, database, owns_root)
    atexit.register(server.stop)  # a script that dies still stops its server
    try:
        wait_for_port(port, process, timeout, log)
        _create_database(server, database)
    except BaseException:
        server.stop()
        raise
    return server


def pgserver_bin(shared: bool = False) -> Path:
    """pgserver's ``bin`` folder; ``shared``: one another user can run from.

    A clone in a private folder (mode 0700, e.g. root's home) keeps its venv, and so
    pgserver's binaries, out of reach of the unprivileged user the server runs as. Then the
    install (bin, lib, share: about 34 MB) is copied once into a folder every user can read,
    ``/var/tmp/tripline-pgserver-<version>``, owned by us and writable by nobody else.
    """
    import pgserver

    install = Path(pgserver.__file__).parent / "pginstall"
    if not shared or _reachable_by_others(install / "bin" / "postgres"):
        return install / "bin"
    return _shared_copy(install) / "pgserver" / "pginstall" / "bin"


def _reachable_by_others(path: Path) -> bool:
    """Whether any user may pass through every folder up to ``path``."""
    resolved = path.resolve()
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in resolved.parents)


def _data_base() -> Path | None:
    """Where a server running as another user can have its data folder."""
    default = Path(tempfile.gettempdir())
    if _reachable_by_others(default / "x"):
        return None  # tempfile's own choice
    return _shared_base()


def _shared_base() -> Path:
    for candidate in (Path("/var/tmp"), Path("/tmp")):
        if candidate.is_dir() and _reachable_by_others(candidate / "x"):
            return candidate
    raise RuntimeError("neither /var/tmp nor /tmp can be reached by every user")


def _ours_alone(path: Path) -> bool:
    """A real folder we own that nobody else may write to (so it is safe to run from)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


# Written last, so a copy cut short is never used; named after the layout it completes.
_COMPLETE = "pgserver/pginstall/.complete"


def _shared_copy(install: Path) -> Path:
    version = importlib.metadata.version("pgserver")
    target = _shared_base() / f"tripline-pgserver-{version}"
    if _ours_alone(target) and (target / _COMPLETE).is_file():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    # The same layout as site-packages: the binaries find their vendored libpq through
    # RPATH $ORIGIN/../../../pgserver.libs.
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, staging / "pgserver" / "pginstall" / part, symlinks=True)
    libs = install.parent.parent / "pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, staging / "pgserver.libs", symlinks=True)
    for folder, _, files in os.walk(staging):
        os.chmod(folder, 0o755)
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                os.chmod(file, 0o755 if os.access(file, os.X_OK) else 0o644)
    (staging / _COMPLETE).write_text(f"pgserver {version} from {install}\n")
    try:
        os.rename(staging, target)  # atomic: two starts at once both end up with one copy
    except OSError:
        if _ours_alone(target) and (target / _COMPLETE).is_file():
            shutil.rmtree(staging, ignore_errors=True)
            return target
        # Someone else's folder under that name: run from our own copy, removed at exit.
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
        return staging
    return target


def _install_tls(
    root: Path, pgdata: Path, tls: ServerTls, uid: int | None, gid: int | None
) -> dict[str, str]:
    """Copy the certificate and key where the server user can read them; the settings."""
    folder = root / "tls"
    folder.mkdir(exist_ok=True)
    files = {"cert": folder / "server.pem", "key": folder / "server.key"}
    shutil.copyfile(tls.cert, files["cert"])
    shutil.copyfile(tls.key, files["key"])
    os.chmod(files["key"], 0o600)  # PostgreSQL refuses a key others can read
    options = {
        "ssl": "on",
        "ssl_cert_file": str(files["cert"]),
        "ssl_key_file": str(files["key"]),
    }
    if tls.client_ca is not None:
        files["ca"] = folder / "client-ca.pem"
        shutil.copyfile(tls.client_ca, files["ca"])
        options["ssl_ca_file"] = str(files["ca"])
        # TCP only with TLS, a password and a client certificate the CA signed.
        (pgdata / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
    if uid is not None and gid is not None:
        for path in (folder, *files.values(), pgdata / "pg_hba.conf"):
            os.chown(path, uid, gid)
    return options


def _create_database(server: PostgresServer, database: str) -> None:
    import psycopg2

    deadline = time.monotonic() + 30
    while True:
        try:
            # The Unix socket (trust): works whatever TCP demands (TLS, client certificates).
            connection = psycopg2.connect(
                host=str(server.sockets), port=server.port, user="postgres", dbname="postgres"
            )
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # "the database system is starting up"
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'create database "{database}"')
    finally:
        connection.close()


if __name__ == "__main__":  # a quick manual check: start, print the DSN, wait for Ctrl-C
    with start_postgres() as running:
        print(running.dsn, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
