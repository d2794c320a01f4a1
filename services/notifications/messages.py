"""Notifications' message catalogue: API refusals, English and Arabic."""

MESSAGES: dict[str, tuple[str, str]] = {
    "delivery_not_found": ("No such delivery.", "لا توجد رسالة بهذا الرقم."),
}
