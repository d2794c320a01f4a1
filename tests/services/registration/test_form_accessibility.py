"""The delegate's forms for assistive technology: errors tied to fields, focus on the first."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.services.registration.test_views import FORM, form_fields, register, submit


class Controls(HTMLParser):
    """The form controls of a page (attributes by name, radios by their first) and element ids."""

    def __init__(self, html: str):
        super().__init__()
        self.controls: dict[str, list[dict]] = {}
        self.ids: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag in ("input", "select") and attributes.get("type") != "hidden":
            self.controls.setdefault(attributes.get("name"), []).append(attributes)

    def autofocused(self) -> list[str]:
        return [n for n, group in self.controls.items() for a in group if "autofocus" in a]


def every_field_wrong() -> dict:
    fields = form_fields(agency="", email="not-an-email", phone="12", job_title="x" * 201)
    del fields["gender"], fields["consent"]
    return fields


def test_every_error_is_tied_to_its_field_and_the_first_takes_the_focus(web, demo_event):
    page = Controls(submit(web, FORM, every_field_wrong()).get_data(as_text=True))
    for name in ("agency", "job_title", "email", "phone", "gender", "consent"):
        for control in page.controls[name]:
            assert control.get("aria-invalid") == "true", name
            described = control["aria-describedby"].split()
            assert f"{name}-error-1" in described and set(described) <= page.ids, name
    assert page.autofocused() == ["agency"]  # the first field of the form
    assert "aria-invalid" not in page.controls["full_name_ar"][0]


def test_a_fresh_form_has_no_error_state_and_takes_no_focus(web, demo_event):
    page = Controls(web.get(FORM).get_data(as_text=True))
    assert page.autofocused() == []
    assert not any("aria-invalid" in a for group in page.controls.values() for a in group)
    assert page.controls["full_name_en"][0]["aria-describedby"] == "name-hint"
    assert "name-hint" in page.ids


def test_an_unknown_agency_is_marked_on_the_agency_choice(web, demo_event):
    page = Controls(submit(web, FORM, form_fields(agency="NOPE")).get_data(as_text=True))
    assert page.controls["agency"][0].get("aria-invalid") == "true"
    assert page.autofocused() == ["agency"]


def test_contact_inputs_ask_phones_for_the_right_keyboard_and_autofill(web, demo_event):
    controls = Controls(web.get(FORM).get_data(as_text=True)).controls
    assert (controls["phone"][0]["type"], controls["phone"][0]["autocomplete"]) == ("tel", "tel")
    assert (controls["email"][0]["type"], controls["email"][0]["autocomplete"]) == ("email",) * 2
    assert controls["job_title"][0]["autocomplete"] == "organization-title"


def test_private_page_errors_are_tied_to_their_fields(web, demo_event):
    page = register(web)
    html = submit(web, page, {"action": "update", "phone": "01 718 1234"}).get_data(as_text=True)
    phone = Controls(html).controls["phone"][0]
    assert phone.get("aria-invalid") == "true"
    assert phone["aria-describedby"] == "phone-error-1"
    assert "autofocus" in phone


def test_an_unconfirmed_cancellation_focuses_the_confirmation(web, upcoming_event):
    page = register(web)
    html = submit(web, page, {"action": "cancel"}).get_data(as_text=True)
    confirm = Controls(html).controls["confirm"][0]
    assert confirm.get("aria-invalid") == "true"
    assert Controls(html).autofocused() == ["confirm"]


def test_a_refused_correction_shows_what_was_typed_next_to_its_error(web, demo_event, session):
    page = register(web)
    fields = {"action": "update", "phone": "01 718 1234", "channel": "sms", "language": "en"}
    controls = Controls(submit(web, page, fields).get_data(as_text=True)).controls
    assert controls["phone"][0]["value"] == "01 718 1234"
    assert [a["value"] for a in controls["channel"] if "checked" in a] == ["sms"]
    assert [a["value"] for a in controls["language"] if "checked" in a] == ["en"]
    assert controls["email"][0]["value"] == "yusra@example.org"


def test_an_unconfirmed_cancellation_keeps_the_saved_details_in_the_form(web, demo_event):
    page = register(web)
    controls = Controls(submit(web, page, {"action": "cancel"}).get_data(as_text=True)).controls
    assert controls["phone"][0]["value"] == "+9647701234567"
