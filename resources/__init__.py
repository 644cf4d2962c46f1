"""Dagster resources for logintel, wired in one place (`build_resources`)."""
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings, build_resources

__all__ = ["LandingZoneResource", "LogintelSettings", "build_resources"]
