"""Fixtures of the deploy/ tests."""
import os
import shutil

import pytest

from tests.support.deploy_files import DEPLOY, VENV_BIN


@pytest.fixture
def deploy_env(tmp_path, fresh_postgres_url):
    """The environment the image gives its services, pointed here: DAGSTER_HOME a copy of deploy/ with
    dagster.yaml alone, the instance and the landing zone in a fresh database of the throwaway cluster."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOGINTEL_", "DAGSTER_"))}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", LOGINTEL_HOME=str(tmp_path / "home"),
               DAGSTER_HOME=str(dagster_home), DAGSTER_STORAGE_DIR=str(tmp_path / "home/dagster/storage"),
               DAGSTER_COMPUTE_LOGS_DIR=str(tmp_path / "home/dagster/logs"), LOGINTEL_POSTGRES_URL=fresh_postgres_url,
               LOGINTEL_DAGSTER_POSTGRES_URL=fresh_postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    return env
