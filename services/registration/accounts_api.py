"""JSON API of accounts: tokens, password resets, accounts (admin) and focal-point invitations."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from services.registration import operations
from services.registration.account_models import Account, Invitation
from services.registration.account_schemas import (
    AccountSchema,
    ApiTokenSchema,
    InvitationSchema,
    NewPasswordSchema,
    PasswordResetRequestSchema,
    ScopesSchema,
    TokenLabelSchema,
    TokenRequestSchema,
    scope_refusal,
)
from services.registration.operations import accounts, invitations
from services.registration.scopes import ACCOUNT_HOLDERS, MANAGE, context, language
from shared.access import PUBLIC, allow, current_identity, require_event_scope
from shared.limits import (
    check_failed_logins,
    count_failed_login,
    hit_reset_limit,
    limit_login,
)
from shared.problems import DomainError
from shared.web import db_session

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts API")


def me() -> Account:
    """Return the account of the caller's session or token."""
    return accounts.account_of(db_session(), current_identity().subject)


@blp.route("/auth/tokens", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, ApiTokenSchema)
@allow(PUBLIC)
@limit_login()
def create_token_with_password(data):
    """Exchange an account's email and password for a bearer API token."""
    account = authenticated(data["email"], data["password"])
    return _new_token(db_session(), account, data["label"])


def authenticated(email: str, password: str) -> Account:
    """The account these credentials open; a wrong password counts against this address."""
    check_failed_logins(email)
    try:
        return accounts.authenticate(db_session(), email, password)
    except DomainError:
        count_failed_login(email)
        raise


def _new_token(session, account: Account, label: str) -> dict:
    record, token = accounts.issue_token(session, context(), account, label)
    session.commit()
    fields = ("id", "label", "role", "created_at")
    return {name: getattr(record, name) for name in fields} | {"token": token}


@blp.route("/account")
@blp.response(200, AccountSchema)
@allow(*ACCOUNT_HOLDERS)
def read_own_account():
    """Read the caller's own account."""
    return me()


@blp.route("/account/tokens")
@blp.response(200, ApiTokenSchema(many=True))
@allow(*ACCOUNT_HOLDERS)
def list_own_tokens():
    """List the caller's live API tokens (never their secrets)."""
    return accounts.account_tokens(db_session(), me())


@blp.route("/account/tokens", methods=["POST"])
@blp.arguments(TokenLabelSchema)
@blp.response(201, ApiTokenSchema)
@allow(*ACCOUNT_HOLDERS)
def create_own_token(data):
    """Create an API token for the caller's account; its secret is shown once."""
    return _new_token(db_session(), me(), data["label"])


@blp.route("/account/tokens/<token_id>/revoke", methods=["POST"])
@blp.response(204)
@allow(*ACCOUNT_HOLDERS)
def revoke_own_token(token_id):
    """Revoke one of the caller's API tokens; every service refuses it from then on."""
    session = db_session()
    accounts.revoke_token(session, me(), token_id[:64])
    session.commit()


@blp.route("/password-resets", methods=["POST"])
@blp.arguments(PasswordResetRequestSchema)
@blp.response(202)
@allow(PUBLIC)
@limit_login()
def request_password_reset(data):
    """Email a reset link if such an account exists; the answer is the same either way."""
    hit_reset_limit(data["email"])
    session = db_session()
    accounts.request_password_reset(session, context(), data["email"], language())
    session.commit()


@blp.route("/password-resets/<token>", methods=["POST"])
@blp.arguments(NewPasswordSchema)
@blp.response(204)
@allow(PUBLIC)
@limit_login()
def reset_password(data, token):
    """Set a new password through a reset link; every session and token of the account ends."""
    session = db_session()
    accounts.reset_password(session, context(), token, data["password"])
    session.commit()


@blp.route("/accounts")
@blp.response(200, AccountSchema(many=True))
@allow("admin")
def list_accounts():
    """List every account."""
    return db_session().scalars(select(Account).order_by(Account.id)).all()


@blp.route("/accounts", methods=["POST"])
@blp.arguments(AccountSchema)
@blp.response(201, AccountSchema)
@allow("admin")
def create_account(data):
    """Create an organizer, viewer, focal-point or admin account with its scopes."""
    session = db_session()
    scopes = [_scope(session, scope) for scope in data.pop("scopes")]
    account = accounts.create_account(session, context(), data, scopes)
    session.commit()
    return account


def _scope(session, scope: dict) -> tuple[int, int | None]:
    event = operations.get_event(session, scope["event"])
    agency = operations.get_agency(session, event, scope["agency"]) if scope["agency"] else None
    return event.id, agency.id if agency else None


@blp.route("/accounts/<id:account_id>/disable", methods=["POST"])
@blp.response(200, AccountSchema)
@allow("admin")
def disable_account(account_id):
    """Take an account's access away; its sessions and tokens stop working in every service."""
    session = db_session()
    account = accounts.disable_account(session, context(), _account(account_id))
    session.commit()
    return account


@blp.route("/accounts/<id:account_id>/scopes", methods=["PUT"])
@blp.arguments(ScopesSchema)
@blp.response(200, AccountSchema)
@allow("admin")
def replace_scopes(data, account_id):
    """Change the events (and agencies) an account acts on; it must log in again."""
    session = db_session()
    account = _account(account_id)
    scopes = [_scope(session, scope) for scope in data["scopes"]]
    _check_scopes(account.role, data["scopes"])
    accounts.replace_scopes(session, account, scopes)
    session.commit()
    return account


def _account(account_id: int) -> Account:
    account = db_session().get(Account, account_id)
    if account is None:
        raise DomainError("account_not_found", kind="not_found")
    return account


def _check_scopes(role: str, scopes: list[dict]) -> None:
    """The same rules as at creation, for the account's role."""
    refusal = scope_refusal(role, scopes)
    if refusal:
        raise DomainError(refusal, field="scopes")


@blp.route("/events/<ref>/agencies/<code>/invitations", methods=["POST"])
@blp.arguments(InvitationSchema)
@blp.response(201, InvitationSchema)
@allow(*MANAGE)
def invite_focal_point(data, ref, code):
    """Invite a focal point for an agency by email (a pending invitation is replaced)."""
    session = db_session()
    event = operations.get_event(session, ref)
    require_event_scope(current_identity(), event.id)
    agency = operations.get_agency(session, event, code)
    by = current_identity().subject
    invitation = invitations.invite_focal_point(session, context(), event, agency, data, by)
    session.commit()
    return invitation


@blp.route("/events/<ref>/invitations")
@blp.response(200, InvitationSchema(many=True))
@allow(*MANAGE)
def list_invitations(ref):
    """List an event's focal-point invitations and their state."""
    event = operations.get_event(db_session(), ref)
    require_event_scope(current_identity(), event.id)
    return invitations.invitations_of(db_session(), event)


@blp.route("/events/<ref>/invitations/<id:invitation_id>/withdraw", methods=["POST"])
@blp.response(200, InvitationSchema)
@allow(*MANAGE)
def withdraw_invitation(ref, invitation_id):
    """Withdraw a pending invitation (say, sent to a mistyped address)."""
    session = db_session()
    event = operations.get_event(session, ref)
    require_event_scope(current_identity(), event.id)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.event_id != event.id:
        raise DomainError("invitation_not_found", kind="not_found")
    invitations.withdraw_invitation(session, context(), invitation)
    session.commit()
    return invitation


@blp.route("/invitations/<token>/accept", methods=["POST"])
@blp.arguments(NewPasswordSchema)
@blp.response(201, AccountSchema)
@allow(PUBLIC)
@limit_login()
def accept_invitation(data, token):
    """Accept an invitation: create the focal point's account (or add the agency to it)."""
    session = db_session()
    account = invitations.accept_invitation(session, context(), token, data)
    session.commit()
    return account
