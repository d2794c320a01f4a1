"""Generated check-in API requests: handled answers in the asked language; refusals write nothing.

Scans, manual check-ins, search, lists, devices, undo, reports and exports, as an organizer, a door
device and a focal point, with odd values in one field of a valid body (wrong types, NUL, lone
surrogates, bidi controls, combining marks, huge strings and numbers), bodies that are not JSON
objects, wrong content types, ids out of range and repeated query parameters. Every answer:
no 5xx; a 4xx is a problem document in the request's language whose field errors name a field
of the request; a refused request leaves every table as it was; and no accepted request stores
text with NUL, a lone surrogate or a bidi override.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.checkin import operations
from services.checkin.app import CATALOG
from services.checkin.models import Base, Checkin, RosterEntry
from shared.i18n import negotiate
from shared.identity import issue_api_token
from tests.services.checkin.conftest import EVENT_ID, SECRET, bearer, token

PROBLEM = "application/problem+json"
ARABIC = re.compile(r"[\u0600-\u06ff]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
# How a stored string with NUL, a lone surrogate or a bidi override shows in a row's repr.
ODD_STORED = re.compile(r"\\x00|\\ud[89a-f]|\\u202[a-e]|\\u206[6-9]")
IDS = ["1", "0", "2", "2147483647", "2147483648", str(2**63), str(2**64), "-1", "01", "١", "x\x00"]
ODD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202eعكس\u202c",
    "\u2066x\u2069",
    "\u200f\u200e",
    "مُحَمَّد",
    "ا" + "\u0651" * 300,
    "ﷺ",
    "١٢٣",
    "\ufeff",
    "\u2028",
    "\t",
    "A" * 5000,
    "يسرى",
    "IWED",
    "%00",
    "2023-02-30",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "2023-02-12T10:00:00",
    0,
    -1,
    2**31,
    2**63,
    10**40,
    1.5,
    1e300,
    True,
    None,
    [],
    {},
    ["DELEGATE", None],
    {"a": {"b": [1]}},
]
FIELDS = {
    "/api/v1/scans": ["token", "list_id", "gate", "nonce", "direction", "scanned_at", "offline"],
    "/api/v1/checkins": ["badge_id", "list_id", "gate", "nonce"],
    "search": ["q"],
    "lists": ["name_ar", "name_en", "day", "categories"],
    "devices": ["gate", "name"],
    "undo": ["reason"],
}
# Who calls each kind of request: mostly a role it allows (so the view runs), any role besides.
ROLES = {
    "/api/v1/scans": ["device", "organizer"],
    "/api/v1/checkins": ["device", "organizer"],
    "search": ["device", "organizer"],
    "lists": ["device", "organizer"],
    "report": ["focal_point", "organizer"],
    "export": ["focal_point", "organizer"],
    "devices": ["organizer"],
    "revoke": ["organizer"],
    "undo": ["organizer"],
}
REPORTS = ["attendance", "no-shows", "inside", "inside/count", "arrivals", "audit", "counts"]
EXPORTS = ["attendance.csv"] * 6 + ["attendance.xlsx", "attendance.pdf"]
QUERY = ["by", "lang", "agency", "day", "list_id", "minutes", "action", "badge", "before", "limit"]
QUERY_VALUES = [
    "",
    "1",
    "0",
    "-1",
    "2147483648",
    str(2**63),
    "en",
    "ar",
    "fr",
    "agency",
    "agency,day,gender,category",
    "agency,agency",
    "2023-02-12",
    "2023-02-30",
    "IWED",
    "15",
    "7",
    "500",
    "501",
    "\x00",
    "\u202e",
    "x" * 300,
]
RAW_BODIES = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"x"',
    b"1",
    b"\xff\xfe",
    b'{"q": "\xed\xa0\x80"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'{"list_id": 1e99999}',
    b'{"list_id": NaN}',
    b'{"list_id": 1, "list_id": 2}',
    b'{"list_id": ' + b"9" * 5000 + b"}",
]
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/problem+json",
]


@pytest.fixture
def world(client, session, today_list):
    """The app (500s answered, not raised), an enrolled device and the callers' headers."""
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    # Without cookies: `?lang=` sets one, and the next request's language must be its own.
    client = client.application.test_client(use_cookies=False)
    device = operations.create_device(session, EVENT_ID, "north", "Door 1", "test")
    spare = operations.create_device(session, EVENT_ID, "south", "Door 2", "test")
    iwed = session.scalar(select(RosterEntry.agency_id).where(RosterEntry.agency_code == "IWED"))
    headers = {
        "organizer": bearer("organizer"),
        "device": _header("device", device.id, events=[EVENT_ID]),
        "focal_point": _header("focal_point", uuid.uuid4().hex, events=[EVENT_ID], agencies=[iwed]),
    }
    scanned = client.post(
        "/api/v1/checkins",
        json={"badge_id": 1, "list_id": today_list.id, "nonce": "first-checkin"},
        headers=headers["organizer"],
    )
    assert scanned.status_code == 200
    return {
        "client": client,
        "session": session,
        "headers": headers,
        "list_id": today_list.id,
        "device_id": spare.id,  # to revoke: the fuzzing device keeps its token
        "checkin_id": session.scalar(select(Checkin.id).where(Checkin.badge_id == 1)),
    }


def _header(role: str, token_id: str, **scope) -> dict:
    value = issue_api_token(SECRET, subject=f"fuzz-{role}", role=role, token_id=token_id, **scope)
    return {"Authorization": f"Bearer {value}"}


def _valid(path: str, world: dict) -> dict:
    """A valid body for the path, to change one field of."""
    nonce = f"fuzz-{uuid.uuid4().hex[:12]}"
    return {
        "/api/v1/scans": {"token": token(2), "list_id": world["list_id"], "nonce": nonce},
        "/api/v1/checkins": {"badge_id": 3, "list_id": world["list_id"], "nonce": nonce},
        "search": {"q": "يسرى"},
        "lists": {"name_ar": "القاعة", "name_en": "Hall", "day": "2023-02-12"},
        "devices": {"gate": "south", "name": "Door 2"},
        "undo": {"reason": "wrong delegate"},
    }[path]


@st.composite
def calls(draw):
    """(role, method, path kind, path ids, body kind, body or changes, query pairs, language)."""
    kind = draw(
        st.sampled_from(
            [
                "/api/v1/scans",
                "/api/v1/checkins",
                "search",
                "lists",
                "lists",
                "devices",
                "revoke",
                "undo",
                "report",
                "export",
            ]
        )
    )
    role = draw(
        st.sampled_from(ROLES[kind]) | st.sampled_from(["organizer", "device", "focal_point"])
    )
    path_id = st.sampled_from(["1"] * 4 + IDS)  # mostly the real one, so the view runs
    ids = (draw(path_id), draw(path_id))
    shape = draw(st.sampled_from(["change", "change", "change", "object", "raw", "type"]))
    if shape == "change":
        names = [*FIELDS.get(kind, ["x"]), "unknown", "\ud800"]
        changes = draw(
            st.dictionaries(st.sampled_from(names), st.sampled_from([*ODD, "__drop__"]), max_size=2)
        )
    elif shape == "object":
        changes = draw(st.dictionaries(st.text(max_size=8), st.sampled_from(ODD), max_size=4))
    elif shape == "raw":
        changes = draw(st.sampled_from(RAW_BODIES))
    else:
        changes = draw(st.sampled_from(CONTENT_TYPES))
    pairs = draw(st.lists(st.tuples(st.sampled_from(QUERY), st.sampled_from(QUERY_VALUES))))
    lang = draw(st.sampled_from([None, "ar", "en", "fr", "en;q=0.5, ar", "*"]))
    report = draw(st.sampled_from(REPORTS if kind == "report" else EXPORTS))
    return role, (kind, report), ids, shape, changes, pairs[:4], lang


def case(role, kind, changes, *, ids=("1", "1"), pairs=(), lang=None, report="attendance"):
    """A call as `calls()` draws it: one change to a valid body."""
    return role, (kind, report), ids, "change", changes, list(pairs), lang


def _request(world: dict, call) -> tuple[str, str, dict, set[str]]:
    """Method, URL, test-client arguments and the names of what the request sent."""
    role, (kind, report), (first, second), shape, changes, pairs, lang = call
    method, url = "POST", kind
    if kind == "search":
        url = f"/api/v1/events/{first}/search"
    elif kind == "lists":
        method = "POST" if second in ("1", "2") else "GET"
        url = f"/api/v1/events/{first}/lists"
    elif kind == "devices":
        url = f"/api/v1/events/{first}/devices"
    elif kind == "revoke":
        url = f"/api/v1/devices/{world['device_id'] if first == '1' else quote(str(second))}/revoke"
    elif kind == "undo":
        url = f"/api/v1/checkins/{world['checkin_id'] if first == '1' else first}/undo"
    elif kind in ("report", "export"):
        method = "GET"
        url = f"/api/v1/events/{first}/{report}"
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    headers = dict(world["headers"][role]) | ({"Accept-Language": lang} if lang else {})
    sent = {k for k, _ in pairs} | set(FIELDS.get(kind, [])) | set(QUERY)
    arguments = {"headers": headers}
    if method == "POST" and kind != "revoke":
        if shape == "change":
            body = {**_valid(kind, world), **changes}
            body = {k: v for k, v in body.items() if v != "__drop__"}
        elif shape == "type":
            body = _valid(kind, world)
            arguments["content_type"] = changes
        else:
            body = changes
        if isinstance(body, bytes):
            arguments["data"] = body
        else:
            # ASCII escapes, so lone surrogates travel as JSON sends them ("\ud800").
            arguments["data"] = json.dumps(body).encode()
            sent |= {SURROGATE.sub("\ufffd", k) for k in body} if isinstance(body, dict) else set()
        arguments.setdefault("content_type", "application/json")
    return method, url + (f"?{query}" if query else ""), arguments, sent


def snapshot(session) -> dict[str, list[str]]:
    """Every row of every table, as text (the database is a few dozen rows)."""
    session.expire_all()
    return {
        table.name: sorted(map(repr, session.execute(select(table)).all()))
        for table in Base.metadata.sorted_tables
    }


def language(pairs, accept: str | None) -> str:
    """The language the answer must be in: `?lang=`, else Accept-Language, else Arabic."""
    asked = next((value for name, value in pairs if name == "lang"), None)
    return negotiate(asked, None, accept, "ar")


def assert_handled(response, sent: set[str], lang: str) -> None:
    """No 5xx; a 4xx is a translated problem whose field errors name a field of the request."""
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code < 400:
        return
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == response.status_code
    assert body["code"] in CATALOG, body
    texts = [body["title"]]
    for error in body.get("errors", []):
        assert error["code"] in CATALOG, body
        assert error["field"].split(".")[0] in sent | {"_request"}, body
        texts.append(error["message"])
    if body["code"] == "validation_failed":
        assert body["errors"], body
    for text in texts:
        assert bool(ARABIC.search(text)) == (lang == "ar"), (lang, body)


def assert_nothing_odd_stored(before: dict, after: dict) -> None:
    for table, rows in after.items():
        new = set(rows) - set(before[table])
        assert not [row for row in new if ODD_STORED.search(row)], (table, new)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(call=case("organizer", "devices", {"gate": "a\x00b"}, lang="en"))
@example(call=case("organizer", "devices", {"name": "\ud800"}))
@example(call=case("organizer", "lists", {"name_en": "\u202eHall"}, lang="en"))
@example(call=case("organizer", "lists", {}, ids=("2147483648", "1")))
@example(call=case("device", "/api/v1/scans", {"token": "\ud800"}))
@example(call=case("device", "/api/v1/scans", {"nonce": "no"}, lang="en"))
@example(call=case("device", "/api/v1/checkins", {"gate": "\x00"}))
@example(call=case("organizer", "/api/v1/checkins", {"gate": ""}, lang="en"))
@example(call=case("device", "search", {"q": "a\x00"}))
@example(call=case("organizer", "undo", {"reason": "ab"}, lang="en"))
@example(call=case("organizer", "undo", {"reason": "why\x00"}))
@example(call=case("focal_point", "export", {}, pairs=[("by", "day,gender")], lang="en"))
@example(call=case("organizer", "export", {}, pairs=[("by", "x")], report="attendance.xlsx"))
@given(call=calls())
def test_fuzzed_check_in_requests_are_handled_and_refusals_write_nothing(world, call):
    method, url, arguments, sent = _request(world, call)
    before = snapshot(world["session"])
    response = world["client"].open(url, method=method, **arguments)
    after = snapshot(world["session"])
    assert_handled(response, sent, language(call[5], call[6]))
    if response.status_code >= 400:
        assert after == before, url
    else:
        assert_nothing_odd_stored(before, after)


# --- What the fuzzing found ----------------------------------------------------------------------


def _refused(world: dict, method: str, url: str, **arguments) -> dict:
    """Send a request that must be refused; return its problem, having checked nothing changed."""
    before = snapshot(world["session"])
    response = world["client"].open(url, method=method, **arguments)
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert snapshot(world["session"]) == before
    return response.get_json()


TEXT_FIELDS = [
    ("devices", "gate"),
    ("devices", "name"),
    ("lists", "name_ar"),
    ("lists", "name_en"),
    ("/api/v1/checkins", "gate"),
    ("search", "q"),
    ("undo", "reason"),
    ("/api/v1/scans", "token"),  # any text (one that is no token is answered red), but text
]
NOT_TEXT = ["\ud800", "x\udfffy"]
CONTROLS = ["a\x00b", "\u202eHall", "\u2066x\u2069"]


@pytest.mark.parametrize(
    "kind,field,value",
    [
        (kind, field, value)
        for kind, field in TEXT_FIELDS
        for value in NOT_TEXT + (CONTROLS if field != "token" else [])
    ],
)
def test_text_with_nul_bidi_overrides_or_lone_surrogates_is_refused_by_name(
    world, kind, field, value
):
    # NUL and bidi overrides were stored (on PostgreSQL NUL was a 400 naming no field); lone
    # surrogates were a 500.
    method, url, arguments, _ = _request(world, case("organizer", kind, {field: value}))
    body = _refused(world, method, f"{url}?lang=en", **arguments)
    assert body["errors"] == [
        {
            "field": field,
            "code": "invalid_characters",
            "message": "Contains characters that are not allowed.",
        }
    ]


@pytest.mark.parametrize(
    "kind,changes,field,code",
    [
        ("/api/v1/checkins", {"gate": ""}, "gate", "required"),
        ("devices", {"name": "   "}, "name", "required"),
        ("/api/v1/scans", {"token": ""}, "token", "required"),
        ("undo", {"reason": " ab "}, "reason", "too_short"),
        ("/api/v1/scans", {"nonce": "no"}, "nonce", "invalid_nonce"),
    ],
)
def test_refusals_give_the_reason_in_the_request_language(world, kind, changes, field, code):
    # An empty value was "at most N characters"; a bad nonce's message was its code.
    method, url, arguments, _ = _request(world, case("organizer", kind, changes))
    body = _refused(world, method, f"{url}?lang=en", **arguments)
    [error] = body["errors"]
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"] == CATALOG.text(code, "en", min=3) != code
    assert not ARABIC.search(error["message"])


def test_an_event_id_out_of_range_is_not_found_when_adding_a_list(world):
    # GET and POST share the path: POST answered 405 "Allow: GET" past 2**31 - 1.
    method, url, arguments, _ = _request(world, case("organizer", "lists", {}))
    assert method == "POST"
    for event_id in ("2147483648", str(2**63), "0", "١"):
        out_of_range = url.replace(f"/events/{EVENT_ID}/", f"/events/{event_id}/")
        assert _refused(world, method, out_of_range, **arguments)["code"] == "not_found"


@pytest.mark.parametrize(
    "report",
    [
        "attendance?by=day",
        "attendance.csv?by=day",
        "no-shows?day=2023-02-12",
        "inside?list_id=1",
        "arrivals?day=2023-02-12",
        "audit?limit=5",
    ],
)
def test_report_query_parameters_it_does_not_know_are_refused_by_name(world, report):
    # They were dropped without a word: ?limt=5 listed 100 entries.
    url = f"/api/v1/events/{EVENT_ID}/{report}&limt=5"
    body = _refused(world, "GET", url, headers=world["headers"]["organizer"])
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("limt", "unknown_field")]


@pytest.mark.parametrize(
    "method,url,field",
    [
        ("GET", f"/api/v1/events/{EVENT_ID}/no-shows?agency=%00", "agency"),
        ("GET", f"/api/v1/events/{EVENT_ID}/audit?action=a%00b", "action"),
        ("POST", "/api/v1/devices/a%00b/revoke", None),
    ],
)
def test_nul_in_a_query_or_path_is_refused_before_the_database(world, method, url, field):
    # PostgreSQL refuses NUL in text: each was a 400 naming nothing (SQLite looked it up).
    body = _refused(world, method, url, headers=world["headers"]["organizer"])
    if field is None:
        assert body["code"] == "device_not_found"
    else:
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, "invalid_characters")]
