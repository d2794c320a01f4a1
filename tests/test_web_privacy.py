"""No personal data in URLs (so none in access logs), and none in the apps' database errors."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.badge_tokens import BadgeKeyring
from shared.db import create_db_engine
from shared.identity import issue_api_token
from tests.test_authorization import SECRET
from tests.test_web_security import SERVICES, build

# Names of URL variables or query parameters that would carry a person's name, phone or e-mail.
PERSONAL = re.compile(r"^(q|query|search|name|full_name\w*|email|e_mail|phone|mobile|contact)$")


@pytest.fixture(scope="module")
def keyring():
    return BadgeKeyring.generate(key_id=1)


@pytest.mark.parametrize("name", SERVICES)
def test_no_route_takes_personal_data_in_its_path_or_query(request, keyring, tmp_path, name):
    app, _ = build(name, request, keyring, tmp_path)
    variables = {v for rule in app.url_map.iter_rules() for v in rule.arguments}
    assert not {v for v in variables if PERSONAL.match(v)}
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    in_urls = [
        (path, parameter["name"])
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") in ("path", "query") and PERSONAL.match(parameter["name"])
    ]
    assert in_urls == []


def test_door_search_takes_the_name_in_the_body_not_the_url(request, keyring, tmp_path):
    app, _ = build("checkin", request, keyring, tmp_path)
    token = issue_api_token(SECRET, subject="door", role="organizer", token_id="privacy-door")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    by_url = client.get("/api/v1/events/1/search?q=اسراء", headers=headers)
    assert by_url.status_code == 405
    by_body = client.post("/api/v1/events/1/search", json={"q": "اسراء"}, headers=headers)
    assert by_body.status_code == 404  # no such event here: the route took the body


def test_database_errors_never_carry_the_statement_parameters(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'privacy.db'}")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(
            text("SELECT * FROM missing WHERE email = :email"), {"email": "iman@x.iq"}
        )
    assert "iman@x.iq" not in str(raised.value) and "iman@x.iq" not in repr(raised.value)
    engine.dispose()
