"""The event's .ics: RFC 5545 structure, escaping and folding, read back by a small parser."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.calendar import escape_text, event_ics, fold

URL = "https://hudoor.example.org/r/7~abcdEFGH1234." + "S" * 27


def make_payload(days=("2023-02-12",), **event) -> dict:
    """The parts of a delegate event the calendar reads."""
    return {
        "occurred_at": "2026-11-28T12:30:05+03:00",
        "self_service_url": URL,
        "event": {
            "slug": "wli-gbv-2023",
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي ودعم تعافي الناجيات",
            "name_en": "Conference to Combat Gender-Based Violence and Support the Recovery "
            "of Survivors",
            "venue_ar": "دار الضيافة، بغداد",
            "venue_en": "Government Guesthouse, Baghdad",
            "timezone": "Asia/Baghdad",
            "days": list(days),
            **event,
        },
        "delegate": {"badge_id": 7},
    }


def unescape(value: str) -> str:
    """Undo RFC 5545 TEXT escaping."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def parse(ics: str) -> list[tuple[str, dict[str, str], str]]:
    """Unfold CRLF content lines and split each into (name, params, value)."""
    assert ics.endswith("\r\n")
    unfolded = re.sub(r"\r\n[ \t]", "", ics)
    lines = []
    for line in unfolded.split("\r\n")[:-1]:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        lines.append((name, dict(p.split("=", 1) for p in params), value))
    return lines


def vevent(ics: str) -> dict[str, tuple[dict[str, str], str]]:
    """The single VEVENT's properties by name."""
    lines = parse(ics)
    start = lines.index(("BEGIN", {}, "VEVENT"))
    end = lines.index(("END", {}, "VEVENT"))
    return {name: (params, value) for name, params, value in lines[start + 1 : end]}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_calendar_envelope(lang):
    lines = parse(event_ics(make_payload(), lang))
    assert lines[0] == ("BEGIN", {}, "VCALENDAR")
    assert lines[-1] == ("END", {}, "VCALENDAR")
    props = {name: value for name, _, value in lines}
    assert props["VERSION"] == "2.0"
    assert props["METHOD"] == "PUBLISH"
    assert props["PRODID"]
    assert [name for name, _, value in lines if value == "VEVENT"] == ["BEGIN", "END"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_event_fields(lang):
    payload = make_payload()
    event = vevent(event_ics(payload, lang))
    assert event["UID"] == ({}, "wli-gbv-2023-7@hudoor")
    assert event["DTSTAMP"] == ({}, "20261128T093005Z")
    assert event["DTSTART"] == ({"VALUE": "DATE"}, "20230212")
    assert event["DTEND"] == ({"VALUE": "DATE"}, "20230213")
    assert unescape(event["SUMMARY"][1]) == payload["event"][f"name_{lang}"]
    assert unescape(event["LOCATION"][1]) == payload["event"][f"venue_{lang}"]
    assert event["SUMMARY"][0] == {"LANGUAGE": lang}
    assert URL in unescape(event["DESCRIPTION"][1])


def test_several_days_span_first_to_day_after_last():
    event = vevent(event_ics(make_payload(days=["2023-03-01", "2023-02-28"]), "en"))
    assert event["DTSTART"][1] == "20230228"
    assert event["DTEND"][1] == "20230302"


def test_naive_and_z_timestamps_are_utc():
    for stamp in ("2026-01-05T10:20:30", "2026-01-05T10:20:30Z"):
        payload = make_payload() | {"occurred_at": stamp}
        assert vevent(event_ics(payload, "en"))["DTSTAMP"][1] == "20260105T102030Z"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_physical_lines_are_crlf_and_at_most_75_octets(lang):
    ics = event_ics(make_payload(), lang)
    assert "\n" not in ics.replace("\r\n", "")
    physical = ics.split("\r\n")[:-1]
    assert max(len(line.encode("utf-8")) for line in physical) <= 75
    assert any(line.startswith(" ") for line in physical)  # the Arabic summary was folded


def test_arabic_survives_folding_intact():
    name = "مؤتمر " * 40 + "— نهاية"
    ics = event_ics(make_payload(name_ar=name), "ar")
    for line in ics.encode("utf-8").split(b"\r\n"):
        line.decode("utf-8")  # no physical line starts or ends inside a character
    assert unescape(vevent(ics)["SUMMARY"][1]) == name


def test_text_values_are_escaped():
    tricky = 'Hall A; Floor 2, "East"\\West\nSecond line'
    event = vevent(event_ics(make_payload(venue_en=tricky), "en"))
    assert event["LOCATION"][1] == 'Hall A\\; Floor 2\\, "East"\\\\West\\nSecond line'
    assert unescape(event["LOCATION"][1]) == tricky


def test_escape_text_normalises_line_breaks():
    assert escape_text("a\r\nb\rc") == "a\\nb\\nc"


@given(st.text(alphabet=st.sampled_from("aبé😀€ ,;"), max_size=300))
def test_fold_round_trips_and_respects_octets(value):
    folded = fold("SUMMARY:" + value)
    assert all(len(line.encode("utf-8")) <= 75 for line in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "SUMMARY:" + value
