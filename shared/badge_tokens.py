"""Signed badge tokens: the QR payload that door devices verify offline with a public key."""

from __future__ import annotations

import base64
import os
import re
import string
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

TOKEN_VERSION = 1
SPEC_ENV_VAR = "BADGE_SIGNING_KEYS"
KEY_FILE_NAME = "badge-signing-keys"

_HEADER = struct.Struct(">BBIIH")
_SIGNATURE_LEN = 64
_RAW_LEN = _HEADER.size + _SIGNATURE_LEN
TOKEN_LENGTH = (_RAW_LEN * 8 + 4) // 5  # base32 without padding: 122
_TOKEN_RE = re.compile(rf"[A-Z2-7]{{{TOKEN_LENGTH}}}")
_B64URL_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_LIMITS = {"version": 0xFF, "key_id": 0xFF, "event_id": 0xFFFFFFFF}
_LIMITS |= {"badge_id": 0xFFFFFFFF, "generation": 0xFFFF}


@dataclass(frozen=True)
class BadgeClaims:
    """What a badge token asserts; integers only, so it cannot carry personal data."""

    event_id: int
    badge_id: int
    generation: int
    key_id: int
    version: int = TOKEN_VERSION


class InvalidBadgeToken(ValueError):
    """A token that must not open the door; `code` says why."""

    CODES = frozenset({"malformed", "unsupported_version", "unknown_key", "bad_signature"})

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown InvalidBadgeToken code {code!r}")
        super().__init__(message or code)
        self.code = code


def _check_claims(claims: BadgeClaims) -> None:
    """Raise unless every claim is an int that fits its field."""
    for name, limit in _LIMITS.items():
        value = getattr(claims, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if not 0 <= value <= limit:
            raise ValueError(f"{name} must be in 0..{limit}, got {value}")
    if claims.version != TOKEN_VERSION:
        raise ValueError(f"can only sign version {TOKEN_VERSION}, got {claims.version}")


def _b32encode(raw: bytes) -> str:
    """Uppercase RFC 4648 base32 without padding."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _b64url(raw: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError on anything else."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_badge_token(claims: BadgeClaims, private_key: Ed25519PrivateKey) -> str:
    """Encode and sign claims as a 122-character uppercase base32 token."""
    _check_claims(claims)
    header = _HEADER.pack(
        claims.version, claims.key_id, claims.event_id, claims.badge_id, claims.generation
    )
    return _b32encode(header + private_key.sign(header))


def _decode_token(token: object) -> bytes:
    """Normalise case and surrounding whitespace, then decode only canonical base32."""
    if not isinstance(token, str) or not token.isascii():
        raise InvalidBadgeToken("malformed", "token must be ASCII text")
    text = token.strip(string.whitespace).upper()
    if not _TOKEN_RE.fullmatch(text):
        raise InvalidBadgeToken("malformed", f"token must be {TOKEN_LENGTH} base32 characters")
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    # The last character carries 2 unused bits; only the canonical spelling is accepted.
    if _b32encode(raw) != text:
        raise InvalidBadgeToken("malformed", "token is not canonical base32")
    return raw


def verify_badge_token(token: str, public_keys: Mapping[int, Ed25519PublicKey]) -> BadgeClaims:
    """Return the claims of a genuine token; raise InvalidBadgeToken otherwise."""
    raw = _decode_token(token)
    header, signature = raw[: _HEADER.size], raw[_HEADER.size :]
    version, key_id, event_id, badge_id, generation = _HEADER.unpack(header)
    if version != TOKEN_VERSION:
        raise InvalidBadgeToken("unsupported_version", f"token version {version}")
    public_key = public_keys.get(key_id)
    if public_key is None:
        raise InvalidBadgeToken("unknown_key", f"no public key with kid {key_id}")
    try:
        public_key.verify(signature, header)
    except InvalidSignature:
        raise InvalidBadgeToken("bad_signature") from None
    return BadgeClaims(event_id, badge_id, generation, key_id, version)


def _public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _parse_spec_entry(entry: str) -> tuple[int, Ed25519PrivateKey]:
    """Parse one 'KID:BASE64URL' entry of a BADGE_SIGNING_KEYS spec."""
    kid_text, sep, key_text = entry.strip().partition(":")
    kid_text, key_text = kid_text.strip(), key_text.strip().rstrip("=")
    # Messages never echo the entry: it may be a private key missing its "KID:" prefix.
    if not sep or not kid_text.isdecimal() or not kid_text.isascii():
        raise ValueError(f"{SPEC_ENV_VAR}: each entry must look like KID:BASE64URL_KEY")
    if not _B64URL_KEY_RE.fullmatch(key_text):
        raise ValueError(
            f"{SPEC_ENV_VAR}: key for kid {kid_text} must be 32 raw bytes in base64url"
        )
    return int(kid_text), Ed25519PrivateKey.from_private_bytes(_b64url_decode(key_text))


def _parse_document_entry(entry: object) -> tuple[int, Ed25519PublicKey]:
    """Parse one entry of a public key document."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"badge public key entries must be objects, got {entry!r}")
    kid, raw = entry.get("kid"), entry.get("public_key")
    if entry.get("alg") != "Ed25519" or type(kid) is not int or not 0 <= kid <= 0xFF:
        raise ValueError(f"bad badge public key entry: {entry!r}")
    if not isinstance(raw, str) or not _B64URL_KEY_RE.fullmatch(raw):
        raise ValueError(f"public key of kid {kid} must be 32 raw bytes in base64url")
    return kid, Ed25519PublicKey.from_public_bytes(_b64url_decode(raw))


def public_keys_from_document(doc: list[dict]) -> dict[int, Ed25519PublicKey]:
    """Turn a public key document (see BadgeKeyring.public_key_document) into verify keys."""
    keys: dict[int, Ed25519PublicKey] = {}
    for entry in doc:
        kid, key = _parse_document_entry(entry)
        if kid in keys:
            raise ValueError(f"duplicate badge public key kid {kid}")
        keys[kid] = key
    return keys


class BadgeKeyring:
    """Private signing keys by key id, one of them active for new tokens."""

    def __init__(self, private_keys: Mapping[int, Ed25519PrivateKey], active_key_id: int) -> None:
        if any(not isinstance(kid, int) or not 0 <= kid <= 0xFF for kid in private_keys):
            raise ValueError("key ids must be ints in 0..255")
        if active_key_id not in private_keys:
            raise ValueError(f"active key id {active_key_id} is not in the keyring")
        self._keys = dict(sorted(private_keys.items()))
        self.active_key_id = active_key_id

    def sign(self, event_id: int, badge_id: int, generation: int) -> str:
        """Sign a token for the badge with the active key."""
        claims = BadgeClaims(event_id, badge_id, generation, self.active_key_id)
        return sign_badge_token(claims, self._keys[self.active_key_id])

    def public_keys(self) -> dict[int, Ed25519PublicKey]:
        """Verify keys for every key id in the keyring."""
        return {kid: key.public_key() for kid, key in self._keys.items()}

    def public_key_document(self) -> list[dict]:
        """JSON-ready public keys, safe to hand to door devices."""
        return [
            {
                "kid": kid,
                "alg": "Ed25519",
                "public_key": _b64url(_public_key_bytes(key)),
                "active": kid == self.active_key_id,
            }
            for kid, key in self.public_keys().items()
        ]

    def to_spec(self) -> str:
        """The BADGE_SIGNING_KEYS spec for this keyring (secret!)."""
        return ",".join(
            f"{kid}:{_b64url(key.private_bytes_raw())}" for kid, key in self._keys.items()
        )

    @classmethod
    def from_spec(cls, spec: str, active_key_id: int | None = None) -> BadgeKeyring:
        """Parse 'KID:BASE64URL[,KID:...]'; the highest kid is active unless one is given."""
        keys: dict[int, Ed25519PrivateKey] = {}
        for entry in filter(str.strip, spec.split(",")):
            kid, key = _parse_spec_entry(entry)
            if kid in keys or kid > 0xFF:
                raise ValueError(f"{SPEC_ENV_VAR}: kid {kid} is duplicated or above 255")
            keys[kid] = key
        if not keys:
            raise ValueError(f"{SPEC_ENV_VAR} holds no keys")
        active = max(keys) if active_key_id is None else active_key_id
        if active not in keys:
            raise ValueError(f"active badge key id {active} is not in {SPEC_ENV_VAR}")
        return cls(keys, active)

    @classmethod
    def generate(cls, key_id: int = 1) -> BadgeKeyring:
        """A keyring holding one fresh key."""
        return cls({key_id: Ed25519PrivateKey.generate()}, key_id)

    @classmethod
    def load_or_create(cls, directory: Path) -> BadgeKeyring:
        """Read directory/badge-signing-keys, creating it (mode 0600, kid 1) if absent."""
        path = Path(directory) / KEY_FILE_NAME
        if not path.exists():
            _create_exclusively(path, cls.generate(1).to_spec() + "\n")
        try:
            return cls.from_spec(path.read_text(encoding="ascii"))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


def _create_exclusively(path: Path, content: str) -> None:
    """Write a 0600 file atomically; if another process wins the race, keep its file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # link() never overwrites, so concurrent workers all end up with the same keys.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
