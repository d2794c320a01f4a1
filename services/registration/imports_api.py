"""Delegation lists: focal points (and organizers) upload an agency's list as CSV or XLSX."""

from __future__ import annotations

import hashlib

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from services.registration import imports
from services.registration.api import present
from services.registration.idempotency import run_once
from services.registration.operations.audit import record
from services.registration.operations.imports import import_delegation
from services.registration.schemas import RegistrationSchema
from services.registration.scopes import DELEGATION, actor, context, privileged, scoped_agency
from shared.access import PUBLIC, allow
from shared.problems import DomainError
from shared.web import accepts_upload, db_session

# Room for the multipart envelope around the largest accepted file.
UPLOAD_LIMIT = imports.MAX_BYTES + 64 * 1024
TEMPLATE_NAME = "hudoor-delegation-list.csv"
blp = Blueprint("imports", __name__, url_prefix="/api/v1", description="Delegation lists")
_MULTIPART = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        }
    }
}


class ImportResultSchema(Schema):
    """The delegates registered from a list, in its order."""

    count = fields.Integer()
    registrations = fields.List(fields.Nested(RegistrationSchema))
    ignored_columns = fields.List(fields.String())


@blp.route("/events/<ref>/agencies/<code>/imports", methods=["POST"])
@accepts_upload(UPLOAD_LIMIT)
@blp.doc(
    requestBody=_MULTIPART,
    parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}],
)
@blp.response(201, ImportResultSchema)
@allow(*DELEGATION)
def import_list(ref, code):
    """Register an agency's delegation from a CSV or XLSX list: every row, or none."""
    session = db_session()
    event, agency = scoped_agency(ref, code)
    upload = _uploaded_file()
    organizer = privileged(event)

    def run():
        result = import_delegation(session, context(), event, agency, upload, privileged=organizer)
        count = len(result.registrations)
        record(session, actor(), "delegation.imported", event.id, agency_id=agency.id, rows=count)
        return _body(result), 201

    key = request.headers.get("Idempotency-Key")
    digest = {"sha256": hashlib.sha256(upload).hexdigest()}
    body, status = run_once(session, f"import:{agency.id}", key, digest, run)
    session.commit()
    response = jsonify(body)  # already serialised, possibly replayed from storage
    response.status_code = status
    return response


def _uploaded_file() -> bytes:
    """The bytes of the multipart field `file`, or a clear refusal."""
    if request.mimetype != "multipart/form-data":
        raise DomainError("import_not_multipart", kind="unsupported_media_type")
    try:
        if (request.content_length or 0) > UPLOAD_LIMIT:
            raise RequestEntityTooLarge()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise DomainError(
            "import_too_large", kind="too_large", max_mb=imports.MAX_BYTES // 2**20
        ) from None
    if upload is None:
        raise DomainError("import_file_missing", field="file")
    return upload.read(imports.MAX_BYTES + 1)


def _body(result) -> dict:
    return {
        "count": len(result.registrations),
        "registrations": [present(r) for r in result.registrations],
        "ignored_columns": result.ignored_columns,
    }


@blp.route("/imports/template.csv")
@blp.doc(responses={"200": {"content": {"text/csv": {}}}})
@allow(PUBLIC)
def template():
    """A blank delegation list to fill in (CSV, UTF-8 with BOM, Arabic and English headers)."""
    return Response(
        imports.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"'},
    )
