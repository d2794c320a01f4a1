"""Registration use cases: plain functions taking a database session (no Flask in here)."""

from services.registration.operations.context import Context, new_nonce
from services.registration.operations.delegates import (
    cancel_registration,
    check_change,
    event_rules,
    get_registration,
    register_delegate,
    reissue_badge,
    resolve_delegate_link,
    substitute_delegate,
    update_contact,
)
from services.registration.operations.events import (
    add_agency,
    add_category,
    check_registration_open,
    create_event,
    get_agency,
    get_event,
    open_events,
    registration_open,
    resolve_agency_link,
    revoke_agency_link,
    update_agency,
)

__all__ = [
    "Context",
    "add_agency",
    "add_category",
    "cancel_registration",
    "check_change",
    "check_registration_open",
    "create_event",
    "event_rules",
    "get_agency",
    "get_event",
    "get_registration",
    "new_nonce",
    "open_events",
    "register_delegate",
    "registration_open",
    "reissue_badge",
    "resolve_agency_link",
    "resolve_delegate_link",
    "revoke_agency_link",
    "substitute_delegate",
    "update_agency",
    "update_contact",
]
