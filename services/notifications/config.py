"""Notifications settings, read once from the environment at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared import config as env
from shared.limits import LimitSettings


@dataclass(frozen=True)
class NotificationsConfig:
    """Everything the notifications service reads from its environment."""

    database_url: str
    redis_url: str
    secret_key: str
    default_language: str
    public_base_url: str
    var_dir: Path
    mail_url: str | None
    mail_from: str
    sms_url: str | None
    sms_per_second: float
    max_body_bytes: int = 64 * 1024
    limits: LimitSettings = field(default_factory=LimitSettings.from_env)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> NotificationsConfig:
        """Read and check every setting; a bad one fails here, naming the variable."""
        return cls(
            database_url=env.database_url("notifications", environ),
            redis_url=env.redis_url(environ),
            secret_key=env.secret_key(environ),
            default_language=env.default_language(environ),
            public_base_url=env.public_base_url(environ),
            var_dir=env.var_dir(environ),
            mail_url=environ.get("MAIL_URL", "").strip() or None,
            mail_from=env.env_str("MAIL_FROM", "Hudoor <no-reply@hudoor.invalid>", environ),
            sms_url=environ.get("SMS_URL", "").strip() or None,
            sms_per_second=_rate(environ),
            max_body_bytes=env.env_int("MAX_BODY_BYTES", 64 * 1024, environ),
            limits=LimitSettings.from_env(environ),
        )


def _rate(environ: Mapping[str, str]) -> float:
    raw = env.env_str("SMS_RATE_PER_SECOND", "5", environ)
    try:
        rate = float(raw)
    except ValueError:
        raise env.ConfigError(f"SMS_RATE_PER_SECOND must be a number, got {raw!r}") from None
    if rate <= 0:
        raise env.ConfigError("SMS_RATE_PER_SECOND must be positive")
    return rate
