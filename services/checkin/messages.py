"""Check-in's message catalogue: refusals and door-page texts, English and Arabic."""

MESSAGES: dict[str, tuple[str, str]] = {
    "list_not_found": ("No such check-in list.", "قائمة التسجيل غير موجودة."),
    "checkin_not_found": ("No such check-in.", "تسجيل الحضور غير موجود."),
    "checkin_already_undone": ("This check-in was already undone.", "أُلغي هذا التسجيل مسبقاً."),
    "device_not_found": ("No such device.", "الجهاز غير موجود."),
    "event_not_found": ("No such event.", "المؤتمر غير موجود."),
    "badge_id_or_token": ("Send a token or a badge id.", "أرسل رمز الشارة أو رقمها."),
    "scanner.title": ("Door scanner", "ماسح الباب"),
    "scanner.coming": ("Enrol this device to start scanning.", "سجّل هذا الجهاز لبدء المسح."),
    "status.ok": ("Welcome", "أهلاً وسهلاً"),
    "status.already_checked_in": ("Already checked in", "سُجّل دخوله مسبقاً"),
    "status.revoked": ("Badge revoked (reissued)", "شارة ملغاة (أُعيد إصدارها)"),
    "status.cancelled": ("Registration cancelled", "التسجيل ملغى"),
    "status.not_on_this_list": ("Not admitted here", "غير مسموح بالدخول هنا"),
    "status.unknown_badge": ("Unknown badge", "شارة غير معروفة"),
    "status.invalid": ("Invalid badge", "شارة غير صالحة"),
    "status.not_inside": ("Not inside", "غير موجود في الداخل"),
}
