"""Language negotiation and translation of validation messages."""

from shared.i18n import Catalog, direction, error_code, negotiate


def test_explicit_choice_beats_cookie_and_header():
    assert negotiate("en", "ar", "ar", "ar") == "en"
    assert negotiate(None, "en", "ar", "ar") == "en"


def test_accept_language_respects_quality_order():
    assert negotiate(None, None, "fr;q=1, en;q=0.5, ar;q=0.9", "en") == "ar"
    assert negotiate(None, None, "en-GB,en;q=0.9", "ar") == "en"


def test_unknown_or_garbage_languages_fall_back_to_default():
    assert negotiate("xx", "zz", "de, fr;q=abc", "ar") == "ar"
    assert negotiate(None, None, ";;;,,,q=", "en") == "en"


def test_direction_is_rtl_for_arabic_only():
    assert (direction("ar"), direction("en")) == ("rtl", "ltr")


def test_marshmallow_messages_map_to_codes_with_params():
    assert error_code("Missing data for required field.") == ("required", {})
    assert error_code("Unknown field.") == ("unknown_field", {})
    assert error_code("Longer than maximum length 200.") == ("too_long", {"max": "200"})


def test_our_codes_carry_params_after_a_colon():
    assert error_code("too_long:max=200") == ("too_long", {"max": "200"})
    assert error_code("phone_invalid") == ("phone_invalid", {})


def test_unknown_english_message_becomes_invalid():
    assert error_code("Something odd happened.") == ("invalid", {})


def test_catalog_translates_into_arabic_and_english_with_params():
    catalog = Catalog({"hello": ("Hello {name}", "مرحباً {name}")})
    assert catalog.text("hello", "ar", name="سارة") == "مرحباً سارة"
    assert catalog.text("hello", "en", name="Sara") == "Hello Sara"
    assert catalog.text("too_long", "ar", max=5) == "الحد الأقصى 5 حرفاً."


def test_catalog_survives_missing_params_and_unknown_codes():
    catalog = Catalog()
    assert catalog.text("too_long", "en") == "At most {max} characters."
    assert catalog.text("no_such_code", "ar") == "no_such_code"
