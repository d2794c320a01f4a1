"""Registration settings, read once from the environment at start."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared import config as env
from shared.badge_tokens import BadgeKeyring
from shared.limits import LimitSettings


@dataclass(frozen=True)
class RegistrationConfig:
    """Everything the registration service reads from its environment."""

    database_url: str
    redis_url: str
    secret_key: str
    keyring: BadgeKeyring
    public_base_url: str
    default_language: str
    max_body_bytes: int
    limits: LimitSettings = field(default_factory=LimitSettings.from_env)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RegistrationConfig:
        """Read and check every setting; a bad one fails here, naming the variable."""
        return cls(
            database_url=env.database_url("registration", environ),
            redis_url=env.redis_url(environ),
            secret_key=env.secret_key(environ),
            keyring=_keyring(environ),
            public_base_url=env.public_base_url(environ),
            default_language=env.default_language(environ),
            max_body_bytes=env.env_int("MAX_BODY_BYTES", 64 * 1024, environ),
            limits=LimitSettings.from_env(environ),
        )


def _keyring(environ: Mapping[str, str]) -> BadgeKeyring:
    """Badge signing keys from BADGE_SIGNING_KEYS, or a key kept under var/ when embedded."""
    spec = environ.get("BADGE_SIGNING_KEYS", "").strip()
    if not spec:
        keyring = BadgeKeyring.load_or_create(env.var_dir(environ))
        _publish_public_keys(keyring, env.var_dir(environ))
        return keyring
    active = environ.get("BADGE_ACTIVE_KEY_ID", "").strip()
    if active and not active.isdigit():
        raise env.ConfigError(f"BADGE_ACTIVE_KEY_ID must be a key id number, got {active!r}")
    return BadgeKeyring.from_spec(spec, int(active) if active else None)


def _publish_public_keys(keyring: BadgeKeyring, directory) -> None:
    """Embedded mode: leave the public keys where the check-in service reads them."""
    document = json.dumps(keyring.public_key_document())
    path = directory / "badge-public-keys.json"
    if not path.exists() or path.read_text() != document:
        path.write_text(document)
