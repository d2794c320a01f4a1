import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contact import (
    ContactError,
    normalise_email,
    normalise_phone,
    phone_search_variants,
)

ASIACELL = "+9647701234567"


@pytest.mark.parametrize(
    "raw",
    [
        "07701234567",
        "0770 123 4567",
        "0770-123-4567",
        "0770.123.4567",
        "(0770) 123 4567",
        "+9647701234567",
        "+964 770 123 4567",
        "00964 770 123 4567",
        "009647701234567",
        "  07701234567  ",
        "٠٧٧٠١٢٣٤٥٦٧",
        "+٩٦٤ ٧٧٠ ١٢٣ ٤٥٦٧",
        "۰۷۷۰۱۲۳۴۵۶۷",
    ],
)
def test_every_format_of_an_iraqi_mobile_gives_the_same_e164(raw):
    assert normalise_phone(raw) == ASIACELL


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07501234567", "+9647501234567"),
        ("07701234567", "+9647701234567"),
        ("07801234567", "+9647801234567"),
        ("07901234567", "+9647901234567"),
    ],
)
def test_korek_asiacell_and_zain_prefixes_are_mobile(raw, expected):
    assert normalise_phone(raw) == expected


def test_baghdad_landline_is_rejected_as_not_mobile():
    with pytest.raises(ContactError) as caught:
        normalise_phone("01 718 1234")
    assert caught.value.field == "phone"
    assert caught.value.code == "phone_not_mobile"


def test_toll_free_number_is_rejected_as_not_mobile():
    with pytest.raises(ContactError) as caught:
        normalise_phone("+1 800 356 9377")
    assert caught.value.code == "phone_not_mobile"


def test_foreign_mobile_numbers_are_accepted():
    assert normalise_phone("+44 7911 123456") == "+447911123456"


def test_number_that_may_be_mobile_or_fixed_is_accepted():
    assert normalise_phone("+1 202 555 0123") == "+12025550123"


def test_other_default_region_parses_local_numbers():
    assert normalise_phone("07911 123456", region="GB") == "+447911123456"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_phone_is_rejected(raw):
    with pytest.raises(ContactError) as caught:
        normalise_phone(raw)
    assert caught.value.code == "phone_empty"


@pytest.mark.parametrize(
    "raw",
    ["0770123456", "077012345678", "07001234567", "not a number", "+", "Ali 07701234567"],
)
def test_invalid_phone_is_rejected(raw):
    with pytest.raises(ContactError) as caught:
        normalise_phone(raw)
    assert caught.value.code == "phone_invalid"


def test_letters_are_not_read_as_a_vanity_number():
    with pytest.raises(ContactError) as caught:
        normalise_phone("0770-ALI-4567")
    assert caught.value.code == "phone_invalid"


def test_phone_longer_than_32_chars_is_rejected_before_parsing():
    with pytest.raises(ContactError) as caught:
        normalise_phone("0" * 33)
    assert caught.value.code == "phone_too_long"


def test_contact_error_is_a_value_error_with_english_message():
    with pytest.raises(ValueError, match="not valid"):
        normalise_phone("12")


@given(st.text())
def test_normalise_phone_raises_only_contact_error(raw):
    try:
        result = normalise_phone(raw)
    except ContactError as exc:
        assert exc.field == "phone"
    else:
        assert result.startswith("+")
        assert result[1:].isdigit()


@given(st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩+ -.()", max_size=20))
def test_normalise_phone_raises_only_contact_error_on_digit_soup(raw):
    try:
        normalise_phone(raw)
    except ContactError as exc:
        assert exc.code.startswith("phone_")


def test_search_variant_finds_stored_e164_from_local_format():
    assert phone_search_variants("0770 123 4567") == ASIACELL
    assert phone_search_variants("٠٧٧٠ ١٢٣ ٤٥٦٧") == ASIACELL


def test_search_variant_accepts_valid_landline():
    assert phone_search_variants("01 718 1234") == "+96417181234"


@pytest.mark.parametrize("raw", ["", "يسرى", "0770", "Ali 07701234567", "0" * 40])
def test_search_variant_is_none_for_non_numbers(raw):
    assert phone_search_variants(raw) is None


@given(st.text())
def test_search_variant_never_raises(raw):
    result = phone_search_variants(raw)
    assert result is None or result.startswith("+")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yusra.allaq@example.org", "yusra.allaq@example.org"),
        ("  Yusra.Allaq@Example.ORG ", "yusra.allaq@example.org"),
        ("IMAN.ABDULRAHMAN@GMAIL.COM", "iman.abdulrahman@gmail.com"),
    ],
)
def test_email_is_normalised_and_lowercased(raw, expected):
    assert normalise_email(raw) == expected


def test_same_address_in_different_case_normalises_identically():
    assert normalise_email("Ali@UoBaghdad.edu.iq") == normalise_email("ali@uobaghdad.edu.iq")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("info@مثال.شبكة", "info@xn--mgbh0fb.xn--ngbc5azd"),
        ("X@Exämple.org", "x@xn--exmple-cua.org"),
        ("y@xn--exmple-cua.org", "y@xn--exmple-cua.org"),
    ],
)
def test_internationalised_domain_is_kept_in_its_ascii_form(raw, expected):
    assert normalise_email(raw) == expected


def test_domain_in_unicode_and_in_punycode_normalise_identically():
    assert normalise_email("nour@مثال.عراق") == normalise_email("nour@xn--mgbh0fb.xn--mgbtx2b")


@pytest.mark.parametrize("raw", ["ü@example.org", "عربي@مثال.عراق", "نور@example.org"])
def test_non_ascii_local_part_is_refused(raw):
    with pytest.raises(ContactError) as caught:
        normalise_email(raw)
    assert (caught.value.field, caught.value.code) == ("email", "email_local_part_not_ascii")


@pytest.mark.parametrize("raw", ["", "  "])
def test_empty_email_is_rejected(raw):
    with pytest.raises(ContactError) as caught:
        normalise_email(raw)
    assert (caught.value.field, caught.value.code) == ("email", "email_empty")


@pytest.mark.parametrize(
    "raw",
    [
        "ali",
        "ali@",
        "@gmail.com",
        "ali@gmail",
        "ali @gmail.com",
        "ali@@gmail.com",
        "Ali <ali@x.iq>",
    ],
)
def test_invalid_email_is_rejected(raw):
    with pytest.raises(ContactError) as caught:
        normalise_email(raw)
    assert caught.value.code == "email_invalid"


def test_special_use_domain_is_rejected_without_network():
    with pytest.raises(ContactError) as caught:
        normalise_email("ali@conference.test")
    assert caught.value.code == "email_invalid"


def test_email_longer_than_254_chars_is_rejected():
    with pytest.raises(ContactError) as caught:
        normalise_email("a" * 64 + "@" + "b" * 190 + ".iq")
    assert caught.value.code == "email_too_long"


@given(st.text())
def test_normalise_email_raises_only_contact_error(raw):
    try:
        result = normalise_email(raw)
    except ContactError as exc:
        assert exc.field == "email"
    else:
        assert result == result.lower() and result.isascii()


@given(st.emails())
def test_valid_generated_emails_never_raise_anything_but_contact_error(raw):
    try:
        normalise_email(raw)
    except ContactError as exc:
        assert exc.code.startswith("email_")


# Any code point (lone surrogates too), phone and email punctuation, Arabic-Indic digits.
HOSTILE_TEXT = st.lists(
    st.one_of(
        st.characters(),
        st.integers(0xD800, 0xDFFF).map(chr),
        st.sampled_from([*"@.+-() ٠١٢٣٤٥٦٧٨٩0123456789", "xn--", "07", "+964"]),
    ),
    max_size=60,
).map("".join)
HOSTILE_EMAILS = st.builds(
    "{}@{}.{}".format, HOSTILE_TEXT, HOSTILE_TEXT, st.sampled_from(["org", "xn--p1ai", "عراق"])
)


@given(HOSTILE_TEXT | HOSTILE_EMAILS)
def test_any_text_is_a_normalised_contact_or_a_contact_error(raw):
    for normalise, field in ((normalise_phone, "phone"), (normalise_email, "email")):
        try:
            result = normalise(raw)
        except ContactError as exc:
            assert exc.field == field
        else:
            assert result.isascii()
    variant = phone_search_variants(raw)
    assert variant is None or variant.startswith("+")
