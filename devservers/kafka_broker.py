"""A real single-node Apache Kafka broker (KRaft) on 127.0.0.1, started from Maven jars.

Tests, ``tripline demo`` and the benchmark need a real broker, not a fake: this module starts
Apache Kafka 3.9.1 with the machine's Java 17 from the jars ``scripts/services.d/kafka.sh``
puts in ``.cache/kafka/libs``, on two free ports (client and controller), and stops it by PID
with SIGTERM (a clean shutdown). ``restart()`` keeps the same ports and log directory, so a
consumer sees the same broker come back with its data. If ``KAFKA_BOOTSTRAP_SERVERS`` is set,
``start_or_attach`` uses that broker instead and never starts or stops one.

With ``tls`` (:func:`make_tls_material`: a CA and certificates made with the JDK's
``keytool``) the broker also listens with SASL_SSL (SCRAM-SHA-512; users added with
:func:`add_scram_user`) and with SSL requiring a client certificate (mutual TLS), as
Amazon MSK does; PLAINTEXT stays for the other tests and the admin calls.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devservers.processes import free_port

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LIBS = REPO / ".cache" / "kafka" / "libs"
HEAP = "-Xmx384m"


class BrokerUnavailableError(RuntimeError):
    """Java or the Kafka jars are missing, or the broker did not come up."""


def libs_dir() -> Path:
    """Where the broker jars are: ``TRIPLINE_KAFKA_LIBS`` or ``.cache/kafka/libs``."""
    return Path(os.environ.get("TRIPLINE_KAFKA_LIBS", str(DEFAULT_LIBS)))


def missing_requirement() -> str | None:
    """Why a broker cannot start here (one line), or ``None`` when it can."""
    if shutil.which("java") is None:
        return "Java is not installed (Kafka needs Java 17)"
    libs = libs_dir()
    if not any(libs.glob("kafka_2.13-*.jar")):
        return f"Kafka jars missing in {libs}: run bash scripts/services.d/kafka.sh"
    return None


TLS_PASSWORD = "tripline-test-store"


@dataclass(frozen=True)
class TlsMaterial:
    """A test CA (PEM for clients), the broker's keystore and truststore, a client keystore."""

    ca_pem: Path
    broker_keystore: Path
    truststore: Path
    client_keystore: Path
    password: str = TLS_PASSWORD


def _keytool(*args: str) -> None:
    result = subprocess.run(
        ["keytool", *args, "-storepass", TLS_PASSWORD, "-noprompt"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BrokerUnavailableError(f"keytool {args[0]} failed: {result.stdout}{result.stderr}")


def make_tls_material(directory: Path) -> TlsMaterial:
    """A CA and CA-signed broker and client certificates, made with ``keytool`` (PKCS#12).

    The broker's certificate names 127.0.0.1 and localhost, so clients verify the host.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_pem = directory / "ca.p12", directory / "ca.pem"
    key = ("-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2", "-storetype", "PKCS12")
    _keytool("-genkeypair", "-alias", "ca", "-dname", "CN=tripline-test-ca", "-ext", "bc:c",
             "-keystore", str(ca), *key)  # fmt: skip
    _keytool("-exportcert", "-alias", "ca", "-rfc", "-keystore", str(ca), "-file", str(ca_pem))
    stores = {}
    for name, extension in (
        ("broker", "SAN=ip:127.0.0.1,dns:localhost"),
        ("client", "EKU=clientAuth"),
    ):
        store, request, signed = (
            directory / f"{name}{suffix}" for suffix in (".p12", ".csr", ".crt")
        )
        _keytool("-genkeypair", "-alias", name, "-dname", f"CN=tripline-test-{name}",
                 "-keystore", str(store), *key)  # fmt: skip
        _keytool("-certreq", "-alias", name, "-keystore", str(store), "-file", str(request))
        _keytool("-gencert", "-alias", "ca", "-keystore", str(ca), "-infile", str(request),
                 "-outfile", str(signed), "-rfc", "-validity", "2", "-ext", extension)  # fmt: skip
        _keytool("-importcert", "-alias", "ca", "-file", str(ca_pem), "-keystore", str(store))
        _keytool("-importcert", "-alias", name, "-file", str(signed), "-keystore", str(store))
        stores[name] = store
    truststore = directory / "truststore.p12"
    _keytool("-importcert", "-alias", "ca", "-file", str(ca_pem), "-keystore", str(truststore),
             "-storetype", "PKCS12")  # fmt: skip
    return TlsMaterial(ca_pem, stores["broker"], truststore, stores["client"])


def _tls_properties(tls: TlsMaterial) -> dict[str, str]:
    return {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.broker_keystore),
        "ssl.keystore.password": tls.password,
        "ssl.key.password": tls.password,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": str(tls.truststore),
        "ssl.truststore.password": tls.password,
        "listener.name.ssl.ssl.client.auth": "required",
    }


def _properties(
    node_id: int,
    port: int,
    controller_port: int,
    log_dir: Path,
    tls: TlsMaterial | None = None,
    tls_ports: tuple[int, int] = (0, 0),
) -> str:
    listeners = [f"PLAINTEXT://127.0.0.1:{port}"]
    protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if tls is not None:
        listeners += [f"SASL_SSL://127.0.0.1:{tls_ports[0]}", f"SSL://127.0.0.1:{tls_ports[1]}"]
        protocols += ",SASL_SSL:SASL_SSL,SSL:SSL"
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": f"{node_id}@127.0.0.1:{controller_port}",
        "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{controller_port}"]),
        "advertised.listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": protocols,
        "log.dirs": str(log_dir),
        "num.partitions": "4",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        # The cleaner's dedupe buffer is 128 MiB of heap by default; keep the heap small.
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        "log.retention.hours": "168",
        "log.segment.bytes": str(256 * 1024 * 1024),
        **(_tls_properties(tls) if tls is not None else {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@dataclass
class KafkaBroker:
    """One broker process; ``bootstrap`` is what clients connect to."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    node_id: int = 1
    tls: TlsMaterial | None = None
    sasl_ssl_port: int = field(default_factory=free_port)
    ssl_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # Set when attached to a broker this module did not start (it is never stopped).
    external_bootstrap: str | None = None

    @property
    def external(self) -> bool:
        return self.external_bootstrap is not None

    @property
    def bootstrap(self) -> str:
        return self.external_bootstrap or f"127.0.0.1:{self.port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """SASL_SSL with SCRAM-SHA-512 (only with ``tls``)."""
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        """SSL with a required client certificate (only with ``tls``)."""
        return f"127.0.0.1:{self.ssl_port}"

    @property
    def config_path(self) -> Path:
        return self.work_dir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "broker.log"

    def _java(self, main_class: str, *args: str) -> list[str]:
        classpath = str(libs_dir() / "*")
        return ["java", HEAP, "-XX:+UseSerialGC", "-cp", classpath, main_class, *args]

    def format(self) -> None:
        """Write the config and format the KRaft storage once (a new cluster id)."""
        reason = missing_requirement()
        if reason:
            raise BrokerUnavailableError(reason)
        data_dir = self.work_dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            _properties(
                self.node_id,
                self.port,
                self.controller_port,
                data_dir,
                self.tls,
                (self.sasl_ssl_port, self.ssl_port),
            )
        )
        cluster_id = "-"
        while cluster_id.startswith("-"):  # the storage tool would read it as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config_path)
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            detail = result.stderr.strip()[-300:]
            raise BrokerUnavailableError(f"kafka storage format failed: {detail}")

    def start(self, timeout: float = 90.0) -> None:
        """Start the broker process and wait until it answers a metadata request."""
        if not self.config_path.exists():
            self.format()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(self.config_path)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        last_error = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BrokerUnavailableError(
                    f"kafka broker exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception as error:  # KafkaException while the port is not yet open
                last_error = str(error)
            time.sleep(0.3)
        self.stop()
        raise BrokerUnavailableError(f"kafka broker not ready after {timeout:.0f} s: {last_error}")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM the broker by PID and wait for its clean shutdown (SIGKILL if it hangs)."""
        if self.external:
            return
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop and start again on the same ports with the same data."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def create_topic(self, name: str, partitions: int) -> None:
        """Create ``name`` with ``partitions`` partitions if it does not exist yet."""
        create_topic(self.bootstrap, name, partitions)


def create_topic(bootstrap: str, name: str, partitions: int, timeout: float = 30.0) -> None:
    """Create a topic (replication factor 1) and wait until its leaders are known."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1)])
    try:
        futures[name].result(timeout)
    except KafkaException as error:
        if "TOPIC_ALREADY_EXISTS" not in str(error) and "already exists" not in str(error):
            raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic and topic.error is None and all(p.leader >= 0 for p in topic.partitions.values()):
            return
        time.sleep(0.2)
    raise BrokerUnavailableError(f"topic {name} has no leaders after {timeout:.0f} s")


def add_scram_user(bootstrap: str, user: str, password: str) -> None:
    """Create (or replace) a SCRAM-SHA-512 user through the PLAINTEXT listener."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin._scram import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient({"bootstrap.servers": bootstrap})
    upsert = UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password.encode()
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(30)


@contextlib.contextmanager
def running_broker(
    work_dir: Path | None = None, tls: TlsMaterial | None = None
) -> Iterator[KafkaBroker]:
    """A started broker for the ``with`` block; ``KAFKA_BOOTSTRAP_SERVERS`` attaches instead."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if external:
        yield KafkaBroker(Path(tempfile.gettempdir()), external_bootstrap=external)
        return
    owned = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="tripline-kafka-")) if owned else work_dir
    assert directory is not None
    broker = KafkaBroker(directory, tls=tls)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
