"""The e-mail policy of our messages: the standard SMTP one, with headers written faster.

The standard policy builds a header class per header set, parses each value, and refolds every
header by parsing it again: about 8 ms of a confirmation's 12 ms of e-mail work, 3 ms of it for
the To header when the name is Arabic. Here classes and repeated values are parsed once, a short
ASCII header is written as it stands (the refold gives back the same line), and a non-ASCII
subject or single-address header is encoded with `email.header.Header`, as base64 encoded words
(RFC 2047) that mail clients decode to the same text.
"""

from __future__ import annotations

import functools
import secrets
from email.header import Header
from email.headerregistry import AddressHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy


class _Registry(HeaderRegistry):
    """The standard header classes and values, each built once rather than per message."""

    @functools.cache  # noqa: B019  (one registry per process, never freed)
    def __getitem__(self, name: str):
        return super().__getitem__(name)

    def __call__(self, name: str, value):
        # Header objects are immutable, and most of a message's ~40 (Content-Type: text/plain;
        # charset="utf-8", MIME-Version: 1.0, ...) are the same in every message.
        return self._parsed(name, value) if type(value) is str else super().__call__(name, value)

    @functools.lru_cache(maxsize=512)  # noqa: B019  (one registry per process, never freed)
    def _parsed(self, name: str, value: str):
        return super().__call__(name, value)


class QuickFoldPolicy(EmailPolicy):
    """The SMTP policy with a cheaper fold for the headers our messages have."""

    def _fold(self, name, value, refold_binary=False):
        if hasattr(value, "name") and self.max_line_length:
            folded = _as_is(name, value, self) or _encoded(name, value, self)
            if folded:
                return folded
        return super()._fold(name, value, refold_binary=refold_binary)


def _as_is(name: str, value, policy: EmailPolicy) -> str | None:
    """One short ASCII line without encoded words: written unchanged."""
    plain = value.isascii() and "=?" not in value and _one_line(value)
    fits = len(name) + 2 + len(value) <= policy.max_line_length
    return f"{name}: {value}{policy.linesep}" if plain and fits and value == value.strip() else None


def _encoded(name: str, value, policy: EmailPolicy) -> str | None:
    """A non-ASCII subject, or one address with a non-ASCII name, as base64 encoded words."""
    if isinstance(value, UnstructuredHeader) and not value.isascii() and _one_line(value):
        return f"{name}: {_words(name, str(value), policy)}{policy.linesep}"
    if not isinstance(value, AddressHeader) or len(value.addresses) != 1:
        return None
    address = value.addresses[0]
    if not address.addr_spec.isascii() or address.display_name.isascii():
        return None
    words = _words(name, address.display_name, policy)
    angle = f"<{address.addr_spec}>"
    last = words.rsplit(policy.linesep, 1)[-1]
    first_line = policy.linesep not in words
    length = len(last) + 1 + len(angle) + (len(name) + 2 if first_line else 0)
    space = " " if length <= policy.max_line_length else f"{policy.linesep} "
    return f"{name}: {words}{space}{angle}{policy.linesep}"


def _one_line(value: str) -> bool:
    return "\n" not in value and "\r" not in value


def _words(name: str, text: str, policy: EmailPolicy) -> str:
    """The text as UTF-8 encoded words, folded to the policy's line length."""
    header = Header(text, "utf-8", maxlinelen=policy.max_line_length, header_name=name)
    return header.encode(linesep=policy.linesep)


SMTP_POLICY = QuickFoldPolicy(linesep="\r\n", header_factory=_Registry())
# One boundary per multipart subtype and process. The generator makes a fresh one per part,
# compiles a regex to check it and parses the new header: ~0.5 ms of a confirmation. A fixed
# one's header is parsed once (the registry's cache), and checking it takes an `in`.
BOUNDARIES = {
    subtype: f"{'=' * 15}{secrets.token_hex(8)}.{subtype}=="
    for subtype in ("mixed", "alternative", "related")
}


def set_boundaries(message: EmailMessage) -> None:
    """Give each multipart part its subtype's boundary, unless a part's body holds one."""
    parts = list(message.walk())
    bodies = [part.get_payload() for part in parts if not part.is_multipart()]
    if any(f"--{boundary}" in body for body in bodies for boundary in BOUNDARIES.values()):
        return  # the generator picks fresh ones and checks them, as it always did
    for part in parts:
        boundary = BOUNDARIES.get(part.get_content_subtype()) if part.is_multipart() else None
        if boundary:
            part.set_boundary(boundary)
