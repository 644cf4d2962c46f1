"""The settings resource mirrors `Settings`: every field is in it (or left out with a reason), a run gets back
the very Settings it was built from, the UI shows secrets' variable names only, and the code location reads
the environment once."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import dagster as dg
import pytest

from logintel.config import DEFAULT_HOME, SECRET_ENV, LakeConfig, LLMConfig, Settings, load_settings
from resources import build_resources
from resources.llm import LLM_FIELDS, LLMResource
from resources.settings import LEFT_OUT, SETTINGS_FIELDS, LogintelSettings
from tests.support import REPO_ROOT

SECRETS = {"LOGINTEL_POSTGRES_URL": "postgresql://logintel:pg-secret@db:5432/logintel",
           "LOGINTEL_REDACTION_SECRET": "redaction-secret",
           "LOGINTEL_DAGSTER_POSTGRES_URL": "postgresql+psycopg2://dagster:dagster-secret@db:5432/dagster",
           "LOGINTEL_DIGEST_WEBHOOK_URL": "http://127.0.0.1:9/hook/webhook-secret",
           "LOGINTEL_RECEIVER_TOKEN": "receiver-secret",
           "LOGINTEL_EMIT_POSTGRES_URL": "postgresql://emitter:emit-secret@db/logintel",
           "OPENAI_API_KEY": "sk-openai-secret",
           "LOGINTEL_LAKE_CATALOG_URL": "postgresql+psycopg2://lake:lake-secret@db/catalog"}
# A value other than the default for every setting (test_the_sample_sets_every_setting keeps it so).
PLAIN = {"LOGINTEL_ERROR_THRESHOLD": "12.5",
         "LOGINTEL_THRESHOLDS": '{"payments|POST /charge|PG_TIMEOUT": 25, "auth|*|*": 50}',
         "LOGINTEL_WINDOW_MINUTES": "10", "LOGINTEL_WINDOW_STEP_MINUTES": "2",
         "LOGINTEL_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "LOGINTEL_KAFKA_TOPIC": "events",
         "LOGINTEL_KAFKA_GROUP": "drain", "LOGINTEL_PARTITIONS_START": "2025-06-01-00:00",
         "LOGINTEL_MIN_GROUNDED_RATIO": "0.75", "LOGINTEL_EMBEDDER": "openai",
         "LOGINTEL_EMBEDDING_MODEL": "text-embedding-3-large", "LOGINTEL_CLUSTER_METHOD": "kmeans",
         "LOGINTEL_CLUSTER_TEMPORAL_WEIGHT": "0.3", "LOGINTEL_CLUSTER_PROJECTION": "umap",
         "LOGINTEL_LANDING_SEGMENTS": "jsonl",
         "LOGINTEL_CHANGE_INCIDENTS": "false",
         "LOGINTEL_DIGEST_TIMEZONE": "Asia/Seoul", "LOGINTEL_SLO_FILE": "/etc/logintel/slos.yaml",
         "LOGINTEL_ANALYST_RULES": "/etc/logintel/rules.yaml", "LOGINTEL_RECEIVER_MAX_BODY_BYTES": "1024",
         "LOGINTEL_RECEIVER_WAIT_S": "2.5", "PROMETHEUS_MULTIPROC_DIR": "/tmp/logintel-metrics",
         "OPENAI_BASE_URL": "http://llm.internal:8000/v1", "LOGINTEL_LLM_MODEL": "local-model",
         "LOGINTEL_LLM_TIMEOUT_S": "12", "LOGINTEL_LLM_MAX_RETRIES": "4",
         "LOGINTEL_LLM_PRICES": "/etc/logintel/prices.json", "LOGINTEL_EMIT_TRANSPORTS": "postgres,files",
         "LOGINTEL_TABLE_FORMAT": "iceberg", "LOGINTEL_LAKE_WAREHOUSE": "s3://lake/logintel",
         "LOGINTEL_S3_ENDPOINT": "http://minio:9000", "LOGINTEL_S3_REGION": "eu-west-1"}


@pytest.fixture
def sample(tmp_path, monkeypatch) -> Settings:
    """Settings with no setting at its default, read from the environment the resources then resolve from."""
    import os
    for name in [n for n in os.environ if n.startswith("LOGINTEL_EMIT_")]:
        monkeypatch.delenv(name)
    for name, value in {"LOGINTEL_HOME": str(tmp_path / "home"), **SECRETS, **PLAIN}.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_every_setting_is_a_resource_field_or_left_out_with_a_reason():
    config_names = {f.name: SETTINGS_FIELDS.config_name(f.name) for f in fields(Settings)}
    carried = {name for name, key in config_names.items() if key in LogintelSettings.model_fields}
    assert carried.isdisjoint(LEFT_OUT) and carried | set(LEFT_OUT) == set(config_names)
    assert all(reason.strip() for reason in LEFT_OUT.values())
    assert set(LogintelSettings.model_fields) == {config_names[name] for name in carried}  # and nothing else
    assert set(LLMResource.model_fields) == {f.name for f in fields(LLMConfig)}


def test_the_sample_sets_every_setting(sample):
    defaults = Settings(home=Path(DEFAULT_HOME).resolve())
    at_default = [f.name for f in fields(Settings) if getattr(sample, f.name) == getattr(defaults, f.name)]
    at_default += [f"llm.{f.name}" for f in fields(LLMConfig) if getattr(sample.llm, f.name) == getattr(LLMConfig(), f.name)]
    at_default += [f"lake.{f.name}" for f in fields(LakeConfig) if getattr(sample.lake, f.name) == getattr(LakeConfig(), f.name)]
    assert at_default == [], "give these settings a non-default value in PLAIN or SECRETS"


def test_a_run_gets_back_the_settings_the_resources_were_built_from(sample):
    # Dagster resolves the resources as it does for a run: the secrets' EnvVars from the environment.
    with dg.build_resources(build_resources(sample)) as resources:
        assert resources.logintel.settings() == sample  # postgres_url, partitions_start, receiver_*, llm included
        assert resources.llm.config() == sample.llm
        assert resources.landing.postgres_url == sample.postgres_url
        assert resources.logintel.thresholds().overrides == sample.threshold_overrides
        assert resources.warehouse._lake() == sample.lake_location  # the lake, its catalog URL read from its variable


def test_the_resources_config_shows_each_secrets_variable_and_never_its_value(sample):
    # The config Dagster keeps for each resource, which the UI shows.
    shown = {key: resource.get_resource_definition().config_schema.as_field().default_value
             for key, resource in build_resources(sample).items() if isinstance(resource, dg.ConfigurableResource)}
    text = json.dumps(shown)
    assert [name for name, value in SECRETS.items() if value in text] == []
    logintel = shown["logintel"]
    for f in fields(Settings):
        if SECRET_ENV in f.metadata:
            assert logintel[f.name] == {"env": f.metadata[SECRET_ENV]}
    assert logintel["emit_env"] == {name: {"env": name} for name in sample.emit_env}
    assert logintel["llm"]["api_key"] == shown["llm"]["api_key"] == {"env": "OPENAI_API_KEY"}
    assert logintel["lake"]["catalog_url"] == {"env": "LOGINTEL_LAKE_CATALOG_URL"}
    assert shown["warehouse"]["lake_catalog_url"] == {"env": "LOGINTEL_LAKE_CATALOG_URL"}


def test_unset_settings_give_the_defaults(tmp_path):
    settings = Settings(home=tmp_path)
    assert LogintelSettings.from_settings(settings).settings() == settings
    assert LogintelSettings(home=str(tmp_path)).settings() == settings
    assert LLM_FIELDS.from_config(LLMResource()) == LLMConfig()


def test_a_setting_of_a_type_without_a_conversion_is_refused_with_its_name():
    from dataclasses import dataclass

    from resources.config_fields import ConfigFields

    @dataclass
    class Odd:
        when: complex = 0j
    with pytest.raises(TypeError, match="Odd.when: no Dagster config conversion"):
        ConfigFields(Odd)
    ConfigFields(Odd, left_out={"when": "not needed by any run"})


@pytest.mark.subprocess
def test_the_code_location_reads_the_environment_once_for_its_partitions_and_resources():
    counting = ("import logintel.config as config\n"
                "reads, load = [], config.load_settings\n"
                "config.load_settings = lambda *a, **k: reads.append(1) or load(*a, **k)\n"
                "import assets.partitions, resources\n"
                "resources.build_resources()\n"
                "print(len(reads))\n")
    out = subprocess.run([sys.executable, "-c", counting], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "1"
