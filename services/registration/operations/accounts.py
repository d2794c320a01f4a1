"""Account use cases: create, log in and out, API tokens, password reset."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.registration import passwords
from services.registration.account_models import Account, AccountScope
from services.registration.models import ApiToken
from services.registration.operations.announcements import (
    announce_reset_request,
    is_posted,
    send_account_email,
)
from services.registration.operations.context import Context
from services.registration.tokens import (
    API,
    SESSION,
    create_api_token,
    revoke_account_credentials,
    revoke_api_token,
)
from shared.identity import (
    SESSION_MAX_AGE,
    InvalidCredential,
    is_token_id,
    sign_link,
    verify_api_token,
    verify_link,
)
from shared.problems import DomainError

RESET_VALID_FOR = timedelta(hours=2)
# Names the reset e-mail of a reset request (uuid5 of the request's message id).
_RESET_EMAILS = uuid.UUID("5f0c6a43-5a0e-4c57-9d4b-2f3e1b0c7a11")


def create_account(session: Session, ctx: Context, data: dict, scopes=()) -> Account:
    """Create an account with a checked password and its (event, agency) scopes."""
    passwords.check_strength(data["password"], data["email"])
    if account_by_email(session, data["email"]) is not None:
        raise DomainError("account_exists", field="email", kind="conflict")
    account = Account(
        email=data["email"],
        name=data["name"],
        role=data["role"],
        language=data.get("language", "ar"),
        password_hash=passwords.hash_password(data["password"]),
        created_at=ctx.clock(),
        scopes=[AccountScope(event_id=e, agency_id=a) for e, a in dict.fromkeys(scopes)],
    )
    session.add(account)
    session.flush()
    return account


def disable_account(session: Session, ctx: Context, account: Account) -> Account:
    """Take an account's access away: every session and token ends in every service."""
    if account.disabled_at is None:
        account.disabled_at = ctx.clock()
    revoke_account_credentials(session, account.id)
    session.flush()
    return account


def replace_scopes(session: Session, account: Account, scopes) -> Account:
    """Set the events (and agencies) an account acts on; its credentials, which carry the old
    scope, end so the next login carries the new one.

    Scopes are a set: one asked twice is one, and one the account has stays its row (a new row
    for it was inserted before the old one was deleted, and broke the unique constraint)."""
    wanted = dict.fromkeys(scopes)
    kept = [scope for scope in account.scopes if (scope.event_id, scope.agency_id) in wanted]
    have = {(scope.event_id, scope.agency_id) for scope in kept}
    added = [AccountScope(event_id=e, agency_id=a) for e, a in wanted if (e, a) not in have]
    account.scopes = kept + added
    revoke_account_credentials(session, account.id)
    session.flush()
    return account


def account_by_email(session: Session, email: str) -> Account | None:
    """Find an account by its (normalised) email."""
    return session.scalar(select(Account).where(Account.email == email))


def authenticate(session: Session, email: str, password: str) -> Account:
    """Return the enabled account these credentials open, or refuse without saying why."""
    account = account_by_email(session, email)
    matches = passwords.verify_password(account and account.password_hash, password)
    if account is None or not matches or account.disabled_at is not None:
        raise DomainError("invalid_credentials", kind="unauthorized")
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account


def open_session(session: Session, ctx: Context, account: Account) -> str:
    """Start a browser session for the account and return its signed cookie value."""
    expired = ctx.clock() - timedelta(seconds=SESSION_MAX_AGE)
    session.execute(
        delete(ApiToken).where(
            ApiToken.account_id == account.id,
            ApiToken.kind == SESSION,
            ApiToken.created_at < expired,
        )
    )
    return _credential(session, ctx, account, label="browser session", kind=SESSION)


def issue_token(
    session: Session, ctx: Context, account: Account, label: str
) -> tuple[ApiToken, str]:
    """Issue a bearer API token carrying the account's role and scope; return record and secret."""
    token = _credential(session, ctx, account, label=label, kind=API)
    token_id = verify_api_token(ctx.secret_key, token, max_age=60).token_id
    return session.get(ApiToken, token_id), token


def _credential(session: Session, ctx: Context, account: Account, *, label: str, kind: str):
    return create_api_token(
        session,
        ctx.secret_key,
        label=label,
        role=account.role,
        event_ids=account.event_ids,
        agency_ids=account.agency_ids,
        account_id=account.id,
        kind=kind,
    )


def account_tokens(session: Session, account: Account) -> list[ApiToken]:
    """List an account's live API tokens, newest first."""
    query = select(ApiToken).where(
        ApiToken.account_id == account.id, ApiToken.kind == API, ApiToken.revoked_at.is_(None)
    )
    return list(session.scalars(query.order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, account: Account, token_id: str) -> None:
    """Revoke one of the account's own tokens (another's is not found)."""
    record = session.get(ApiToken, token_id) if is_token_id(token_id) else None
    if record is None or record.account_id != account.id or record.kind != API:
        raise DomainError("token_not_found", kind="not_found")
    revoke_api_token(session, token_id)


def account_of(session: Session, subject: str) -> Account:
    """Load the account behind an identity's subject (`account:<id>`)."""
    kind, _, number = subject.partition(":")
    if kind != "account" or not number.isdigit():
        raise DomainError("account_required", kind="forbidden")  # a service token, say
    account = session.get(Account, int(number))
    if account is None or account.disabled_at is not None:
        raise DomainError("unauthorized", kind="unauthorized")
    return account


def request_password_reset(session: Session, ctx: Context, email: str, language: str) -> None:
    """Ask for a reset link to be emailed; the same work whether or not the account exists."""
    # Looking the account up here made an answer for a known address measurably slower.
    announce_reset_request(session, ctx.clock(), email, language)


def send_password_reset(
    session: Session, ctx: Context, email: str, language: str, *, request_id: str
) -> None:
    """Email a reset link if the account exists and is enabled (in the worker), once per request."""
    account = account_by_email(session, email)
    # The e-mail's id comes from the request's: a redelivered request finds it written already.
    message_id = uuid.uuid5(_RESET_EMAILS, request_id).hex
    if account is None or account.disabled_at is not None or is_posted(session, message_id):
        return
    link, expires = _reset_link(ctx, account)
    fields = {"email": account.email, "name": account.name, "language": language}
    send_account_email(
        session,
        ctx.clock(),
        message_id=message_id,
        kind="password_reset",
        link=link,
        expires_at=expires,
        **fields,
    )


def _reset_link(ctx: Context, account: Account) -> tuple[str, datetime]:
    """A signed reset link for the account, valid until it is used or RESET_VALID_FOR ends."""
    expires = ctx.clock() + RESET_VALID_FOR
    fingerprint = passwords.fingerprint(account.password_hash)
    token = sign_link(ctx.secret_key, "reset", account.id, fingerprint, int(expires.timestamp()))
    return f"{ctx.public_base_url}/password/reset/{token}", expires


def reset_password(session: Session, ctx: Context, token: str, password: str) -> Account:
    """Set a new password through a valid reset link; every session and token ends."""
    account = _reset_account(session, ctx, token)
    passwords.check_strength(password, account.email)
    account.password_hash = passwords.hash_password(password)
    revoke_account_credentials(session, account.id)
    session.flush()
    return account


def _reset_account(session: Session, ctx: Context, token: str) -> Account:
    """Return the account of an unexpired, unused reset link."""
    try:
        account_id, print_, expires = verify_link(ctx.secret_key, "reset", token)
        account = session.get(Account, int(account_id), with_for_update=True)
        expired = int(expires) < ctx.clock().timestamp()
    except (InvalidCredential, ValueError):
        raise DomainError("link_invalid", kind="not_found") from None
    if account is None or expired or passwords.fingerprint(account.password_hash) != print_:
        raise DomainError("link_invalid", kind="not_found")
    if account.disabled_at is not None:
        raise DomainError("link_invalid", kind="not_found")
    return account
