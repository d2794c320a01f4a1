"""gunicorn's logs: private links redacted from the access log, JSON lines when LOG_FORMAT=json.

Used by every gunicorn command (`--logger-class runner.access_log.RedactingLogger`): the embedded
runner, the Dockerfile and docker-compose.yml. deploy/nginx.conf redacts the same paths. The apps
log each request themselves (shared/logs.py), so compose runs gunicorn without an access log.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from shared.logs import REDACTED, ContextFilter, formatter, redact

__all__ = ["REDACTED", "RedactingLogger", "redact"]


class RedactingLogger(Logger):
    """gunicorn's logger whose access-log atoms (request line, path, referer...) hide tokens."""

    def setup(self, cfg):
        """gunicorn's handlers, formatted as LOG_FORMAT asks (its error log included)."""
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(formatter())
            handler.addFilter(ContextFilter())

    def atoms(self, resp, req, environ, request_time):
        """The usual atoms, with private links redacted in every text value."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
