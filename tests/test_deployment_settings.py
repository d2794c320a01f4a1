"""Settings: docker-compose.yml, .env.example and what the code reads agree, and each container
gets its own service's settings and no other's."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping

import pytest

from tests.deployment.spec import (
    COMPOSE_TEXT,
    ENV_DOCUMENTED_FIXED,
    ENV_SETTINGS,
    HUDOOR,
    REQUIRED_SECRETS,
    ROOT,
    SERVICES,
    TOOL_VARIABLES,
    env_example_blocks,
    expand,
)


class RecordingEnviron(Mapping):
    """An environment that remembers every variable name looked up in it."""

    def __init__(self, values: Mapping[str, str]):
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, name):
        self.read.add(name)
        return self.values[name]

    def __contains__(self, name):
        self.read.add(name)
        return name in self.values

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def _config_classes():
    from services.checkin.config import CheckinConfig
    from services.notifications.config import NotificationsConfig
    from services.registration.config import RegistrationConfig

    return RegistrationConfig, CheckinConfig, NotificationsConfig


@pytest.fixture(scope="module")
def settings_the_configs_read(tmp_path_factory) -> set[str]:
    """Every variable shared/config.py and services/*/config.py read, on each of their paths."""
    from shared.badge_tokens import BadgeKeyring

    var_dir = tmp_path_factory.mktemp("var")
    read = set()
    for extra in ({}, {"BADGE_SIGNING_KEYS": BadgeKeyring.generate(1).to_spec()}):
        for config in _config_classes():
            environ = RecordingEnviron({"HUDOOR_VAR_DIR": str(var_dir), **extra})
            config.from_env(environ)
            read |= environ.read
    return read


@pytest.fixture(scope="module")
def names_the_code_reads(settings_the_configs_read) -> set[str]:
    """What the configs read, plus every upper-case string literal in the project's code."""
    literals = set()
    for folder in ("shared", "services", "runner"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    literals.add(node.value)
    return settings_the_configs_read | {s for s in literals if re.fullmatch(r"[A-Z][A-Z0-9_]+", s)}


# --- Settings: compose, .env.example and the code agree ------------------------------------------


def test_every_setting_the_service_configs_read_is_in_env_example(settings_the_configs_read):
    documented = set(ENV_SETTINGS) | ENV_DOCUMENTED_FIXED
    assert settings_the_configs_read - documented == set()


def test_every_variable_in_env_example_is_read_by_the_code_or_a_named_tool(names_the_code_reads):
    documented = set(ENV_SETTINGS) | ENV_DOCUMENTED_FIXED
    assert documented - names_the_code_reads - set(TOOL_VARIABLES) == set()


@pytest.mark.parametrize("service", HUDOOR)
def test_every_variable_compose_gives_a_hudoor_container_is_read_by_the_code(
    names_the_code_reads, service
):
    passed = set(SERVICES[service]["environment"])
    assert passed - names_the_code_reads - set(TOOL_VARIABLES) == set()


def test_every_variable_compose_interpolates_is_read_by_the_code_or_a_named_tool(
    names_the_code_reads,
):
    interpolated = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_TEXT))
    assert interpolated - names_the_code_reads - set(TOOL_VARIABLES) == set()


# Which services' settings each container needs: the one-shot migration step runs them all.
CONTAINER_SERVICES = {
    "migrate": ("registration", "checkin", "notifications"),
    "demo": ("registration",),
    "registration": ("registration",),
    "registration-worker": ("registration",),
    "checkin": ("checkin",),
    "checkin-worker": ("checkin",),
    "notifications": ("notifications",),
    "worker": ("notifications",),
    "beat": ("notifications",),
}


@pytest.fixture(scope="module")
def settings_by_service(tmp_path_factory) -> dict[str, set[str]]:
    """What each service's config reads (on each of its paths)."""
    from shared.badge_tokens import BadgeKeyring

    var_dir, read = tmp_path_factory.mktemp("var"), {}
    names = ("registration", "checkin", "notifications")
    for name, config in zip(names, _config_classes(), strict=True):
        read[name] = set()
        for extra in ({}, {"BADGE_SIGNING_KEYS": BadgeKeyring.generate(1).to_spec()}):
            environ = RecordingEnviron({"HUDOOR_VAR_DIR": str(var_dir), **extra})
            config.from_env(environ)
            read[name] |= environ.read
    return read


def test_every_hudoor_container_is_assigned_its_services():
    assert set(CONTAINER_SERVICES) == set(HUDOOR)


@pytest.mark.parametrize("service", HUDOOR)
def test_each_container_gets_the_settings_its_services_read_and_no_other(
    service, settings_by_service
):
    read_by_any_config = set().union(*settings_by_service.values())
    # Settings no config reads (log format, metrics token, retention) concern every container.
    common = set(ENV_SETTINGS) - read_by_any_config - set(TOOL_VARIABLES)
    needed = set().union(*(settings_by_service[s] for s in CONTAINER_SERVICES[service]))
    expected = (needed & set(ENV_SETTINGS)) | common
    environment = SERVICES[service]["environment"]
    given = {name for name, value in environment.items() if str(value).startswith("${" + name)}
    assert given == expected


def test_only_registration_containers_hold_the_badge_signing_keys():
    holders = {n for n in HUDOOR if "BADGE_SIGNING_KEYS" in SERVICES[n]["environment"]}
    assert holders == {"migrate", "demo", "registration", "registration-worker"}


def test_compose_refuses_to_start_without_the_secrets_and_database_urls():
    required = set(REQUIRED_SECRETS) | {n for n in ENV_SETTINGS if n.endswith("_DATABASE_URL")}
    for name in required:
        assert "${" + name + ":?" in COMPOSE_TEXT, f"{name} is not required by compose"
        assert ENV_SETTINGS[name] == "" or "${" in ENV_SETTINGS[name], f"{name} has a real value"


def test_env_example_recipes_give_settings_every_service_accepts_without_fallbacks(tmp_path):
    values = {}
    for name, value, comments in env_example_blocks():
        if name in REQUIRED_SECRETS:
            recipes = [c.split("#", 1)[1].strip() for c in comments if "python3 -c" in c]
            assert recipes, f"{name} has no recipe above it in .env.example"
            argv = [sys.executable, *shlex.split(recipes[0])[1:]]
            value = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        values[name] = value.strip()
    values = {name: expand(value, values) for name, value in values.items()}
    var_dir = tmp_path / "var"
    environ = {**values, "HUDOOR_VAR_DIR": str(var_dir)}
    registration, *others = (config.from_env(environ) for config in _config_classes())
    assert registration.secret_key == values["SECRET_KEY"]
    assert registration.keyring.active_key_id == int(values["BADGE_ACTIVE_KEY_ID"])
    assert registration.database_url.startswith("postgresql+psycopg://hudoor:")
    assert all(config.database_url.startswith("postgresql+psycopg://") for config in others)
    assert list(var_dir.iterdir()) == [], "a service fell back to a generated key or file"
