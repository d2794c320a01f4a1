"""Check-in use cases: plain functions taking a database session (no Flask in here)."""

from services.checkin.operations.desk import (
    add_list,
    create_device,
    device_activity,
    device_gate,
    devices_of,
    lists_of,
    live_counts,
    revoke_device,
    search,
    token_revoked,
)
from services.checkin.operations.roster import apply_roster_event, rebuild_roster, roster_of
from services.checkin.operations.scanning import (
    ScanRequest,
    badge_view,
    get_list,
    manual_checkin,
    scan,
    undo_checkin,
)
from services.checkin.operations.setup import apply_event_snapshot, rebuild_from_snapshot

__all__ = [
    "ScanRequest",
    "add_list",
    "apply_event_snapshot",
    "apply_roster_event",
    "badge_view",
    "create_device",
    "device_activity",
    "device_gate",
    "devices_of",
    "get_list",
    "lists_of",
    "live_counts",
    "manual_checkin",
    "rebuild_from_snapshot",
    "rebuild_roster",
    "revoke_device",
    "roster_of",
    "scan",
    "search",
    "token_revoked",
    "undo_checkin",
]
