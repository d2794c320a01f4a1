"""Registration's message catalogue: rule refusals and page texts, English and Arabic."""

MESSAGES: dict[str, tuple[str, str]] = {
    # Refusals by the rules (machine-readable codes).
    "registration_not_open": ("Registration is not open yet.", "لم يُفتح التسجيل بعد."),
    "registration_closed": ("Registration is closed.", "أُغلق التسجيل."),
    "event_full": ("The event is full.", "اكتمل عدد المشاركين في المؤتمر."),
    "quota_full": (
        "This agency has no seats left.",
        "لم يتبقَّ مقاعد مخصصة لهذه الجهة.",
    ),
    "duplicate_person": (
        "This person is already registered for this event.",
        "هذا الشخص مسجل مسبقاً في هذا المؤتمر.",
    ),
    "duplicate_contact": (
        "An active registration for this event already uses this email address or mobile number."
        " If it is yours, your private link is in its confirmation message.",
        "يوجد تسجيل فعّال في هذا المؤتمر بهذا البريد الإلكتروني أو رقم الهاتف."
        " إن كان تسجيلك، فرابطك الخاص في رسالة تأكيده.",
    ),
    "unknown_agency": ("Choose an agency of this event.", "اختر جهة من جهات هذا المؤتمر."),
    "unknown_category": ("Unknown category.", "فئة غير معروفة."),
    "category_not_allowed": (
        "This category is assigned by the organizers.",
        "هذه الفئة يحددها المنظمون.",
    ),
    "email_required_for_channel": (
        "An email address is needed for email confirmations.",
        "يلزم بريد إلكتروني لإرسال التأكيد بالبريد.",
    ),
    "phone_required_for_channel": (
        "A mobile number is needed for SMS confirmations.",
        "يلزم رقم هاتف محمول لإرسال التأكيد برسالة نصية.",
    ),
    "name_without_letters": (
        "Write the name in letters: marks, dots or tatweel alone are not a name.",
        "اكتب الاسم بالحروف: الحركات أو النقاط أو التطويل وحدها ليست اسماً.",
    ),
    "name_required": (
        "Enter your full name in Arabic or in Latin letters.",
        "أدخل الاسم الكامل بالعربية أو بالأحرف اللاتينية.",
    ),
    "contact_required": (
        "Enter an email address or a mobile number.",
        "أدخل بريداً إلكترونياً أو رقم هاتف محمول.",
    ),
    "consent_required": (
        "Consent to the processing of your data is required to register.",
        "الموافقة على معالجة بياناتك شرط للتسجيل.",
    ),
    "phone_empty": ("Enter a mobile number.", "أدخل رقم الهاتف المحمول."),
    "phone_invalid": (
        "Not a valid phone number (e.g. 0770 123 4567 or +964 770 123 4567).",
        "رقم الهاتف غير صحيح (مثال: ‎0770 123 4567 أو ‎+964 770 123 4567).",
    ),
    "phone_not_mobile": (
        "Enter a mobile number that can receive SMS.",
        "أدخل رقم هاتف محمول يستقبل الرسائل النصية.",
    ),
    "phone_too_long": ("The phone number is too long.", "رقم الهاتف طويل جداً."),
    "email_empty": ("Enter an email address.", "أدخل البريد الإلكتروني."),
    "email_invalid": ("Not a valid email address.", "البريد الإلكتروني غير صحيح."),
    "email_too_long": ("The email address is too long.", "البريد الإلكتروني طويل جداً."),
    "invalid_slug": (
        "Use 3–64 lowercase letters, digits or dashes.",
        "استخدم من 3 إلى 64 حرفاً لاتينياً صغيراً أو رقماً أو شرطة.",
    ),
    "invalid_code": (
        "Use up to 32 capital letters, digits, dashes or underscores.",
        "استخدم حتى 32 حرفاً لاتينياً كبيراً أو رقماً أو شرطة.",
    ),
    "invalid_color": ("Use a colour like #1f6feb.", "استخدم لوناً مثل ‎#1f6feb."),
    "invalid_timezone": ("Unknown time zone.", "منطقة زمنية غير معروفة."),
    "closes_before_opens": (
        "Registration must close after it opens.",
        "يجب أن يكون إغلاق التسجيل بعد فتحه.",
    ),
    "slug_taken": (
        "This address is already used by another event.",
        "هذا العنوان مستخدم لمؤتمر آخر.",
    ),
    "agency_code_taken": ("This agency code is already used.", "رمز الجهة مستخدم مسبقاً."),
    "category_code_taken": ("This category code is already used.", "رمز الفئة مستخدم مسبقاً."),
    "quota_below_registered": (
        "The quota cannot be below the {registered} delegates already registered.",
        "لا يمكن أن تقل الحصة عن {registered} مشاركين مسجلين.",
    ),
    "event_not_found": ("No such event.", "المؤتمر غير موجود."),
    "agency_not_found": ("No such agency.", "الجهة غير موجودة."),
    "registration_not_found": ("No such registration.", "التسجيل غير موجود."),
    "link_invalid": (
        "This link is not valid or was revoked.",
        "هذا الرابط غير صالح أو أُلغي.",
    ),
    "delegation_locked": (
        "The event has started: ask the organizers to change this delegation.",
        "بدأ المؤتمر: اطلب من المنظمين تعديل هذا الوفد.",
    ),
    "event_over": (
        "The event is over: ask the organizers if its record must change.",
        "انتهى المؤتمر: راجع المنظمين إن لزم تعديل سجله.",
    ),
    "already_cancelled": ("This registration is already cancelled.", "هذا التسجيل ملغى مسبقاً."),
    "registration_cancelled": ("This registration was cancelled.", "أُلغي هذا التسجيل."),
    "idempotency_key_reused": (
        "This Idempotency-Key was used with a different request.",
        "استُخدم مفتاح Idempotency-Key هذا مع طلب مختلف.",
    ),
    "idempotency_key_invalid": (
        "Idempotency-Key must be 1–200 visible ASCII characters.",
        "يجب أن يكون Idempotency-Key من 1 إلى 200 حرف ASCII مرئي.",
    ),
    # Delegation lists (CSV/XLSX uploads).
    "import_invalid": (
        "The list has errors in {rows} rows; nothing was registered. Correct them and upload it "
        "again.",
        "في القائمة أخطاء في {rows} صفوف؛ لم يُسجَّل أحد. صحّحها ثم ارفع القائمة مجدداً.",
    ),
    "import_too_large": (
        "The file is larger than {max_mb} MB: split the list into several files.",
        "حجم الملف أكبر من {max_mb} ميغابايت: قسّم القائمة على عدة ملفات.",
    ),
    "import_too_many_rows": (
        "The list has more than {max} delegates: split it into several files.",
        "في القائمة أكثر من {max} مشارك: قسّمها على عدة ملفات.",
    ),
    "import_empty": ("The file is empty.", "الملف فارغ."),
    "import_no_rows": (
        "The list has a header row but no delegates.",
        "في القائمة صف عناوين ولكن لا يوجد مشاركون.",
    ),
    "import_not_spreadsheet": (
        "This file is not a CSV or Excel (.xlsx) list.",
        "هذا الملف ليس قائمة CSV أو Excel ‏(‎.xlsx).",
    ),
    "import_zip_not_xlsx": (
        "This is a ZIP archive, not an Excel (.xlsx) workbook.",
        "هذا أرشيف ZIP وليس ملف Excel ‏(‎.xlsx).",
    ),
    "import_xls_not_supported": (
        "Old Excel (.xls) and password-protected workbooks cannot be read: save the list as "
        ".xlsx without a password, or as CSV.",
        "لا يمكن قراءة ملفات Excel القديمة (‎.xls) ولا المحمية بكلمة مرور: احفظ القائمة بصيغة "
        "‎.xlsx دون كلمة مرور أو بصيغة CSV.",
    ),
    "import_unreadable": (
        "The file could not be read (it may be damaged): save it again as .xlsx or CSV.",
        "تعذّرت قراءة الملف (قد يكون تالفاً): احفظه مجدداً بصيغة ‎.xlsx أو CSV.",
    ),
    "import_missing_columns": (
        "The list lacks required columns: {columns}. Start from the template.",
        "تنقص القائمة أعمدة مطلوبة: {columns}. استخدم النموذج.",
    ),
    "import_column_missing": ("This column is required.", "هذا العمود مطلوب."),
    "import_duplicate_column": (
        "Two columns are both read as this field: keep one.",
        "يوجد عمودان يُقرآن كهذا الحقل نفسه: أبقِ واحداً.",
    ),
    "import_not_multipart": (
        "Send the list as multipart/form-data, in the field “file”.",
        "أرسل القائمة بصيغة multipart/form-data في الحقل «file».",
    ),
    "import_file_missing": (
        "Attach the CSV or Excel (.xlsx) list.",
        "أرفق القائمة بصيغة CSV أو Excel ‏(‎.xlsx).",
    ),
    "import_over_quota": (
        "The list has {delegates} delegates but the agency has {seats} seats left.",
        "في القائمة {delegates} مشاركاً ولم يتبقَّ للجهة سوى {seats} مقاعد.",
    ),
    "import_over_capacity": (
        "The list has {delegates} delegates but the event has {seats} seats left.",
        "في القائمة {delegates} مشاركاً ولم يتبقَّ في المؤتمر سوى {seats} مقاعد.",
    ),
    "import_duplicate_email": (
        "The same email address is on row {first}.",
        "البريد الإلكتروني نفسه موجود في الصف {first}.",
    ),
    "import_duplicate_phone": (
        "The same mobile number is on row {first}.",
        "رقم الهاتف نفسه موجود في الصف {first}.",
    ),
    "import_other_agency": (
        "This list is for {agency} only: send other agencies' delegates in their own lists.",
        "هذه القائمة للجهة {agency} فقط: أرسل مشاركي الجهات الأخرى في قوائمها.",
    ),
    "import_not_utf8": (
        "The list is UTF-8 text but row {row} holds bytes that are not: nothing was registered. "
        "Save the file again as UTF-8 or as CSV (Arabic Windows).",
        "القائمة نص بترميز UTF-8 لكن في الصف {row} بايتات ليست منه: لم يُسجَّل أحد. احفظ الملف "
        "مجدداً بترميز UTF-8 أو بصيغة CSV (العربية - Windows).",
    ),
    "import_row_not_utf8": (
        "This row is not valid UTF-8 (column {column}): save the file again as UTF-8 or as CSV "
        "(Arabic Windows).",
        "هذا الصف ليس نصاً صالحاً بترميز UTF-8 (العمود {column}): احفظ الملف مجدداً بترميز UTF-8 "
        "أو بصيغة CSV (العربية - Windows).",
    ),
    "import.consent": ("Consent (yes)", "الموافقة (نعم)"),
    # Pages.
    "home.title": ("Events open for registration", "المؤتمرات المفتوحة للتسجيل"),
    "home.none": ("No event is open for registration now.", "لا يوجد مؤتمر مفتوح للتسجيل حالياً."),
    "home.register": ("Register", "سجّل"),
    "form.title": ("Registration", "التسجيل"),
    "form.agency_fixed": ("Registering for", "التسجيل عن"),
    "form.registered_for_agency": (
        "{name} is registered. The badge, and the private link to view it, correct contact details"
        " or cancel, went to the delegate by {channel}. You may register the next delegate below.",
        "تمّ تسجيل {name}، وأُرسلت الشارة والرابط الخاص (لعرضها وتصحيح بيانات التواصل أو الإلغاء)"
        " إلى المشارك عبر {channel}. يمكنك تسجيل المشارك التالي أدناه.",
    ),
    "form.full_name_ar": ("Full name in Arabic", "الاسم الكامل بالعربية"),
    "form.full_name_en": ("Full name in Latin letters", "الاسم الكامل بالأحرف اللاتينية"),
    "form.name_hint": ("At least one of the two names.", "أحد الاسمين على الأقل."),
    "form.job_title": ("Job title", "المسمى الوظيفي"),
    "form.agency": ("Agency", "الجهة"),
    "form.choose": ("Choose…", "اختر…"),
    "form.email": ("Email", "البريد الإلكتروني"),
    "form.phone": ("Mobile phone", "الهاتف المحمول"),
    "form.gender": ("Gender", "الجنس"),
    "gender.female": ("Female", "أنثى"),
    "gender.male": ("Male", "ذكر"),
    "gender.unspecified": ("Prefer not to say", "أفضّل عدم الإجابة"),
    "form.language": ("Preferred language", "اللغة المفضلة"),
    "language.ar": ("العربية", "العربية"),
    "language.en": ("English", "English"),
    "form.channel": ("Send my confirmation by", "أرسل التأكيد عبر"),
    "channel.email": ("Email", "البريد الإلكتروني"),
    "channel.sms": ("SMS", "رسالة نصية"),
    "channel.both": ("Email and SMS", "البريد والرسالة النصية"),
    "form.consent": (
        "I agree that the organizers process my data to manage this event, and only for that.",
        "أوافق على أن يعالج المنظمون بياناتي لإدارة هذا المؤتمر فقط.",
    ),
    "form.submit": ("Register", "تسجيل"),
    "form.errors": ("Please correct the fields below.", "يرجى تصحيح الحقول أدناه."),
    "form.closed": (
        "Registration for this event is closed.",
        "أُغلق التسجيل في هذا المؤتمر.",
    ),
    "form.not_open": (
        "Registration for this event opens on {opens} ({timezone} time).",
        "يُفتح التسجيل في هذا المؤتمر في {opens} (بتوقيت {timezone}).",
    ),
    "form.home": ("See the events open for registration", "المؤتمرات المفتوحة للتسجيل"),
    "badge.title": ("Your badge", "شارتك"),
    "badge.registered": (
        "You are registered. Keep this page's address: it is your private link.",
        "تم تسجيلك. احتفظ بعنوان هذه الصفحة: إنه رابطك الخاص.",
    ),
    "badge.private_link": (
        "This page is your private link: with it you can view and download your badge, correct"
        " your contact details or cancel your registration. We also sent it to you by e-mail or"
        " SMS. Do not share it: whoever has it can do the same.",
        "هذه الصفحة رابطك الخاص: تستطيع بها عرض شارتك وتنزيلها وتصحيح بيانات التواصل أو إلغاء"
        " تسجيلك. أرسلناه إليك أيضاً بالبريد الإلكتروني أو برسالة نصية. لا تشاركه مع أحد: فمن"
        " يملكه يستطيع فعل ذلك أيضاً.",
    ),
    "badge.qr_alt": (
        "Your badge's QR code, to show at the entrance",
        "رمز الاستجابة السريعة لشارتك، يُعرض عند المدخل",
    ),
    "badge.download_png": ("Download QR (PNG)", "تنزيل الرمز (PNG)"),
    "badge.download_svg": ("Download QR (SVG)", "تنزيل الرمز (SVG)"),
    "badge.cancelled": (
        "This registration is cancelled; the badge is no longer valid.",
        "هذا التسجيل ملغى؛ الشارة لم تعد صالحة.",
    ),
    "badge.category": ("Category", "الفئة"),
    "self.edit": ("Correct my contact details", "تصحيح بيانات التواصل"),
    "self.save": ("Save", "حفظ"),
    "self.saved": ("Your details were saved.", "حُفظت بياناتك."),
    "self.link_moved_title": ("Your private link has changed", "تغيّر رابطك الخاص"),
    "self.link_moved": (
        "Your new contact details were saved. For your safety this link no longer works and your"
        " badge was renewed: we have sent you a new private link and badge at your current contact"
        " details, by e-mail or SMS as you chose. Please use that message from now on.",
        "حُفظت بيانات التواصل الجديدة. حفاظاً على أمانك لم يعد هذا الرابط يعمل وجُدِّدت شارتك:"
        " أرسلنا إليك رابطاً خاصاً جديداً وشارة جديدة على بيانات التواصل الحالية، بالبريد"
        " الإلكتروني أو الرسائل القصيرة حسب اختيارك. استخدم تلك الرسالة من الآن فصاعداً.",
    ),
    "self.cancel": ("Cancel my registration", "إلغاء تسجيلي"),
    "self.cancel_confirm": (
        "I understand that my seat will be released and my badge revoked.",
        "أدرك أن مقعدي سيُحرَّر وأن شارتي ستُلغى.",
    ),
    "self.cancelled": ("Your registration was cancelled.", "أُلغي تسجيلك."),
    "self.delegation_locked": (
        "The event has started: your registration can no longer be cancelled here. Ask the"
        " organizers if it must change.",
        "بدأ المؤتمر: لم يعد بالإمكان إلغاء تسجيلك من هنا. راجع المنظمين إن لزم تغييره.",
    ),
    "self.event_over": (
        "The event is over: your registration can no longer be cancelled. Ask the organizers if"
        " its record must change.",
        "انتهى المؤتمر: لم يعد بالإمكان إلغاء تسجيلك. راجع المنظمين إن لزم تعديل سجله.",
    ),
    # Badge printing.
    "badges_not_printable": (
        "These badges are not active badges of this event: {ids}.",
        "هذه الشارات ليست شارات فعّالة في هذا المؤتمر: {ids}.",
    ),
    "nothing_to_print": ("No active badge matches this selection.", "لا توجد شارة فعّالة مطابقة."),
    "one_selection": (
        "Choose exactly one of: all, agency, category, ids.",
        "اختر واحداً فقط من: all أو agency أو category أو ids.",
    ),
    "item_count": ("Give {min} to {max} items.", "أدخل من {min} إلى {max} عناصر."),
    "print_not_found": ("No such print job.", "مهمة الطباعة غير موجودة."),
    "print_not_ready": (
        "This print job has no file (yet): check its status.",
        "لا يوجد ملف لمهمة الطباعة هذه بعد: راجع حالتها.",
    ),
    "print_queue_unavailable": (
        "Badges could not be queued for printing; try again shortly.",
        "تعذّر إرسال الشارات إلى الطباعة؛ حاول مجدداً بعد قليل.",
    ),
    "too_many_to_print": (
        "More than {limit} badges: ask the organizers to print them.",
        "أكثر من {limit} شارة: اطلب من المنظمين طباعتها.",
    ),
    "print.title": ("Print badges", "طباعة الشارات"),
    "print.layout": ("Layout", "التخطيط"),
    "print.submit": ("Download the PDF", "تنزيل ملف PDF"),
    "layout.a6": ("A6 badges, one per page", "شارات A6، شارة في كل صفحة"),
    "layout.card": ("Cards 86×54 mm, one per page", "بطاقات 86×54 ملم، بطاقة في كل صفحة"),
    "layout.a4-a6": ("A4 sheets of 4 A6 badges", "أوراق A4 تضم 4 شارات A6"),
    "layout.a4-cards": ("A4 sheets of 10 cards", "أوراق A4 تضم 10 بطاقات"),
}
