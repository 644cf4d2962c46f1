"""The landing zone as a Dagster resource: JSONL files by default, PostgreSQL when a URL is set."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import dagster as dg

from logintel.store.landing import LandingZone


class LandingZoneResource(dg.ConfigurableResource):
    landing_dir: str
    postgres_url: Optional[str] = None

    def open(self) -> LandingZone:
        if self.postgres_url:
            from logintel.store.landing_postgres import PostgresLandingZone
            return PostgresLandingZone(self.postgres_url)
        from logintel.store.landing_files import FileLandingZone
        return FileLandingZone(Path(self.landing_dir))
