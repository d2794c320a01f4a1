"""Account pages: log in and out, password reset, own API tokens, accepting an invitation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request
from flask import session as form_state
from marshmallow import ValidationError

from services.registration.account_schemas import LoginSchema, NewPasswordSchema
from services.registration.accounts_api import authenticated
from services.registration.operations import accounts, invitations
from services.registration.scopes import ACCOUNT_HOLDERS, context, language
from services.registration.tokens import revoke_api_token
from shared.access import PUBLIC, SESSION_COOKIE, SESSION_MAX_AGE, allow, current_identity
from shared.limits import hit_reset_limit, limit_login
from shared.problems import DomainError, flatten_messages
from shared.web import PRIVATE, db_session, messages_by_field, translate

account_pages = Blueprint("account_pages", __name__, template_folder="templates")
# A path of this site: one slash, then printable ASCII without backslashes (browsers drop tabs
# and read a backslash as a slash, so "/\t/evil" or "/\\evil" would leave the site).
SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")


def form_errors(run) -> dict[str, list[str]]:
    """Run a form's action; return its errors by field (empty when it succeeded)."""
    try:
        run()
        return {}
    except ValidationError as error:
        db_session().rollback()
        items = flatten_messages(error.messages)
    except DomainError as error:
        db_session().rollback()
        items = error.fields
        if not items or any(item.row is not None for item in items):
            return {"_form": [translate(error.code, **error.params)], "_rows": _row_errors(items)}
    return messages_by_field(items)


def _row_errors(items) -> list[str]:
    """Errors of an uploaded list, each naming its row and column."""
    rows = []
    for item in items:
        where = translate("manage.row", row=item.row) if item.row is not None else ""
        rows.append(f"{where} · {item.field}: {translate(item.code, **item.params)}".lstrip(" ·"))
    return rows


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only, never another host."""
    if not target or not SAFE_NEXT.fullmatch(target):
        return "/manage"
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) else "/manage"


@account_pages.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_login()
def login():
    """The login form; a success sets the session cookie every service reads."""
    values, errors = {"email": request.form.get("email", "")}, {}
    if request.method == "POST":
        opened: dict = {}
        errors = form_errors(lambda: _open_session(opened))
        if not errors:
            return _logged_in(opened["cookie"], safe_next(request.args.get("next")))
    page = render_template("login.html", values=values, errors=errors)
    return page, 401 if errors else 200, PRIVATE


def _open_session(opened: dict) -> None:
    session = db_session()
    data = LoginSchema().load({k: request.form.get(k, "") for k in ("email", "password")})
    account = authenticated(data["email"], data["password"])
    opened["cookie"] = accounts.open_session(session, context(), account)
    session.commit()


def _logged_in(cookie: str, target: str):
    # A new form token too: one read before logging in (say, from a cookie planted by someone
    # else) must not pass the CSRF check of the signed-in session.
    form_state.clear()
    response = redirect(target, code=303)
    secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_AGE,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
    return response


@account_pages.route("/logout", methods=["POST"])
@allow(*ACCOUNT_HOLDERS)
def logout():
    """End the session everywhere (every service refuses its id from now on)."""
    session = db_session()
    revoke_api_token(session, current_identity().token_id)
    session.commit()
    form_state.clear()  # the next person at this browser gets a form token of their own
    response = redirect("/login", code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@account_pages.route("/password/forgot", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_login()
def forgot_password():
    """Ask for a reset link; the page says the same whether or not the email is known."""
    sent, errors = False, {}
    if request.method == "POST":
        hit_reset_limit(request.form.get("email", ""))
        errors = form_errors(_send_reset)
        sent = not errors
    page = render_template("forgot.html", sent=sent, errors=errors)
    return page, 422 if errors else 200, PRIVATE


def _send_reset() -> None:
    from services.registration.account_schemas import PasswordResetRequestSchema

    email = PasswordResetRequestSchema().load({"email": request.form.get("email", "")})["email"]
    accounts.request_password_reset(db_session(), context(), email, language())
    db_session().commit()


@account_pages.route("/password/reset/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_login()
def reset_password(token):
    """Choose a new password through an emailed link."""
    done, errors = False, {}
    if request.method == "POST":
        errors = form_errors(lambda: _reset(token))
        done = not errors
    page = render_template("reset.html", done=done, errors=errors)
    return page, 422 if errors else 200, PRIVATE


def _reset(token: str) -> None:
    data = NewPasswordSchema().load({"password": request.form.get("password", "")})
    accounts.reset_password(db_session(), context(), token, data["password"])
    db_session().commit()


@account_pages.route("/account", methods=["GET", "POST"])
@allow(*ACCOUNT_HOLDERS)
def account():
    """The caller's account: role, scope and API tokens (create, revoke)."""
    session = db_session()
    me = accounts.account_of(session, current_identity().subject)
    created: dict = {}
    errors = form_errors(lambda: _token_action(me, created)) if request.method == "POST" else {}
    tokens = accounts.account_tokens(session, me)
    page = render_template(
        "account.html", me=me, tokens=tokens, created=created.get("token"), errors=errors
    )
    return page, 422 if errors else 200, PRIVATE


def _token_action(me, holder: dict) -> None:
    from services.registration.account_schemas import TokenLabelSchema

    session = db_session()
    if request.form.get("revoke"):
        accounts.revoke_token(session, me, request.form["revoke"][:64])
    else:
        label = TokenLabelSchema().load({"label": request.form.get("label", "")})["label"]
        holder["token"] = accounts.issue_token(session, context(), me, label)[1]
    session.commit()


@account_pages.route("/invitations/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_login()
def invitation(token):
    """Accept an invitation to manage an agency's delegation."""
    session = db_session()
    pending = invitations.pending_invitation(session, context(), token)
    existing = accounts.account_by_email(session, pending.email) is not None
    errors = {}
    if request.method == "POST":
        errors = form_errors(lambda: _accept(token, existing))
        if not errors:
            return redirect("/login?next=/manage", code=303)
    page = render_template(
        "invitation.html", invitation=pending, existing=existing, errors=errors, **_names(pending)
    )
    return page, 422 if errors else 200, PRIVATE


def _accept(token: str, existing: bool) -> None:
    fields = {k: request.form.get(k) or None for k in ("name", "password")}
    data = {"name": None, "password": fields["password"]}  # an existing account's own password
    if not existing:
        data = NewPasswordSchema().load({k: v for k, v in fields.items() if v is not None})
    invitations.accept_invitation(db_session(), context(), token, data)
    db_session().commit()


def _names(invitation) -> dict:
    from services.registration.models import Agency, Event

    session = db_session()
    return {
        "event": session.get(Event, invitation.event_id),
        "agency": session.get(Agency, invitation.agency_id),
    }
