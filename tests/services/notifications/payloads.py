"""Delegate events as the registration service emits them, for notification tests."""

from __future__ import annotations

import uuid

from shared.badge_tokens import BadgeKeyring

KEYRING = BadgeKeyring.generate(key_id=1)


def delegate_event(
    topic: str = "delegate.registered",
    *,
    badge_id: int = 7,
    version: int = 1,
    channel: str = "both",
    language: str = "ar",
    status: str = "active",
    days=("2023-02-12",),
    email="yusra@example.org",
    phone="+9647701234567",
    agency="IWED",
    category="DELEGATE",
    event_id: int = 1,
) -> dict:
    """A contract-valid delegate event; override what a test cares about."""
    return {
        "schema_version": 1,
        "topic": topic,
        "message_id": uuid.uuid4().hex,
        "occurred_at": "2026-11-28T09:00:00+00:00",
        "event": {
            "id": event_id,
            "slug": "wli-gbv-2023",
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي ودعم تعافي الناجيات",
            "name_en": "Conference to Combat Gender-Based Violence and Support the "
            "Recovery of Survivors",
            "venue_ar": "دار الضيافة، بغداد",
            "venue_en": "Government Guesthouse, Baghdad",
            "timezone": "Asia/Baghdad",
            "days": list(days),
        },
        "delegate": {
            "badge_id": badge_id,
            "generation": 1,
            "version": version,
            "status": status,
            "full_name_ar": "د. يسرى كريم محسن العلاق",
            "full_name_en": "Dr. Yusra Karim Mohsen Al-Alaq",
            "job_title": "Director General",
            "gender": "female",
            "language": language,
            "channel": channel,
            "email": email,
            "phone": phone,
            "agency": {
                "id": 1,
                "code": agency,
                "name_ar": "دائرة تمكين المرأة العراقية",
                "name_en": "Iraqi Women Empowerment Department",
            },
            "category": {
                "code": category,
                "name_ar": "مندوب",
                "name_en": "Delegate",
                "color": "#1f6feb",
            },
        },
        "badge_token": KEYRING.sign(event_id, badge_id, 1),
        "self_service_url": f"https://hudoor.example.org/r/{badge_id}~abcdEFGH1234.{'x' * 27}",
        "reason": None,
    }


RESET_LINK = "https://hudoor.example.org/password/reset/" + "R3s3t-Secret_" * 4
INVITE_LINK = "https://hudoor.example.org/invitations/" + "1nv1te-Secret_" * 4


def account_message(kind: str = "invitation", *, language: str = "ar", **overrides) -> dict:
    """A contract-valid `account.message` as registration posts it; override any field."""
    invitation = kind == "invitation"
    return {
        "schema_version": 1,
        "topic": "account.message",
        "message_id": uuid.uuid4().hex,
        "occurred_at": "2026-11-28T09:00:00+00:00",
        "kind": kind,
        "email": "focal@example.org",
        "name": "هناء عبد الله" if language == "ar" else "Hana Abdullah",
        "language": language,
        "link": INVITE_LINK if invitation else RESET_LINK,
        "expires_at": "2099-02-05T11:30:00+00:00",
        "event_id": 1 if invitation else None,
        "event": {
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي",
            "name_en": "Conference to Combat Gender-Based Violence",
        }
        if invitation
        else None,
        "agency": {"name_ar": "وزارة التربية", "name_en": "Ministry of Education"}
        if invitation
        else None,
    } | overrides
