"""Arabic-aware normalisation of person and agency names for search."""

import re
import unicodedata

_ALEF, _HEH, _YEH, _WAW, _KAF = "\u0627", "\u0647", "\u064a", "\u0648", "\u0643"

_LETTER_FOLDS = {
    "\u0623": _ALEF,  # أ
    "\u0625": _ALEF,  # إ
    "\u0622": _ALEF,  # آ
    "\u0671": _ALEF,  # ٱ
    "\u0629": _HEH,  # ة
    "\u06c0": _HEH,  # ۀ
    "\u06be": _HEH,  # ھ
    # NFKD splits ۀ into ە + hamza, and Kurdish ە is typed as ه on Arabic keyboards.
    "\u06d5": _HEH,
    "\u0649": _YEH,  # ى
    "\u0626": _YEH,  # ئ
    "\u06cc": _YEH,  # ی
    "\u0624": _WAW,  # ؤ
    "\u06a9": _KAF,  # ک
}

_DELETED_RANGES = (
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x0640, 0x0640),  # tatweel
    (0x0621, 0x0621),  # lone hamza
    (0x0674, 0x0674),  # high hamza, left over by NFKC of ٵ ٶ ٷ ٸ
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
)

_DIGITS = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}

# Marks and invisible format characters vanish rather than split a word in two.
_DROPPED_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})

_WORD = re.compile(r"[^\W_]+")
# Spelling variants of one sound: مسؤول/مسئول (hamza seat before waw), داوود/داود.
_HAMZA_ON_WAW_BEFORE_WAW = ("\u0624\u0648", "\u0626\u0648")
_DOUBLE_WAW = re.compile("\u0648{2,}")  # any run: the key stays a fixed point
# Written joined or apart (عبدالرحمن, عبد الرحمن; أبوبكر, أبو بكر): always joined in the key.
_COMPOUND_HEADS = frozenset({"\u0639\u0628\u062f", "\u0627\u0628\u0648"})  # عبد, ابو


class _FoldTable(dict):
    """Translate table that classifies unseen code points on first use."""

    # Filled lazily: scanning all of Unicode up front costs ~0.2 s at import.
    def __missing__(self, code_point: int) -> int | None:
        """Return None for a dropped code point, else the code point itself, and cache it."""
        dropped = unicodedata.category(chr(code_point)) in _DROPPED_CATEGORIES
        value = None if dropped else code_point
        self[code_point] = value
        return value


_TABLE = _FoldTable(str.maketrans(_LETTER_FOLDS) | _DIGITS)
_TABLE.update({cp: None for lo, hi in _DELETED_RANGES for cp in range(lo, hi + 1)})


def search_key(text: str) -> str:
    """Return the normalised search key for a name in Arabic and/or Latin script."""
    if text.isascii():
        return " ".join(_WORD.findall(text.lower()))
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.replace(*_HAMZA_ON_WAW_BEFORE_WAW)
    folded = unicodedata.normalize("NFKD", folded).translate(_TABLE)
    return " ".join(_join_compounds(_WORD.findall(_DOUBLE_WAW.sub("\u0648", folded))))


def _join_compounds(words: list[str]) -> list[str]:
    """Join عبد and ابو to the word after them."""
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _COMPOUND_HEADS:
            # ابو + وليد makes a double waw: collapsed here too, so the key is its own key.
            joined[-1] = _DOUBLE_WAW.sub("\u0648", joined[-1] + word)
        else:
            joined.append(word)
    return joined


def matches(query: str, key: str) -> bool:
    """Return True if every token of the query's search key occurs in key."""
    tokens = search_key(query).split()
    return bool(tokens) and all(token in key for token in tokens)
