"""docker-compose.yml: valid Compose, services that scale, restart, wait for each other and check
their health, PostgreSQL and Redis kept on volumes."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.deployment.spec import (
    COMPOSE,
    ENV_SETTINGS,
    HUDOOR,
    LONG_RUNNING,
    NGINX_CONF,
    ONE_SHOT,
    ROOT,
    SERVICES,
    argv_of,
    healthcheck_argv,
)


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads((ROOT / "deploy" / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_file_has_no_obsolete_version_key():
    assert "version" not in COMPOSE


def test_compose_schema_copy_records_its_source_and_licence():
    note = (ROOT / "deploy" / "COMPOSE-SPEC-LICENSE.md").read_text(encoding="utf-8")
    for fact in ("compose-spec/compose-spec", "schema/compose-spec.json", "170098ba", "Apache"):
        assert fact in note


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dependencies_and_named_volumes_are_declared(service):
    for dependency in SERVICES[service].get("depends_on", {}):
        assert dependency in SERVICES
        assert "profiles" not in SERVICES[dependency], f"{dependency} only runs in a profile"
    for volume in SERVICES[service].get("volumes", []):
        source = volume.split(":")[0]
        assert source.startswith(".") or source in COMPOSE["volumes"], volume
        assert not source.startswith(".") or (ROOT / source).is_file(), volume


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_long_running_services_restart_unless_stopped_and_one_shot_steps_never(service):
    expected = "no" if service in ONE_SHOT else "unless-stopped"
    assert SERVICES[service].get("restart") == expected


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_healthcheck(service):
    healthcheck = SERVICES[service].get("healthcheck", {})
    assert healthcheck.get("test") and not healthcheck.get("disable")


@pytest.mark.parametrize("service", HUDOOR)
def test_hudoor_services_publish_no_port_and_fix_no_container_name_so_they_can_scale(service):
    assert "ports" not in SERVICES[service]
    assert "container_name" not in SERVICES[service]


def test_only_the_proxy_publishes_a_port_and_it_is_the_one_nginx_listens_on():
    publishers = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert list(publishers) == ["proxy"]
    (mapping,) = publishers["proxy"]
    assert int(str(mapping).rsplit(":", 1)[1]) == int(re.search(r"listen\s+(\d+)", NGINX_CONF)[1])
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]


@pytest.mark.parametrize("service", [s for s in HUDOOR if s not in ONE_SHOT])
def test_services_wait_for_the_migrations_to_finish(service):
    depends_on = SERVICES[service]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_wait_for_a_healthy_database():
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_postgres_15_keeps_its_data_in_a_named_volume_and_reports_readiness():
    postgres = SERVICES["postgres"]
    assert postgres["image"].split(":")[1].startswith("15")
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in COMPOSE["volumes"]
    assert "pg_isready" in healthcheck_argv("postgres")


def test_redis_7_appends_every_write_to_a_named_volume_and_reports_readiness():
    redis = SERVICES["redis"]
    assert redis["image"].split(":")[1].startswith("7")
    assert " ".join(argv_of(redis["command"])) == "redis-server --appendonly yes"
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in COMPOSE["volumes"]
    assert "redis-cli ping" in " ".join(healthcheck_argv("redis"))


def test_postgres_init_script_creates_every_other_database_the_env_example_points_at():
    postgres = SERVICES["postgres"]
    init = next(v for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in v)
    sql = (ROOT / init.split(":")[0]).read_text(encoding="utf-8")
    created = set(re.findall(r"CREATE DATABASE (\w+)", sql))
    wanted = {
        urlsplit(value).path.lstrip("/")
        for name, value in ENV_SETTINGS.items()
        if name.endswith("_DATABASE_URL") and "@postgres:" in value
    }
    assert created == wanted - {postgres["environment"]["POSTGRES_DB"]}
