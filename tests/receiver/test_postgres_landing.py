"""With LOGINTEL_POSTGRES_URL set, the receiver lands into the PostgreSQL table the pipeline reads."""
from __future__ import annotations

from logintel.store.landing_postgres import PostgresLandingZone
from tests.receiver.otlp_requests import many
from tests.support.receiver import serving


def test_the_receiver_lands_in_the_configured_postgres_landing_zone(tmp_path, fresh_postgres_url):
    with serving(tmp_path, {"LOGINTEL_POSTGRES_URL": fresh_postgres_url}) as rx:
        assert [t.kind for t in rx.running.emitter.config.transports] == ["postgres"]
        status, _, _ = rx.post("/v1/logs", many(50, service="pg-landed").SerializeToString(), "application/x-protobuf")
        assert status == 200
        assert rx.landed() == []  # nothing in files the pipeline would not read
    with PostgresLandingZone(fresh_postgres_url) as zone:
        lines = [line for hour in zone.hours() for line in zone.read_hour(hour).lines]
    assert len(lines) == 50 and all('"service":"pg-landed"' in line for line in lines)
