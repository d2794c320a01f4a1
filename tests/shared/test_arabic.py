import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.arabic import matches, search_key

DIACRITICS_OR_TATWEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def test_hamza_forms_of_alef_match_bare_alef():
    assert search_key("إسراء") == search_key("اسراء")
    assert search_key("أحمد") == search_key("احمد")
    assert search_key("آمنة") == search_key("امنه")
    assert search_key("ٱلرحمن") == search_key("الرحمن")


def test_alef_maqsura_matches_yeh():
    assert search_key("يسرى") == search_key("يسري")
    assert search_key("مصطفى") == "مصطفي"


def test_teh_marbuta_matches_heh():
    assert search_key("فاطمة") == search_key("فاطمه")


def test_hamza_on_waw_and_yeh_folds_to_the_bare_letter():
    assert search_key("مؤمن") == "مومن"
    assert search_key("رئيس") == "رييس"


def test_lone_hamza_is_removed():
    assert search_key("إسراء") == "اسرا"
    assert search_key("علاء الدين") == "علا الدين"


def test_harakat_are_removed():
    assert search_key("مُحَمَّد") == search_key("محمد")
    assert search_key("عَبْدُ ٱللَّٰهِ") == "عبدالله"


def test_quranic_annotation_marks_are_removed():
    assert search_key("عل\u06d6ي") == "علي"


def test_tatweel_is_removed():
    assert search_key("عـــلي") == search_key("علي")


def test_presentation_forms_fold_to_base_letters():
    assert search_key("\ufe8d\ufedf\ufee0\ufeea") == "الله"
    assert search_key("\ufefb") == "لا"


def test_persian_look_alikes_fold_to_arabic_letters():
    assert search_key("کریم") == search_key("كريم")
    assert search_key("ھادی") == search_key("هادي")
    assert search_key("خانۀ") == search_key("خانه")


def test_kurdish_ae_folds_to_heh_as_typed_on_arabic_keyboards():
    assert search_key("سەلام") == search_key("سهلام")


def test_arabic_indic_digits_become_ascii():
    assert search_key("قاعة ١٢") == "قاعه 12"
    assert search_key("٠٧٧٠١٢٣٤٥٦٧") == "07701234567"


def test_eastern_arabic_indic_digits_become_ascii():
    assert search_key("۰۱۲۳۴۵۶۷۸۹") == "0123456789"


@pytest.mark.parametrize(
    "invisible", ["\u200c", "\u200d", "\u200e", "\u200f", "\u200b", "\u202b", "\u2067"]
)
def test_zero_width_and_bidi_controls_are_removed_without_splitting_words(invisible):
    assert search_key(f"مح{invisible}مد") == "محمد"


def test_latin_is_casefolded_and_accents_stripped():
    assert search_key("  Dr.  José   ") == "dr jose"
    assert search_key("STRASSE Müller") == search_key("strasse muller")


def test_punctuation_becomes_a_space():
    assert search_key("د. يسرى/كريم (محسن)") == "د يسري كريم محسن"
    assert search_key("O'Brien-Smith") == "o brien smith"
    assert search_key("بغداد، العراق") == "بغداد العراق"


def test_mixed_scripts_keep_both_in_order():
    assert search_key("منظمة Corde - العراق") == "منظمه corde العراق"


def test_whitespace_is_collapsed_and_stripped():
    assert search_key("\t إيمان   عبد\n الرحمن  ") == "ايمان عبدالرحمن"


def test_empty_and_punctuation_only_text_give_empty_key():
    assert search_key("") == ""
    assert search_key(" .-، ") == ""


def test_matches_finds_partial_name_in_full_name():
    key = search_key("د. يسرى كريم محسن العلاق")
    assert matches("يسرى العلاق", key)
    assert matches("يسري", key)
    assert matches("علاق", key)


def test_matches_requires_every_token():
    key = search_key("إيمان عبد الرحمن")
    assert matches("ايمان الرحمن", key)
    assert not matches("ايمان العلاق", key)


def test_matches_ignores_spelling_variants_in_query():
    assert matches("أيمان الرحمٰن", search_key("إيمان عبد الرحمن"))


def test_empty_query_matches_nothing():
    assert not matches("", search_key("علي"))
    assert not matches(" . ", search_key("علي"))


@given(st.text())
def test_search_key_is_idempotent(text):
    key = search_key(text)
    assert search_key(key) == key


@given(st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)))
def test_search_key_is_idempotent_on_arabic_block(text):
    key = search_key(text)
    assert search_key(key) == key


@given(st.text())
def test_search_key_output_has_no_diacritics_tatweel_or_extra_spaces(text):
    key = search_key(text)
    assert not DIACRITICS_OR_TATWEEL.search(key)
    assert "  " not in key
    assert key == key.strip()


@given(st.text(), st.text())
def test_matches_never_raises(query, name):
    assert matches(query, search_key(name)) in (True, False)


@pytest.mark.parametrize(
    "one, other",
    [
        ("عبدالرحمن", "عبد الرحمن"),
        ("عبد الله", "عبدالله"),
        ("أبو بكر", "ابوبكر"),
        ("مسؤول", "مسئول"),
        ("داوود", "داود"),
    ],
)
def test_spelling_variants_of_one_name_share_a_key(one, other):
    assert search_key(one) == search_key(other)


def test_a_joined_compound_name_is_found_by_its_second_part():
    assert matches("الرحمن", search_key("عبد الرحمن محمد"))


# Any code point, lone surrogates included, and the pieces the compound and waw rules act on.
HOSTILE_NAMES = st.lists(
    st.one_of(
        st.characters(),
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
        st.integers(0xD800, 0xDFFF).map(chr),
        st.sampled_from([" ", "عبد", "ابو", "أبو", "و", "وو", "ؤ", "ئ"]),
    ),
    max_size=40,
).map("".join)


@given(HOSTILE_NAMES)
def test_search_key_of_any_text_is_its_own_key(text):
    key = search_key(text)
    assert search_key(key) == key
    assert matches(text, key) in (True, False)


@pytest.mark.parametrize("name", ["ووو", "ابو ؤ", "ابو و بكر", "أبو وليد", "داوووود"])
def test_waw_runs_and_compounds_fold_to_a_key_that_is_its_own_key(name):
    key = search_key(name)
    assert "\u0648\u0648" not in key
    assert search_key(key) == key
