"""The error envelope: domain errors and marshmallow messages as RFC 9457 documents."""

from shared.i18n import Catalog
from shared.problems import DomainError, flatten_messages, problem_body


def test_domain_error_kind_picks_the_http_status():
    assert DomainError("quota_full", kind="conflict").status == 409
    assert DomainError("x", kind="not_found").status == 404
    assert DomainError("x").status == 422


def test_domain_error_with_a_field_lists_it_with_its_own_code():
    error = DomainError(
        "duplicate_person", kind="conflict", field="email", field_code="duplicate_email"
    )
    assert [(f.field, f.code) for f in error.fields] == [("email", "duplicate_email")]


def test_nested_marshmallow_messages_flatten_to_dotted_fields():
    messages = {
        "days": {0: ["Not a valid date."]},
        "email": ["email_invalid"],
        "_schema": ["name_required"],
    }
    flat = {(f.field, f.code) for f in flatten_messages(messages)}
    assert flat == {
        ("days.0", "not_date"),
        ("email", "email_invalid"),
        ("_request", "name_required"),
    }


def test_problem_body_translates_title_and_every_field():
    catalog = Catalog()
    fields = flatten_messages({"gender": ["Missing data for required field."]})
    body = problem_body(catalog, "ar", 422, "validation_failed", fields)
    assert body["type"] == "urn:hudoor:problem:validation_failed"
    assert body["status"] == 422
    assert body["errors"] == [
        {"field": "gender", "code": "required", "message": "هذا الحقل مطلوب."}
    ]
