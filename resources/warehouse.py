"""The warehouse as a Dagster resource: DuckDB's, with the lake's tables mounted in each connection when the
table format is Iceberg (`store.lake`), so an asset reads raw_events, spans and windows wherever they live."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

import duckdb
from dagster_duckdb import DuckDBResource

from logintel.store.warehouse_access import mount_lake
from resources.settings import LogintelSettings


class WarehouseResource(DuckDBResource):
    logintel: LogintelSettings  # the settings say where the lake is, if any

    def _lake(self):
        settings = self.logintel.settings()
        return settings.lake_location if settings.lake.iceberg else None

    @contextmanager
    def get_connection(self):
        with super().get_connection() as con:
            location = self._lake()
            if location is not None:
                mount_lake(con, location)
            yield con

    @contextmanager
    def lake_connection(self):
        """A connection of this run alone (in memory) with the lake's tables mounted, for what reads only those:
        it never waits for the DuckDB file's one writer. Without a lake, the warehouse's own connection."""
        location = self._lake()
        if location is None:
            with self.get_connection() as con:
                yield con
            return
        con = duckdb.connect()
        try:
            mount_lake(con, location)
            yield con
        finally:
            con.close()

    @contextmanager
    def hour_connection(self, hour: datetime, writes: tuple[str, ...]):
        """Where an hourly step that writes only lake tables (`writes`) runs: with a lake, a scratch connection of
        its own whose hour of each table is committed when the block ends (`lake.hour_runs`); without one, the
        warehouse's connection."""
        location = self._lake()
        if location is None:
            with self.get_connection() as con:
                yield con
            return
        from logintel.store.lake import open_lake
        from logintel.store.lake.hour_runs import hour_session
        with hour_session(open_lake(location), hour, writes) as con:
            yield con
