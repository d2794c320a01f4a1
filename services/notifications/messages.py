"""Notifications' message catalogue: API refusals, English and Arabic."""

MESSAGES: dict[str, tuple[str, str]] = {
    "delivery_not_found": ("No such delivery.", "لا توجد رسالة بهذا الرقم."),
    "account_message_not_resendable": (
        "Password reset and invitation e-mails are not resent: ask for a new reset or invitation,"
        " which comes with a new link.",
        "لا يُعاد إرسال رسائل استعادة كلمة المرور والدعوات: اطلب استعادة أو دعوة جديدة، فتصل برابط"
        " جديد.",
    ),
    "no_address_on_channel": (
        "The delegate no longer has an address on this channel: nothing was sent.",
        "لم يعد لدى المندوب عنوان على هذه القناة: لم يُرسل شيء.",
    ),
    "sms_too_long": (
        "As an SMS this message takes {segments} parts; at most {max} are sent. Shorten {body}.",
        "هذه الرسالة تحتاج {segments} أجزاء في الرسائل القصيرة، والحد الأقصى {max}. اختصر {body}.",
    ),
}
