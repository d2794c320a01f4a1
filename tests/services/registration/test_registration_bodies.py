"""The JSON APIs' registration bodies: the event's rules apply to the load, not to the view."""

from __future__ import annotations

from marshmallow import ValidationError

from services.registration.registration_bodies import knowing_the_event
from services.registration.schemas import RegistrationSchema
from tests.services.registration.conftest import delegate


def _agency_errors() -> list[str]:
    try:
        RegistrationSchema().load(delegate(agency="NOPE"))
    except ValidationError as error:
        return error.messages["agency"]
    return []


def test_the_view_runs_with_the_event_rules_lifted(app, demo_event):
    seen = {}

    def arguments(view):
        def loaded(*args, **kwargs):
            seen["load"] = _agency_errors()
            return view({}, *args, **kwargs)

        return loaded

    @knowing_the_event(lambda ref: (demo_event, None), arguments)
    def view(data, event, agency):
        seen["view"] = _agency_errors()

    with app.test_request_context("/", method="POST"):
        view(ref=demo_event.slug)
    assert seen == {"load": ["unknown_agency"], "view": []}
    assert _agency_errors() == []
