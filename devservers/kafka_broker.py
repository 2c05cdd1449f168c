"""A real single-node Apache Kafka broker (KRaft) on 127.0.0.1, started from Maven jars.

Tests, ``tripline demo`` and the benchmark need a real broker, not a fake: this module starts
Apache Kafka 3.9.1 with the machine's Java 17 from the jars ``scripts/services.d/kafka.sh``
puts in ``.cache/kafka/libs``, on two free ports (client and controller), and stops it by PID
with SIGTERM (a clean shutdown). ``restart()`` keeps the same ports and log directory, so a
consumer sees the same broker come back with its data. If ``KAFKA_BOOTSTRAP_SERVERS`` is set,
``start_or_attach`` uses that broker instead and never starts or stops one.
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


def _properties(node_id: int, port: int, controller_port: int, log_dir: Path) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": f"{node_id}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@dataclass
class KafkaBroker:
    """One broker process; ``bootstrap`` is what clients connect to."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    node_id: int = 1
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
            _properties(self.node_id, self.port, self.controller_port, data_dir)
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
    from confluent_kafka.admin import AdminClient, NewTopic

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


@contextlib.contextmanager
def running_broker(work_dir: Path | None = None) -> Iterator[KafkaBroker]:
    """A started broker for the ``with`` block; ``KAFKA_BOOTSTRAP_SERVERS`` attaches instead."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if external:
        yield KafkaBroker(Path(tempfile.gettempdir()), external_bootstrap=external)
        return
    owned = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="tripline-kafka-")) if owned else work_dir
    assert directory is not None
    broker = KafkaBroker(directory)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
