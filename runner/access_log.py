"""gunicorn's access log without private links: delegate and agency tokens are redacted.

Used by every gunicorn command (`--logger-class runner.access_log.RedactingLogger`): the embedded
runner, the Dockerfile and docker-compose.yml. deploy/nginx.conf redacts the same paths.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
SEGMENT = r"[^/?#\s\"]+"
# The secret path segment of each private link, after the part that stays readable.
PRIVATE_LINKS = re.compile(
    rf"(?P<keep>/r/|/e/{SEGMENT}/register/|/password/reset/|/password-resets/|/invitations/)"
    rf"(?P<secret>{SEGMENT})",
)


def redact(text: str) -> str:
    """Replace the secret segment of every private link in `text`."""
    return PRIVATE_LINKS.sub(lambda m: m["keep"] + REDACTED, text)


class RedactingLogger(Logger):
    """gunicorn's logger whose access-log atoms (request line, path, referer...) hide tokens."""

    def atoms(self, resp, req, environ, request_time):
        """The usual atoms, with private links redacted in every text value."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
