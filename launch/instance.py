"""The Dagster instance under LOGINTEL_HOME, and loading the code location's Definitions."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from logintel.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# One warehouse writer at a time (DuckDB allows one writing process); the SQLite storage is the
# embedded default, PostgreSQL via dagster-postgres when LOGINTEL_DAGSTER_POSTGRES_URL is set.
DAGSTER_YAML = """\
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""

POSTGRES_STORAGE = """\
storage:
  postgres:
    postgres_url:
      env: LOGINTEL_DAGSTER_POSTGRES_URL
"""


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = DAGSTER_YAML + (POSTGRES_STORAGE if settings.dagster_postgres_url else "")
    path = home / "dagster.yaml"
    if not path.exists() or path.read_text() != config:
        path.write_text(config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def load_definitions():
    spec = importlib.util.spec_from_file_location("logintel_definitions", REPO_ROOT / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs
