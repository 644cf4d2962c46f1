"""PostgresTransport: batches into the PostgreSQL landing zone, idempotent by event_id."""
from __future__ import annotations

from typing import Sequence

from logintel.ingest.buffer import Item
from logintel.ingest.transports.base import Transport, by_hour
from logintel.store.landing_postgres import PostgresLandingZone


class PostgresTransport(Transport):
    name = "postgres"

    def __init__(self, url: str, connect_timeout: int = 5):
        self.zone = PostgresLandingZone(url, connect_timeout=connect_timeout)

    def send(self, items: Sequence[Item]) -> None:
        # write_lines raises LandingUnavailable when the server is down; ON CONFLICT DO NOTHING
        # makes resending a batch whose commit reply was lost harmless.
        for hour, lines in by_hour(items).items():
            self.zone.write_lines(hour, lines)

    def close(self) -> None:
        self.zone.close()
