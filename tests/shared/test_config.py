"""Settings fail at start with a message naming the variable."""

import pytest

from shared import config


def test_missing_required_setting_names_the_variable():
    with pytest.raises(config.ConfigError, match="SOMETHING_REQUIRED"):
        config.env_str("SOMETHING_REQUIRED", environ={})


def test_bad_integer_names_the_variable():
    with pytest.raises(config.ConfigError, match="MAX_BODY_BYTES"):
        config.env_int("MAX_BODY_BYTES", 10, environ={"MAX_BODY_BYTES": "lots"})


def test_database_url_defaults_to_a_sqlite_file_under_var(tmp_path):
    url = config.database_url("checkin", {"HUDOOR_VAR_DIR": str(tmp_path)})
    assert url == f"sqlite:///{tmp_path}/checkin.db"


def test_postgres_urls_use_psycopg_and_other_schemes_are_refused(tmp_path):
    env = {"HUDOOR_VAR_DIR": str(tmp_path), "CHECKIN_DATABASE_URL": "postgresql://h/db"}
    assert config.database_url("checkin", env) == "postgresql+psycopg://h/db"
    with pytest.raises(config.ConfigError, match="CHECKIN_DATABASE_URL"):
        config.database_url("checkin", {**env, "CHECKIN_DATABASE_URL": "mysql://h/db"})


def test_redis_url_defaults_to_the_embedded_socket_and_checks_scheme(tmp_path):
    env = {"HUDOOR_VAR_DIR": str(tmp_path)}
    assert config.redis_url(env) == f"redis+socket://{tmp_path}/redis.sock"
    with pytest.raises(config.ConfigError, match="REDIS_URL"):
        config.redis_url({**env, "REDIS_URL": "amqp://x"})


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    env = {"HUDOOR_VAR_DIR": str(tmp_path)}
    first = config.secret_key(env)
    assert config.secret_key(env) == first and len(first) >= 32
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0


def test_short_secret_key_is_refused():
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.secret_key({"SECRET_KEY": "short"})


def test_default_language_must_be_supported():
    with pytest.raises(config.ConfigError, match="DEFAULT_LANGUAGE"):
        config.default_language({"DEFAULT_LANGUAGE": "fr"})
