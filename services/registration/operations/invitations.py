"""Focal-point invitations: an organizer invites, the invitee accepts through a signed link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.registration import passwords
from services.registration.account_models import Account, AccountScope, Invitation
from services.registration.models import Agency, Event
from services.registration.operations.accounts import account_by_email, create_account
from services.registration.operations.announcements import send_account_email
from services.registration.operations.context import Context, new_nonce
from shared.identity import InvalidCredential, sign_link, verify_link
from shared.problems import DomainError

INVITATION_VALID_FOR = timedelta(days=14)


def invite_focal_point(
    session: Session, ctx: Context, event: Event, agency: Agency, data: dict, invited_by: str
) -> Invitation:
    """Invite someone to manage an agency's delegation; a new invitation replaces a pending one."""
    now = ctx.clock()
    _withdraw_pending(session, agency.id, data["email"], now)
    invitation = Invitation(
        event_id=event.id,
        agency_id=agency.id,
        email=data["email"],
        name=data["name"],
        language=data.get("language", "ar"),
        nonce=new_nonce(),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + INVITATION_VALID_FOR,
    )
    session.add(invitation)
    session.flush()
    _email_invitation(session, ctx, invitation, event, agency)
    return invitation


def _withdraw_pending(session: Session, agency_id: int, email: str, now) -> None:
    session.execute(
        update(Invitation)
        .where(
            Invitation.agency_id == agency_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def _email_invitation(session, ctx: Context, invitation: Invitation, event, agency) -> None:
    send_account_email(
        session,
        ctx.clock(),
        kind="invitation",
        email=invitation.email,
        name=invitation.name,
        language=invitation.language,
        link=invitation_link(ctx, invitation),
        expires_at=invitation.expires_at,
        event_id=event.id,
        event={"name_ar": event.name_ar, "name_en": event.name_en},
        agency={"name_ar": agency.name_ar, "name_en": agency.name_en},
    )


def invitation_link(ctx: Context, invitation: Invitation) -> str:
    """Return the invitation's private URL."""
    token = sign_link(ctx.secret_key, "invite", invitation.id, invitation.nonce)
    return f"{ctx.public_base_url}/invitations/{token}"


def pending_invitation(session: Session, ctx: Context, token: str) -> Invitation:
    """Return the unexpired, unanswered invitation of a link, locked, or refuse."""
    try:
        invitation_id, nonce = verify_link(ctx.secret_key, "invite", token)
        invitation = session.get(Invitation, int(invitation_id), with_for_update=True)
    except (InvalidCredential, ValueError):
        raise DomainError("link_invalid", kind="not_found") from None
    if invitation is None or invitation.nonce != nonce or invitation.revoked_at is not None:
        raise DomainError("link_invalid", kind="not_found")
    if invitation.accepted_at is not None:
        raise DomainError("invitation_used", kind="conflict")
    if invitation.expires_at < ctx.clock():
        raise DomainError("invitation_expired", kind="conflict")
    return invitation


def accept_invitation(session: Session, ctx: Context, token: str, data: dict) -> Account:
    """Accept: a new focal-point account, or one more agency for an existing focal point."""
    invitation = pending_invitation(session, ctx, token)
    account = account_by_email(session, invitation.email)
    if account is None:
        fields = {"email": invitation.email, "role": "focal_point", "language": invitation.language}
        fields |= {"name": data.get("name") or invitation.name, "password": data["password"]}
        account = create_account(session, ctx, fields)
    elif account.role != "focal_point":
        raise DomainError("account_role_conflict", kind="conflict")
    elif not passwords.verify_password(account.password_hash, data.get("password") or ""):
        # The link proves the mailbox; the password proves the account's owner accepts.
        raise DomainError("invalid_credentials", kind="unauthorized")
    _add_scope(account, invitation.event_id, invitation.agency_id)
    invitation.accepted_at, invitation.account_id = ctx.clock(), account.id
    session.flush()
    return account


def _add_scope(account: Account, event_id: int, agency_id: int) -> None:
    if not any(s.event_id == event_id and s.agency_id == agency_id for s in account.scopes):
        account.scopes.append(AccountScope(event_id=event_id, agency_id=agency_id))


def withdraw_invitation(session: Session, ctx: Context, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation: its link stops working (an accepted one stays)."""
    if invitation.accepted_at is not None:
        raise DomainError("invitation_used", kind="conflict")
    if invitation.revoked_at is None:
        invitation.revoked_at = ctx.clock()
    session.flush()
    return invitation


def invitations_of(session: Session, event: Event) -> list[Invitation]:
    """List an event's invitations, newest first."""
    query = select(Invitation).where(Invitation.event_id == event.id)
    return list(session.scalars(query.order_by(Invitation.created_at.desc(), Invitation.id.desc())))
