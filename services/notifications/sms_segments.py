"""How many SMS parts a text costs: GSM-7 or UCS-2 encoding and concatenation limits."""

from __future__ import annotations

# 3GPP TS 23.038 default alphabet, in code order; 0x1B (escape to the extension table) is left out
# because it is not a character a text can contain.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Default extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
# (single message, per part of a concatenated message); the user data header takes the rest.
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


def encoding(text: str) -> str:
    """The encoding a phone uses for the text: GSM-7 if every character is in it, else UCS-2."""
    return GSM7 if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else UCS2


def _widths(text: str, scheme: str) -> list[int]:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) per character, in order."""
    if scheme == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def length(text: str) -> int:
    """The text's length in its encoding's units: septets or UTF-16 code units."""
    return sum(_widths(text, encoding(text)))


def segments(text: str) -> int:
    """How many SMS parts the text needs (an empty text still costs one message)."""
    scheme = encoding(text)
    widths = _widths(text, scheme)
    single, per_part = LIMITS[scheme]
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        # An escape pair or a surrogate pair never straddles two parts; phones start a new one.
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def fits(text: str, max_segments: int) -> bool:
    """Whether the text goes out in at most `max_segments` parts."""
    return segments(text) <= max_segments
