"""Request bodies: media type, size limit, malformed and pathological JSON, NUL characters."""

from __future__ import annotations

import json

import pytest

from tests.services.registration.api.calls import REGISTER, problem
from tests.services.registration.api.event_state import written
from tests.services.registration.conftest import delegate

# --- bodies: media type, size, malformed JSON ----------------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": "gender=female", "content_type": "text/plain"},
        {"data": {"gender": "female", "consent": "yes"}},
        {"data": json.dumps(delegate()), "content_type": "application/xml"},
    ],
    ids=["text-plain", "form-encoded", "xml"],
)
def test_non_json_body_is_a_415_problem(web, demo_event, session, request_kwargs):
    before = written(session)
    body = problem(web.post(REGISTER, **request_kwargs), 415)
    assert body["code"] == "unsupported_media_type"
    assert written(session) == before


def test_json_with_charset_parameter_is_accepted_as_json(web, demo_event):
    response = web.post(
        REGISTER,
        data=json.dumps(delegate(agency="NOPE")),
        content_type="application/json; charset=utf-8",
    )
    assert [e["code"] for e in problem(response, 422)["errors"]] == ["unknown_agency"]


def test_malformed_json_is_a_400_invalid_json(web, demo_event, session):
    before = written(session)
    response = web.post(REGISTER, data='{"gender": "female",', content_type="application/json")
    assert problem(response, 400)["code"] == "invalid_json"
    assert written(session) == before


@pytest.mark.parametrize(
    "raw",
    ['{"gender": ' + "9" * 5000 + "}", "[" * 30_000 + "]" * 30_000, b'{"gender": "\xff"}'],
    ids=["huge-integer", "deep-nesting", "not-utf-8"],
)
def test_pathological_json_within_the_size_limit_is_a_400_not_a_500(web, demo_event, raw):
    assert len(raw) < 64 * 1024
    response = web.post(REGISTER, data=raw, content_type="application/json")
    assert problem(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("body", ["null", "[]", '"IWED"', "42", ""])
def test_json_that_is_not_an_object_is_a_422_problem(web, demo_event, body):
    response = web.post(REGISTER, data=body, content_type="application/json")
    assert problem(response, 422)["code"] == "validation_failed"


def test_body_over_64_kib_is_a_413_problem(web, demo_event, session):
    before = written(session)
    huge = json.dumps(delegate(job_title="x" * (65 * 1024)))
    body = problem(web.post(REGISTER, data=huge, content_type="application/json"), 413)
    assert body["code"] == "payload_too_large"
    assert written(session) == before


@pytest.mark.parametrize("field", ["agency", "category"])
def test_nul_character_in_a_code_is_a_422_not_a_500(web, demo_event, field):
    response = web.post(REGISTER, json=delegate(**{field: "IW\x00ED"}))
    body = problem(response, 422)
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "path",
    ["/api/v1/events/wli%00gbv/agencies", "/api/v1/events/wli-gbv-2023/agencies/IW%00ED/link"],
    ids=["event", "agency"],
)
def test_nul_character_in_a_url_reference_is_a_404_not_a_500(web, demo_event, auth, path):
    assert problem(web.get(path, headers=auth), 404)["code"].endswith("_not_found")
