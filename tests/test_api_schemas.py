"""Schemathesis against every service's OpenAPI document, in process, on the real test databases.

Every operation gets generated requests as an administrator: valid ones aimed at a real event,
agency and registration (so they get past "not found"), and invalid ones anywhere. Every answer
must be no 5xx and conform to the document (status, media type, headers, body), and invalid input
must be refused.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from services.checkin import operations as checkin_operations
from services.registration.demo import load_demo
from services.registration.operations import Context, accounts, register_delegate
from services.registration.schemas import RegistrationSchema
from shared.identity import issue_api_token
from tests.conftest import rollback_factory
from tests.services.checkin.conftest import KEYRING as CHECKIN_KEYRING
from tests.services.checkin.conftest import roster_event
from tests.services.registration.conftest import delegate
from tests.test_authorization import SECRET, _checkin_app, _notifications_app, _registration_app

# Bounded for the suite; HUDOOR_SCHEMATHESIS_EXAMPLES=500 digs deeper (a nightly step, by hand).
EXAMPLES = int(os.environ.get("HUDOOR_SCHEMATHESIS_EXAMPLES", "25"))
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# No 5xx; status, media type, headers and body as documented; invalid input refused. Valid input
# may still be refused (a name with control characters, an unknown event): the document cannot say.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


class Target:
    """A service's loaded document, the caller's headers and the ids that exist in its database."""

    def __init__(self, app, token: str, known: dict):
        app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.known = known

    def strategy(self, operation, mode: GenerationMode):
        """Generated cases; valid ones aimed at existing ids where the path has them."""
        names = {parameter.name for parameter in operation.path_parameters}
        fixed = {k: v for k, v in self.known.items() if k in names} if mode.is_positive else {}
        return operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)


def _registration_seed(session, keyring) -> tuple[str, dict]:
    """The demo event, one registration and an administrator's account token."""
    event = load_demo(session)
    ctx = Context(keyring, SECRET, "http://hudoor.test")
    registration = register_delegate(session, ctx, event, RegistrationSchema().load(delegate()))
    admin = {"email": "admin@example.org", "name": "Admin", "role": "admin"}
    account = accounts.create_account(session, ctx, admin | {"password": "kahramana-1958"})
    _, token = accounts.issue_token(session, ctx, account, "schemathesis")
    session.commit()
    known = {"ref": event.slug, "code": "IWED", "registration_id": registration.id}
    return token, known


@pytest.fixture
def registration_target(registration_db):
    factory, close = rollback_factory(registration_db.engine)
    with factory() as session:
        token, known = _registration_seed(session, CHECKIN_KEYRING)
    yield Target(_registration_app(registration_db, CHECKIN_KEYRING, factory), token, known)
    close()


def _service_token() -> str:
    return issue_api_token(SECRET, subject="schemathesis", role="admin", token_id=uuid.uuid4().hex)


@pytest.fixture
def checkin_target(checkin_db):
    factory, close = rollback_factory(checkin_db.engine)
    with factory() as session:
        for badge_id in (1, 2):
            checkin_operations.apply_roster_event(session, roster_event(badge_id))
        session.commit()
    app = _checkin_app(checkin_db, CHECKIN_KEYRING, factory)
    yield Target(app, _service_token(), {"event_id": 1})
    close()


@pytest.fixture
def notifications_target(notifications_db, tmp_path):
    factory, close = rollback_factory(notifications_db.engine)
    app = _notifications_app(notifications_db, tmp_path, factory)
    yield Target(app, _service_token(), {"event_id": 1})
    close()


def _failures(target: Target, mode: GenerationMode) -> list[str]:
    """Run every operation's generated cases; return one report per failing operation."""
    failures = []
    for result in target.schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=target.strategy(operation, mode))
        def exercise(case):
            case.call_and_validate(headers=target.headers, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            continue  # nothing to make invalid (no parameters, no body)
        except (Exception, FailureGroup) as error:  # reported with every other operation's
            failures.append(f"{operation.label} ({mode}): {error}")
    return failures


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("service", ["registration", "checkin", "notifications"])
def test_every_operation_answers_as_its_document_says(request, service, mode):
    target = request.getfixturevalue(f"{service}_target")
    failures = _failures(target, mode)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("service", ["registration", "checkin", "notifications"])
def test_every_operation_documents_its_problem_responses(request, service):
    document = request.getfixturevalue(f"{service}_target").schema.raw_schema
    problem = document["components"]["responses"]["UNAUTHORIZED"]["content"]
    undocumented = [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        and not {"400", "401", "403", "404", "422", "429", "503"} <= set(operation["responses"])
    ]
    assert list(problem) == ["application/problem+json"]
    assert undocumented == []


def test_only_public_operations_go_without_bearer_auth_in_the_document(registration_target):
    document = registration_target.schema.raw_schema
    paths = document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert paths["/api/v1/events"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/api/v1/events/{ref}/registrations"]["post"]
    assert "security" not in paths["/api/v1/badge-keys"]["get"]
