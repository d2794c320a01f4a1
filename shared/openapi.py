"""OpenAPI documents that say what the services answer: problem+json errors on every operation."""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields

from shared.problems import PROBLEM_MEDIA_TYPE

# Statuses the shared plumbing may answer on any operation: bad JSON, the access policy (and
# a forged or revoked token, even on public routes that read the caller), ids that do not exist,
# invalid input, rate limits, the database down.
EVERY_OPERATION = (400, 401, 403, 404, 422, 429, 503)
# Besides, on methods that take a body: a refused change, a body too large, not JSON.
BODY_OPERATIONS = (409, 413, 415)
BODY_METHODS = frozenset({"post", "put", "patch"})
BEARER = "bearer"


class FieldProblemSchema(Schema):
    """One invalid field of a problem document (with its row, for an uploaded list)."""

    row = fields.Integer()
    field = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem document: a machine-readable code and a translated title."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldProblemSchema))


class ProblemResponses(BasePlugin):
    """apispec plugin: every operation lists the problem responses the plumbing may give."""

    def __init__(self, app=None):
        self.app = app

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs):
        """Add the shared problem responses, and bearer auth where the view is not public."""
        guarded = self._guarded(rule)
        for method, operation in (operations or {}).items():
            statuses = EVERY_OPERATION + (BODY_OPERATIONS if method in BODY_METHODS else ())
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), HTTPStatus(status).name)
            if guarded:
                operation.setdefault("security", [{BEARER: []}])

    def _guarded(self, rule) -> bool:
        """Whether the rule's view admits some roles only (see shared.access.allow)."""
        view = self.app.view_functions.get(rule.endpoint) if self.app and rule else None
        return "public" not in getattr(view, "allowed_roles", {"public"})


class ProblemDocs:
    """Mixin for flask-smorest's Api: error responses documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs):
        spec_kwargs = dict(spec_kwargs or {})
        plugins = [*spec_kwargs.get("extra_plugins", ()), ProblemResponses(app)]
        spec_kwargs["extra_plugins"] = plugins
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)
        if app is not None:
            scheme = {"type": "http", "scheme": "bearer", "description": "hdr_ API token"}
            self.spec.components.security_scheme(BEARER, scheme)

    def _register_responses(self):
        """Register a response per status name, and the default, as problem+json."""
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
