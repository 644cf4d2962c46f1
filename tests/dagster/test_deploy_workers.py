"""deploy/ for N workers on one Docker host, without Docker: the override's instance (workers/dagster.yaml) opens
PostgreSQL with Dagster's DockerRunLauncher and a queue of N runs, its image, network and volume
are the ones the compose project creates, every variable it hands a run container is set by the override, and
the settings the override gives are the lake's."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from logintel.config import load_settings
from tests.support.deploy_files import (DEPLOY, compose, dockerfile_instructions, dotenv, env_of, image_files,
                                        interpolate, local_path)

WORKERS = DEPLOY / "workers" / "dagster.yaml"
OVERRIDE = DEPLOY / "docker-compose.workers.yaml"


def launcher_config() -> dict:
    return yaml.safe_load(WORKERS.read_text())["run_launcher"]["config"]


def override_environment(service: str, env: dict[str, str]) -> dict[str, str]:
    """A service's environment with the override applied, as compose merges it, its ${...} read from `env`."""
    merged = dict(compose()["services"][service].get("environment", {}))
    merged.update(compose(OVERRIDE)["services"][service].get("environment", {}))
    return {key: interpolate(str(value), env) for key, value in merged.items()}


def test_the_workers_instance_differs_from_the_deploy_instance_only_in_how_runs_are_launched_and_queued():
    workers, single = yaml.safe_load(WORKERS.read_text()), yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert set(workers) == set(single)
    assert {k: v for k, v in workers.items() if k not in ("run_launcher", "concurrency")} == \
        {k: v for k, v in single.items() if k not in ("run_launcher", "concurrency")}
    assert workers["concurrency"]["pools"] == single["concurrency"]["pools"]
    assert workers["run_launcher"]["class"] == "DockerRunLauncher"
    assert workers["concurrency"]["runs"]["max_concurrent_runs"] >= 2


def test_the_run_containers_are_the_compose_projects_image_network_and_volume():
    base, override, config = compose(), compose(OVERRIDE), launcher_config()
    services = base["services"]
    assert set(override["services"]) <= set(services)
    assert config["image"] == services["code-server"]["image"]
    assert config["network"] == f"{base['name']}_default"
    home = env_of(dockerfile_instructions())["LOGINTEL_HOME"]
    [volume] = config["container_kwargs"]["volumes"]
    name, target = volume.split(":")
    assert target == home and name == f"{base['name']}_logintel-home" and "logintel-home" in base["volumes"]
    assert f"logintel-home:{home}" in services["code-server"]["volumes"]
    # The file is mounted over the image's copy (N changes without a rebuild); the daemon alone gets the socket.
    for service in ("code-server", "webserver", "daemon"):
        mounts = [v.split(":") for v in override["services"][service]["volumes"]]
        [(source, target)] = [(src, dst) for src, dst, *_ in mounts if dst.endswith("/dagster.yaml")]
        assert (DEPLOY / source).resolve() == WORKERS.resolve()
        assert target == override_environment(service, dotenv())["DAGSTER_HOME"] + "/dagster.yaml"
    # The daemon launches them: it alone gets the Docker socket.
    assert any(v.startswith("/var/run/docker.sock:") for v in override["services"]["daemon"]["volumes"])
    assert not any("docker.sock" in str(s.get("volumes")) for n, s in override["services"].items() if n != "daemon")
    # DAGSTER_HOME there is the image's copy of workers/dagster.yaml, which logintel may write (bookkeeping).
    instructions = dockerfile_instructions()
    files = image_files(instructions)
    dagster_home = override_environment("daemon", dotenv())["DAGSTER_HOME"]
    assert local_path(dagster_home + "/dagster.yaml", files) == WORKERS
    assert any(k == "RUN" and "chown" in a and dagster_home in a.split() for k, a in instructions)


def test_every_variable_a_run_container_gets_is_set_by_the_override_and_empty_means_unset(tmp_path):
    example = dotenv()
    environment = override_environment("daemon", example)
    missing = [name for name in launcher_config()["env_vars"] if "=" not in name and name not in environment]
    assert not missing, f"run containers would fail to launch: {missing} unset in the daemon"
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), **environment})
    assert settings.lake.iceberg
    assert settings.lake_location.catalog_url == "postgresql+psycopg2://logintel:change-me@postgres:5432/logintel"
    assert settings.lake_location.warehouse.startswith("file://")  # the shared volume's lake folder
    unset = {k: v for k, v in environment.items() if v != ""}
    assert load_settings({"LOGINTEL_HOME": str(tmp_path), **unset}) == settings


def test_the_workers_instance_validates_and_opens_postgres_with_the_docker_launcher(deploy_env, monkeypatch):
    import dagster as dg
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_docker import DockerRunLauncher
    shutil.copy(WORKERS, Path(deploy_env["DAGSTER_HOME"]) / "dagster.yaml")
    for key, value in deploy_env.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        runs = yaml.safe_load(WORKERS.read_text())["concurrency"]["runs"]["max_concurrent_runs"]
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == runs  # the daemon's limit
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.image == "logintel:latest" and launcher.networks == ["logintel_default"]
        assert launcher.container_kwargs["volumes"] == ["logintel_logintel-home:/var/lib/logintel"]
        assert "LOGINTEL_LAKE_CATALOG_URL" in launcher.env_vars
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.get_runs_count() == 0


@pytest.mark.parametrize("path", [WORKERS, OVERRIDE])
def test_the_workers_files_are_in_the_docs(path):
    text = (DEPLOY.parent / "docs" / "operations.md").read_text()
    assert str(path.relative_to(DEPLOY.parent)) in text
