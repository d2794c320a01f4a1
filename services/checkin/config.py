"""Check-in settings, read once from the environment at start."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from shared import config as env
from shared.badge_tokens import public_keys_from_document
from shared.limits import LimitSettings

PUBLIC_KEYS_FILE = "badge-public-keys.json"


@dataclass(frozen=True)
class CheckinConfig:
    """Everything the check-in service reads from its environment."""

    database_url: str
    redis_url: str
    secret_key: str
    default_language: str
    public_key_document: list
    max_body_bytes: int = 64 * 1024
    # Only decides whether cookies are Secure (https); check-in builds no links in messages.
    public_base_url: str = "http://127.0.0.1:8000"
    limits: LimitSettings = field(default_factory=LimitSettings.from_env)

    @cached_property  # once per process, not at every scan
    def public_keys(self) -> dict:
        """Ed25519 public keys by key id: all a door needs to tell a forged badge."""
        return public_keys_from_document(self.public_key_document)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CheckinConfig:
        """Read and check every setting; a bad one fails here, naming the variable."""
        return cls(
            database_url=env.database_url("checkin", environ),
            redis_url=env.redis_url(environ),
            secret_key=env.secret_key(environ),
            default_language=env.default_language(environ),
            public_key_document=_public_keys(environ),
            max_body_bytes=env.env_int("MAX_BODY_BYTES", 64 * 1024, environ),
            public_base_url=env.public_base_url(environ),
            limits=LimitSettings.from_env(environ),
        )


def _public_keys(environ: Mapping[str, str]) -> list:
    """BADGE_PUBLIC_KEYS (JSON document), or the file registration writes when embedded."""
    raw = environ.get("BADGE_PUBLIC_KEYS", "").strip()
    path = env.var_dir(environ) / PUBLIC_KEYS_FILE
    if not raw and Path(path).exists():
        raw = path.read_text()
    if not raw:
        return []
    try:
        document = json.loads(raw)
        public_keys_from_document(document)
    except ValueError as error:
        raise env.ConfigError(f"BADGE_PUBLIC_KEYS is not a valid key document: {error}") from None
    return document
