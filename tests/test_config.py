"""Settings read from the environment: the daily briefing's time zone, SLO file and webhook, the Dagster
instance's URL, and each secret from the variable its field names."""
from dataclasses import fields
from pathlib import Path

import pytest

from logintel.config import ENV_PASSTHROUGH, SECRET_ENV, LLMConfig, Settings, load_settings


def test_digest_settings_default_to_utc_the_builtin_slos_and_no_delivery(tmp_path):
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path)})
    assert settings.digest_timezone == "UTC"
    assert settings.slo_file is None and settings.digest_webhook_url is None
    assert settings.digests_dir == tmp_path.resolve() / "outputs" / "digests"
    assert settings.briefings_dir == tmp_path.resolve() / "outputs" / "briefings"


def test_digest_settings_are_read_from_the_environment(tmp_path):
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_DIGEST_TIMEZONE": "Asia/Seoul",
                              "LOGINTEL_SLO_FILE": "~/slos.yaml",
                              "LOGINTEL_DIGEST_WEBHOOK_URL": "http://127.0.0.1:9/hook/secret"})
    assert settings.digest_timezone == "Asia/Seoul"
    assert settings.slo_file == Path("~/slos.yaml").expanduser()
    assert settings.digest_webhook_url.endswith("/hook/secret")
    assert "secret" not in repr(settings)  # a printed config never carries the webhook's secret path


def test_an_unknown_time_zone_is_refused_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="LOGINTEL_DIGEST_TIMEZONE.*'Mars/Olympus'"):
        load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_DIGEST_TIMEZONE": "Mars/Olympus"})


def test_the_dagster_instance_url_is_kept_with_the_psycopg2_driver(tmp_path):
    url = "postgresql+psycopg2://dagster:pw@db:5432/dagster"
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_DAGSTER_POSTGRES_URL": url})
    assert settings.dagster_postgres_url == url and "pw" not in repr(settings)


@pytest.mark.parametrize("url", ["postgresql://dagster:hunter2@db/dagster", "postgresql+psycopg://dagster:hunter2@db/d",
                                 "postgres://dagster:hunter2@db/dagster", "dagster:hunter2@db/dagster"])
def test_a_dagster_instance_url_without_psycopg2_is_refused_with_the_fix_and_no_password(tmp_path, url):
    # Dagster reads the variable itself, so Settings cannot rewrite it: psycopg 3 (and a bare
    # postgresql:// from SQLAlchemy 2.1 on) breaks dagster-postgres' webserver connections.
    with pytest.raises(ValueError, match=r"LOGINTEL_DAGSTER_POSTGRES_URL: use a postgresql\+psycopg2:// URL") as err:
        load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_DAGSTER_POSTGRES_URL": url})
    assert "hunter2" not in str(err.value)


def secret_fields():
    """(path in Settings, variable) of every secret, the LLM's included: what `secret(...)` declared."""
    return [(f"{prefix}{f.name}", f.metadata[SECRET_ENV]) for prefix, source in (("", Settings), ("llm.", LLMConfig))
            for f in fields(source) if SECRET_ENV in f.metadata]


def value_at(settings, path: str):
    for name in path.split("."):
        settings = getattr(settings, name)
    return settings


@pytest.mark.parametrize("path, variable", secret_fields())
def test_each_secret_is_read_from_the_variable_its_field_names_and_kept_out_of_repr(tmp_path, path, variable):
    # The Dagster layer hands the variable's name on (dg.EnvVar), so it must be the one load_settings reads.
    value = "postgresql+psycopg2://someone:hunter2@db/d"  # valid for every secret, the Dagster URL's check included
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), variable: value})
    assert value_at(settings, path) == value
    assert "hunter2" not in repr(settings)


def test_every_field_kept_out_of_repr_is_a_declared_secret():
    # A field hidden from repr but not declared a secret would be shown as a plain value by the Dagster UI.
    hidden = {f.name for source in (Settings, LLMConfig) for f in fields(source) if not f.repr}
    declared = {f.name for source in (Settings, LLMConfig) for f in fields(source)
                if SECRET_ENV in f.metadata or ENV_PASSTHROUGH in f.metadata}
    assert hidden == declared


def test_the_emitters_variables_are_passed_through_by_name(tmp_path):
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_EMIT_BATCH_SIZE": "7", "OTHER": "x"})
    assert settings.emit_env == {"LOGINTEL_EMIT_BATCH_SIZE": "7"}
    emit_env = next(f for f in fields(Settings) if f.name == "emit_env")
    assert emit_env.metadata[ENV_PASSTHROUGH] == "LOGINTEL_EMIT_"  # the prefix load_settings keeps


def test_change_incidents_are_on_unless_turned_off_and_a_bad_value_says_so():
    import pytest

    from logintel.config import load_settings
    assert load_settings({}).change_incidents is True
    assert load_settings({"LOGINTEL_CHANGE_INCIDENTS": "off"}).change_incidents is False
    with pytest.raises(ValueError, match="LOGINTEL_CHANGE_INCIDENTS: expected true or false"):
        load_settings({"LOGINTEL_CHANGE_INCIDENTS": "sometimes"})
