"""Transport security against the real broker: SASL_SSL with SCRAM-SHA-512 (as Amazon MSK
serves it) and mutual TLS, the settings from the environment and dlt's providers, and
SASL in the clear refused for any broker but this machine."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaException

from devservers.kafka_broker import add_scram_user
from ingestion.core.errors import ConfigurationError
from ingestion.fleet_events.consumer import EventConsumer
from ingestion.fleet_events.generator import GeneratorOptions, generate
from ingestion.fleet_events.settings import client_config
from tests.helpers import run_tripline
from tests.ingestion.fleet_events.helpers import scalar

PASSWORD = "s3cret-Scram-pw-41"


@pytest.fixture
def tls(kafka):  # type: ignore[no-untyped-def]
    if kafka.tls is None:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS points at a broker without the test TLS listeners")
    return kafka.tls


def _scram_env(tls, password: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "tripline",
        "KAFKA_SASL_PASSWORD": password,
        "KAFKA_SSL_CA_LOCATION": str(tls.ca_pem),
    }


def test_sasl_ssl_scram_sha_512_loads_and_a_wrong_password_is_one_line(
    kafka, tls, topic, tripline_env
):
    add_scram_user(kafka.bootstrap, "tripline", PASSWORD)
    report = generate(kafka.bootstrap, GeneratorOptions(trips=50, seed=61, topic=topic))
    ok = run_tripline(
        *("pipeline", "run", "fleet_events", "--bootstrap", kafka.sasl_ssl_bootstrap),
        *("--topic", topic),
        env=_scram_env(tls, PASSWORD),
    )
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr
    assert scalar(tripline_env, "select count(*) from raw_fleet_events.trip_events") == (
        report.valid_events
    )

    wrong = run_tripline(
        *("pipeline", "run", "fleet_events", "--bootstrap", kafka.sasl_ssl_bootstrap),
        *("--topic", topic),
        env={**_scram_env(tls, "not-the-password"), "TRIPLINE_LOCK_TIMEOUT": "5"},
        timeout=120,
    )
    assert wrong.returncode != 0
    assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "not-the-password" not in wrong.stdout + wrong.stderr


def test_mutual_tls_from_dlt_settings(kafka, tls, topic, monkeypatch):
    """The client certificate through dlt's providers (SOURCES__FLEET_EVENTS__*), and any
    librdkafka property through ``properties``; without a certificate the broker refuses."""
    generate(kafka.bootstrap, GeneratorOptions(trips=5, seed=62, topic=topic))
    monkeypatch.setenv("SOURCES__FLEET_EVENTS__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("SOURCES__FLEET_EVENTS__SSL_CA_LOCATION", str(tls.ca_pem))
    monkeypatch.setenv(
        "SOURCES__FLEET_EVENTS__PROPERTIES", '{"ssl.endpoint.identification.algorithm": "https"}'
    )
    without = Consumer({**client_config(kafka.ssl_bootstrap), "group.id": "t"})
    try:
        with pytest.raises(KafkaException):
            without.list_topics(topic, timeout=5)
    finally:
        without.close()

    monkeypatch.setenv("SOURCES__FLEET_EVENTS__SSL_KEYSTORE_LOCATION", str(tls.client_keystore))
    monkeypatch.setenv("SOURCES__FLEET_EVENTS__SSL_KEYSTORE_PASSWORD", tls.password)
    config = client_config(kafka.ssl_bootstrap)
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    consumer = EventConsumer(config, topic, "tripline-tests")
    try:
        assert consumer.partitions()
        assert sum(consumer.watermarks(p)[1] for p in consumer.partitions()) > 0
    finally:
        consumer.close()


@pytest.mark.parametrize(
    ("bootstrap", "refused"),
    [
        ("b-1.example.kafka.us-east-1.amazonaws.com:9096", True),
        ("127.0.0.1:9092,10.0.0.7:9092", True),
        ("127.0.0.1:9092,localhost:9093", False),
    ],
)
def test_sasl_in_the_clear_is_refused_outside_this_machine(monkeypatch, bootstrap, refused):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    if refused:
        with pytest.raises(ConfigurationError, match="use SASL_SSL"):
            client_config(bootstrap)
    else:
        assert client_config(bootstrap)["security.protocol"] == "SASL_PLAINTEXT"
