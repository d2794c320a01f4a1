"""Check-in settings, read once from the environment at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared import config as env


@dataclass(frozen=True)
class CheckinConfig:
    """Everything the check-in service reads from its environment."""

    database_url: str
    redis_url: str
    secret_key: str
    default_language: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CheckinConfig:
        """Read and check every setting; a bad one fails here, naming the variable."""
        return cls(
            database_url=env.database_url("checkin", environ),
            redis_url=env.redis_url(environ),
            secret_key=env.secret_key(environ),
            default_language=env.default_language(environ),
        )
