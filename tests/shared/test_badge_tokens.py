import base64
import dataclasses
import json
import re
import stat
import struct
import typing
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.badge_tokens import (
    KEY_FILE_NAME,
    TOKEN_VERSION,
    BadgeClaims,
    BadgeKeyring,
    InvalidBadgeToken,
    public_keys_from_document,
    sign_badge_token,
    verify_badge_token,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TOKEN_RE = re.compile(r"[A-Z2-7]{122}")
KEY_1 = Ed25519PrivateKey.generate()
KEY_2 = Ed25519PrivateKey.generate()
PUBLIC = {1: KEY_1.public_key(), 2: KEY_2.public_key()}
CLAIMS = BadgeClaims(event_id=7, badge_id=123456, generation=3, key_id=1)
TOKEN = sign_badge_token(CLAIMS, KEY_1)
MAX_CLAIMS = BadgeClaims(2**32 - 1, 2**32 - 1, 2**16 - 1, 255)
mutation_settings = settings(max_examples=300, deadline=None)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def raw_of(token: str) -> bytes:
    return base64.b32decode(token + "=" * (-len(token) % 8))


def token_of(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def hand_made_token(header: bytes, key: Ed25519PrivateKey) -> str:
    return token_of(header + key.sign(header))


def assert_rejected(token: str, code: str | None = None) -> None:
    with pytest.raises(InvalidBadgeToken) as caught:
        verify_badge_token(token, PUBLIC)
    if code is not None:
        assert caught.value.code == code


# --- round trip and format -------------------------------------------------------------


def test_signed_token_verifies_back_to_the_same_claims():
    assert verify_badge_token(TOKEN, PUBLIC) == CLAIMS


def test_claims_default_to_the_current_token_version():
    assert CLAIMS.version == TOKEN_VERSION == 1


@pytest.mark.parametrize("claims", [CLAIMS, MAX_CLAIMS, BadgeClaims(0, 0, 0, 0)])
def test_token_is_exactly_122_uppercase_base32_chars_without_padding(claims):
    token = sign_badge_token(claims, KEY_1)
    assert TOKEN_RE.fullmatch(token)
    assert len(raw_of(token)) == 76


def test_max_valued_claims_round_trip():
    token = sign_badge_token(MAX_CLAIMS, KEY_1)
    assert verify_badge_token(token, {255: KEY_1.public_key()}) == MAX_CLAIMS


def test_token_header_is_the_documented_big_endian_layout():
    header = raw_of(TOKEN)[:12]
    assert struct.unpack(">BBIIH", header) == (1, 1, 7, 123456, 3)


def test_claims_hold_only_integers_so_no_personal_data_can_be_encoded():
    hints = typing.get_type_hints(BadgeClaims)
    assert {f.name: hints[f.name] for f in dataclasses.fields(BadgeClaims)} == dict.fromkeys(
        ["event_id", "badge_id", "generation", "key_id", "version"], int
    )


@pytest.mark.parametrize("value", ["Ada Lovelace", 1.5, None, True])
def test_signing_rejects_non_integer_claims(value):
    with pytest.raises(TypeError):
        sign_badge_token(dataclasses.replace(CLAIMS, badge_id=value), KEY_1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", -1),
        ("event_id", 2**32),
        ("badge_id", -1),
        ("badge_id", 2**32),
        ("generation", -1),
        ("generation", 2**16),
        ("key_id", -1),
        ("key_id", 256),
        ("version", 2),
    ],
)
def test_signing_rejects_out_of_range_claims(field, value):
    with pytest.raises(ValueError):
        sign_badge_token(dataclasses.replace(CLAIMS, **{field: value}), KEY_1)


def test_verification_returns_the_generation_so_callers_can_reject_reissued_badges():
    # Revocation is the caller's comparison with the badge's current generation; the token
    # itself stays cryptographically valid, so no extra helper is needed here.
    old = sign_badge_token(dataclasses.replace(CLAIMS, generation=1), KEY_1)
    current_generation = 2
    claims = verify_badge_token(old, PUBLIC)
    assert claims.generation == 1
    assert claims.generation != current_generation


# --- what scanners send -----------------------------------------------------------------


@pytest.mark.parametrize(
    "scanned",
    [
        f"  {TOKEN}  ",
        f"{TOKEN}\r\n",
        f"\t{TOKEN}\n",
        TOKEN.lower(),
        TOKEN[:61].lower() + TOKEN[61:],
    ],
)
def test_surrounding_ascii_whitespace_and_lowercase_are_accepted(scanned):
    assert verify_badge_token(scanned, PUBLIC) == CLAIMS


@pytest.mark.parametrize(
    "scanned",
    [
        "",
        TOKEN[:60] + " " + TOKEN[60:],
        TOKEN + "======",
        TOKEN + "A",
        "\u00a0" + TOKEN,
        TOKEN[:-1] + "\uff21",
        TOKEN[:-1] + "ß",
        "0" + TOKEN[1:],
        TOKEN[:-1] + "1",
    ],
)
def test_anything_else_is_malformed(scanned):
    assert_rejected(scanned, "malformed")


@pytest.mark.parametrize("not_text", [None, TOKEN.encode(), 42])
def test_non_string_input_is_malformed(not_text):
    assert_rejected(not_text, "malformed")


def test_non_canonical_last_character_is_malformed():
    # 608 bits leave 2 unused bits in the last char; a decoder alone would ignore them.
    last = ALPHABET.index(TOKEN[-1])
    variants = [c for c in ALPHABET if ALPHABET.index(c) >> 2 == last >> 2 and c != TOKEN[-1]]
    assert len(variants) == 3
    for char in variants:
        assert raw_of(TOKEN[:-1] + char) == raw_of(TOKEN)
        assert_rejected(TOKEN[:-1] + char, "malformed")


# --- error codes ------------------------------------------------------------------------


def test_unknown_key_id_is_unknown_key():
    token = sign_badge_token(dataclasses.replace(CLAIMS, key_id=9), KEY_1)
    assert_rejected(token, "unknown_key")


def test_token_re_signed_with_another_key_under_the_same_kid_is_bad_signature():
    forged = sign_badge_token(CLAIMS, Ed25519PrivateKey.generate())
    assert_rejected(forged, "bad_signature")


def test_switching_the_kid_to_another_known_key_is_bad_signature():
    raw = bytearray(raw_of(TOKEN))
    raw[1] = 2
    assert_rejected(token_of(bytes(raw)), "bad_signature")


def test_other_token_version_is_unsupported_even_if_properly_signed():
    token = hand_made_token(struct.pack(">BBIIH", 2, 1, 7, 123456, 3), KEY_1)
    assert_rejected(token, "unsupported_version")


def test_invalid_badge_token_is_a_value_error_with_a_known_code():
    assert issubclass(InvalidBadgeToken, ValueError)
    with pytest.raises(ValueError):
        InvalidBadgeToken("nope")


# --- property tests: tampering never verifies -------------------------------------------


@st.composite
def substituted_tokens(draw):
    positions = draw(st.sets(st.integers(0, len(TOKEN) - 1), min_size=1, max_size=10))
    chars = list(TOKEN)
    for i in positions:
        chars[i] = draw(st.sampled_from(ALPHABET.replace(TOKEN[i], "")))
    return "".join(chars)


@st.composite
def bit_flipped_tokens(draw):
    raw = bytearray(raw_of(TOKEN))
    for bit in draw(st.sets(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=10)):
        raw[bit // 8] ^= 1 << (bit % 8)
    return token_of(bytes(raw))


@mutation_settings
@given(substituted_tokens())
def test_any_character_substitution_is_rejected(token):
    assert_rejected(token)


@mutation_settings
@given(st.integers(0, len(TOKEN) - 1))
def test_truncation_at_any_length_is_malformed(length):
    assert_rejected(TOKEN[:length], "malformed")


@mutation_settings
@given(st.text(alphabet=ALPHABET + ALPHABET.lower() + "=-_+/01", min_size=1))
def test_appended_characters_are_malformed(suffix):
    assert_rejected(TOKEN + suffix, "malformed")


@mutation_settings
@given(bit_flipped_tokens())
def test_any_bit_flip_in_the_decoded_bytes_is_rejected(token):
    assert_rejected(token)


@mutation_settings
@given(st.text())
def test_arbitrary_text_only_ever_raises_invalid_badge_token(text):
    assert_rejected(text)


@mutation_settings
@given(st.lists(st.integers(0xD800, 0xDFFF).map(chr) | st.sampled_from(ALPHABET)).map("".join))
def test_text_with_lone_surrogates_only_ever_raises_invalid_badge_token(text):
    assert_rejected(text)


@mutation_settings
@given(st.text(alphabet=ALPHABET + ALPHABET.lower() + " \t\r\n=", min_size=118, max_size=126))
def test_near_miss_base32_text_only_ever_raises_invalid_badge_token(text):
    assert_rejected(text)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 255),
)
def test_any_valid_claims_round_trip(event_id, badge_id, generation, key_id):
    claims = BadgeClaims(event_id, badge_id, generation, key_id)
    token = sign_badge_token(claims, KEY_2)
    assert TOKEN_RE.fullmatch(token)
    assert verify_badge_token(token, {key_id: KEY_2.public_key()}) == claims


# --- keyring ----------------------------------------------------------------------------


def spec_entry(kid: int, key: Ed25519PrivateKey) -> str:
    return f"{kid}:{b64url(key.private_bytes_raw())}"


def test_keyring_signs_with_the_active_key():
    keyring = BadgeKeyring({1: KEY_1, 2: KEY_2}, active_key_id=2)
    claims = verify_badge_token(keyring.sign(7, 123456, 3), keyring.public_keys())
    assert claims == dataclasses.replace(CLAIMS, key_id=2)


def test_from_spec_defaults_the_active_key_to_the_highest_kid():
    keyring = BadgeKeyring.from_spec(f" {spec_entry(2, KEY_2)} , {spec_entry(1, KEY_1)} ", None)
    assert keyring.active_key_id == 2
    assert verify_badge_token(keyring.sign(7, 123456, 3), PUBLIC).key_id == 2


def test_from_spec_honours_an_explicit_active_key():
    spec = f"{spec_entry(1, KEY_1)},{spec_entry(2, KEY_2)}"
    assert BadgeKeyring.from_spec(spec, 1).sign(7, 123456, 3) == TOKEN


def test_to_spec_round_trips_through_from_spec():
    keyring = BadgeKeyring({1: KEY_1, 2: KEY_2}, active_key_id=2)
    again = BadgeKeyring.from_spec(keyring.to_spec(), None)
    assert again.public_key_document() == keyring.public_key_document()


@pytest.mark.parametrize(
    "spec",
    [
        "",
        " , ",
        "1",
        "one:" + b64url(bytes(32)),
        "1:" + b64url(bytes(31)),
        "1:" + b64url(bytes(33)),
        "1:not*base64url*at*all*but*long*enough*43ch",
        "256:" + b64url(bytes(32)),
        "-1:" + b64url(bytes(32)),
        f"1:{b64url(bytes(32))},1:{b64url(bytes(32))}",
    ],
)
def test_bad_spec_errors_name_the_env_var(spec):
    with pytest.raises(ValueError, match="BADGE_SIGNING_KEYS"):
        BadgeKeyring.from_spec(spec, None)


def test_bad_spec_errors_do_not_echo_private_key_material():
    secret = b64url(KEY_1.private_bytes_raw())
    with pytest.raises(ValueError) as caught:
        BadgeKeyring.from_spec(secret, None)
    assert secret not in str(caught.value)


def test_active_key_missing_from_spec_names_the_env_var():
    with pytest.raises(ValueError, match="BADGE_SIGNING_KEYS"):
        BadgeKeyring.from_spec(spec_entry(1, KEY_1), 3)


def test_load_or_create_creates_a_private_file_with_kid_1(tmp_path):
    keyring = BadgeKeyring.load_or_create(tmp_path / "var")
    path = tmp_path / "var" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring.active_key_id == 1
    assert [entry["kid"] for entry in keyring.public_key_document()] == [1]
    assert path.read_text().strip() == keyring.to_spec()


def test_load_or_create_reloads_the_same_keys(tmp_path):
    first = BadgeKeyring.load_or_create(tmp_path)
    second = BadgeKeyring.load_or_create(tmp_path)
    assert second.public_key_document() == first.public_key_document()
    assert verify_badge_token(first.sign(1, 2, 3), second.public_keys()).badge_id == 2
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]


def test_concurrent_load_or_create_agrees_on_one_key_file(tmp_path):
    with ThreadPoolExecutor(max_workers=8) as pool:
        docs = list(pool.map(lambda _: load_document(tmp_path), range(16)))
    assert all(doc == docs[0] for doc in docs)
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]


def load_document(directory):
    return BadgeKeyring.load_or_create(directory).public_key_document()


def test_load_or_create_reads_an_existing_spec_file(tmp_path):
    (tmp_path / KEY_FILE_NAME).write_text(spec_entry(1, KEY_1) + "\n")
    assert BadgeKeyring.load_or_create(tmp_path).sign(7, 123456, 3) == TOKEN


def test_load_or_create_reports_a_corrupt_file_with_its_path(tmp_path):
    (tmp_path / KEY_FILE_NAME).write_text("garbage")
    with pytest.raises(ValueError, match=f"{KEY_FILE_NAME}.*BADGE_SIGNING_KEYS"):
        BadgeKeyring.load_or_create(tmp_path)


def test_public_key_document_lists_raw_public_keys_and_the_active_flag():
    doc = BadgeKeyring({1: KEY_1, 2: KEY_2}, active_key_id=2).public_key_document()
    expected = [
        {"kid": kid, "alg": "Ed25519", "public_key": b64url(PUBLIC[kid].public_bytes_raw())}
        for kid in (1, 2)
    ]
    assert doc == [entry | {"active": entry["kid"] == 2} for entry in expected]


def test_public_key_document_survives_json_and_verifies_tokens():
    keyring = BadgeKeyring({1: KEY_1, 2: KEY_2}, active_key_id=2)
    doc = json.loads(json.dumps(keyring.public_key_document()))
    keys = public_keys_from_document(doc)
    assert verify_badge_token(keyring.sign(5, 6, 7), keys) == BadgeClaims(5, 6, 7, 2)
    assert verify_badge_token(TOKEN, keys) == CLAIMS


@pytest.mark.parametrize(
    "doc",
    [
        [{"kid": 1, "alg": "RS256", "public_key": b64url(bytes(32))}],
        [{"kid": "1", "alg": "Ed25519", "public_key": b64url(bytes(32))}],
        [{"kid": 256, "alg": "Ed25519", "public_key": b64url(bytes(32))}],
        [{"kid": 1, "alg": "Ed25519", "public_key": b64url(bytes(31))}],
        [{"kid": 1, "alg": "Ed25519"}],
        [{"kid": 1, "alg": "Ed25519", "public_key": b64url(PUBLIC[1].public_bytes_raw())}] * 2,
        ["not an object"],
    ],
)
def test_public_keys_from_document_rejects_bad_documents(doc):
    with pytest.raises(ValueError):
        public_keys_from_document(doc)


def test_rotation_keeps_old_tokens_valid_while_the_old_key_stays_in_the_keyring():
    old_keyring = BadgeKeyring.from_spec(spec_entry(1, KEY_1), None)
    old_token = old_keyring.sign(7, 123456, 3)
    rotated = BadgeKeyring.from_spec(f"{spec_entry(1, KEY_1)},{spec_entry(2, KEY_2)}", None)
    assert verify_badge_token(old_token, rotated.public_keys()).key_id == 1
    assert verify_badge_token(rotated.sign(7, 123456, 3), rotated.public_keys()).key_id == 2
    retired = BadgeKeyring.from_spec(spec_entry(2, KEY_2), None)
    with pytest.raises(InvalidBadgeToken) as caught:
        verify_badge_token(old_token, retired.public_keys())
    assert caught.value.code == "unknown_key"
