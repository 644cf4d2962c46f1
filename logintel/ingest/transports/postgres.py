"""PostgresTransport: batches into the PostgreSQL landing zone, idempotent by event_id."""
from __future__ import annotations

from typing import Sequence

from logintel.ingest.buffer import Item
from logintel.ingest.transports.base import Transport
from logintel.store.landing_postgres import PostgresLandingZone


class PostgresTransport(Transport):
    name = "postgres"

    def __init__(self, url: str, connect_timeout: int = 5):
        self.zone = PostgresLandingZone(url, connect_timeout=connect_timeout)

    def send(self, items: Sequence[Item]) -> None:
        # One COPY for the whole batch: the server cuts each row's hour, and the items already
        # know their event_id and time, so no line is decoded again. write_rows raises
        # LandingUnavailable when the server is down; ON CONFLICT DO NOTHING makes resending a
        # batch whose commit reply was lost harmless.
        self.zone.write_rows((item.event_id, item.timestamp, item.line) for item in items)

    def close(self) -> None:
        self.zone.close()

