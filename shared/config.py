"""Typed readers of environment settings that fail at start naming the variable."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

LANGUAGES = ("ar", "en")


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """Return a string setting, or fail naming it when it is required and missing."""
    value = environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigError(f"{name} is required but not set")
    return default


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """Return a positive integer setting."""
    raw = env_str(name, str(default), environ)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def env_choice(name: str, default: str, choices, environ: Mapping[str, str] = os.environ) -> str:
    """Return a setting that must be one of `choices`."""
    value = env_str(name, default, environ)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Return the directory for embedded-mode state (databases, sockets, mail files)."""
    path = Path(env_str("HUDOOR_VAR_DIR", "var", environ)).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str, environ: Mapping[str, str] = os.environ) -> str:
    """Return a service's database URL; embedded default is a SQLite file under var/."""
    name = f"{service.upper()}_DATABASE_URL"
    url = env_str(name, f"sqlite:///{var_dir(environ) / service}.db", environ)
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(f"{name} must be a sqlite:// or postgresql:// URL, got {url!r}")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def redis_url(environ: Mapping[str, str] = os.environ) -> str:
    """Return the broker URL; embedded default is the bundled Redis on a unix socket."""
    url = env_str("REDIS_URL", f"redis+socket://{var_dir(environ) / 'redis.sock'}", environ)
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        raise ConfigError(f"REDIS_URL must be a redis:// or redis+socket:// URL, got {url!r}")
    return url


def secret_key(environ: Mapping[str, str] = os.environ) -> str:
    """Return SECRET_KEY; embedded default is a random key kept in var/secret-key."""
    value = environ.get("SECRET_KEY", "").strip()
    if value:
        if len(value) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters")
        return value
    path = var_dir(environ) / "secret-key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def public_base_url(environ: Mapping[str, str] = os.environ) -> str:
    """Return the externally visible base URL, without a trailing slash."""
    url = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000", environ).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"PUBLIC_BASE_URL must start with http:// or https://, got {url!r}")
    return url


def default_language(environ: Mapping[str, str] = os.environ) -> str:
    """Return the default page language."""
    return env_choice("DEFAULT_LANGUAGE", "ar", LANGUAGES, environ)
