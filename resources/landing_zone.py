"""The landing zone as a Dagster resource: segment files by default, PostgreSQL when a URL is set."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import dagster as dg

from logintel.store.landing import LandingZone
from logintel.store.landing_zones import open_landing


class LandingZoneResource(dg.ConfigurableResource):
    landing_dir: str
    postgres_url: Optional[str] = None

    def open(self) -> LandingZone:
        return open_landing(Path(self.landing_dir), self.postgres_url)
