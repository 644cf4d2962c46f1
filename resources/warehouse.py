"""The warehouse as a Dagster resource: DuckDB's, with the lake's tables mounted in each connection when the
table format is Iceberg (`store.lake`), so an asset reads raw_events, spans and windows wherever they live."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Optional

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from logintel.config import LakeLocation, Settings
from logintel.store.warehouse_access import mount_lake


class WarehouseResource(DuckDBResource):
    """The DuckDB file (`database`) and, when `lake_warehouse` is set, the lake whose tables each connection
    mounts (its catalog URL as the variable it comes from when that is a secret)."""
    lake_warehouse: Optional[str] = None  # None: no lake, every table in the DuckDB file
    lake_catalog_url: Optional[str] = None
    s3_endpoint: Optional[str] = None
    s3_region: Optional[str] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        if not settings.lake.iceberg:
            return cls(database=str(settings.warehouse_path))
        location = settings.lake_location
        catalog = dg.EnvVar("LOGINTEL_LAKE_CATALOG_URL") if settings.lake.catalog_url else location.catalog_url
        return cls(database=str(settings.warehouse_path), lake_warehouse=location.warehouse, lake_catalog_url=catalog,
                   s3_endpoint=location.s3_endpoint, s3_region=location.s3_region)

    def _lake(self) -> LakeLocation | None:
        if self.lake_warehouse is None:
            return None
        return LakeLocation(warehouse=self.lake_warehouse, catalog_url=self.lake_catalog_url,
                            s3_endpoint=self.s3_endpoint, s3_region=self.s3_region)

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
    def hour_connection(self, hour: datetime, writes: tuple[str, ...], history: tuple[str, ...] = (),
                        reach=None):
        """Where an hourly step that writes only lake tables (`writes`) runs: with a lake, a scratch connection of
        its own whose hour of each table is committed when the block ends (`lake.hour_runs`; `history`: tables of
        `writes` whose other hours the step reads and may change, `reach` a `HistoryReach` saying which); without
        one, the warehouse's connection."""
        location = self._lake()
        if location is None:
            with self.get_connection() as con:
                yield con
            return
        from logintel.store.lake import open_lake
        from logintel.store.lake.hour_runs import hour_session
        with hour_session(open_lake(location), hour, writes, history=history, reach=reach) as con:
            yield con
