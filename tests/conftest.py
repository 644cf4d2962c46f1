"""Shared pytest fixtures (one throwaway PostgreSQL cluster per session, a fresh database per test, a
fresh LOGINTEL_HOME, the clock read when a test starts) and the markers that follow from them."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

import tests.support.hypothesis_profile  # noqa: F401,E402  (one Hypothesis profile for every property test)
from tests.support.postgres_cluster import ClusterUnavailable, PostgresCluster, start_cluster

TEST_DATABASE = "logintel_test"
# A test that asks for one of these fixtures gets the marker: `-m "not postgres"` skips it.
MARKER_FIXTURES = {
    "postgres": {"postgres_cluster", "postgres_url", "fresh_postgres_url"},
    "kafka": {"mock_brokers"},
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for marker, fixtures in MARKER_FIXTURES.items():
            if fixtures & set(getattr(item, "fixturenames", ())):
                item.add_marker(marker)


@pytest.fixture
def now() -> datetime:
    """The time this test started (UTC, whole seconds): read per test, never at import."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def previous_hour(now) -> datetime:
    """The start of the hour before `now`: always inside the hourly partitions (they end an hour after now)."""
    return now.replace(minute=0, second=0) - timedelta(hours=1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The session's running cluster; tests may `stop()`/`start()` it (it is restarted for the next)."""
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        # CI images ship the server, so a missing one there is a broken image, not a reason to skip.
        if _in_ci():
            pytest.fail(f"PostgreSQL tests cannot run in CI: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """postgresql://postgres@127.0.0.1:PORT/logintel_test, shared by the whole session."""
    return postgres_cluster.create_database(TEST_DATABASE)


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A new empty database for one test, dropped afterwards, so tests never see each other's rows."""
    url = postgres_cluster.acquire_database()
    try:
        yield url
    finally:
        postgres_cluster.start()  # a test that stopped the server must not break the next one
        postgres_cluster.release_database(url)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh LOGINTEL_HOME with the file landing zone (PostgreSQL unset)."""
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LOGINTEL_POSTGRES_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def defs(home):
    """The code location's Definitions, wired to `home`."""
    from definitions import build_definitions
    from logintel.config import load_settings
    return build_definitions(load_settings())


@pytest.fixture
def con(tmp_path):
    """A connection to a real DuckDB warehouse file."""
    from logintel.store.warehouse import connect
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()
@pytest.fixture(scope="module")
def mock_brokers():
    """Bootstrap address of librdkafka's mock cluster (the real protocol on 127.0.0.1); it lives as
    long as the producer that created it, one per test module."""
    kafka = pytest.importorskip("confluent_kafka")
    owner = kafka.Producer({"bootstrap.servers": "", "test.mock.num.brokers": 1, "log_level": 3})
    broker = next(iter(owner.list_topics(timeout=10).brokers.values()))
    yield f"{broker.host}:{broker.port}"
    owner.flush(1)


@pytest.fixture
def topic() -> str:
    """A fresh Kafka topic name."""
    import uuid
    return f"logintel-{uuid.uuid4().hex[:8]}"


from tests.support.fake_llm_server import fake_llm  # noqa: F401,E402  (the fake OpenAI-compatible server fixture)


@pytest.fixture(scope="session")
def labelled_hour_run(tmp_path_factory):
    """The simulator's labelled hour through the hourly pipeline (tests/support/labelled_hour.py), built
    once for the session: the batched stages' tests compare against it and only read it."""
    from tests.support.labelled_hour import labelled_hour
    found = labelled_hour(tmp_path_factory.mktemp("labelled"))
    yield found
    found.con.close()
