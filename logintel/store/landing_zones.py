"""The landing zone a deployment configured: the PostgreSQL table when a URL is set, else segment files."""
from __future__ import annotations

from pathlib import Path

from logintel.config import Settings
from logintel.store.landing import LandingZone


def open_landing(landing_dir: Path, postgres_url: str | None = None, segments: str = "auto") -> LandingZone:
    if postgres_url:
        from logintel.store.landing_postgres import PostgresLandingZone
        return PostgresLandingZone(postgres_url)
    from logintel.store.landing_files import FileLandingZone
    return FileLandingZone(Path(landing_dir), segments)


def open_landing_zone(settings: Settings) -> LandingZone:
    return open_landing(settings.landing_dir, settings.postgres_url, settings.landing_segments)
