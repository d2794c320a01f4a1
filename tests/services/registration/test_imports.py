"""Delegation lists: reading CSV and XLSX uploads, and the all-or-nothing import use case."""

from __future__ import annotations

import contextlib
import io
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select

from services.registration import imports
from services.registration.imports import read_delegation
from services.registration.models import Agency, OutboxMessage, Registration
from services.registration.operations import get_agency, register_delegate
from services.registration.operations.imports import import_delegation
from services.registration.schemas import RegistrationSchema
from shared.problems import DomainError
from tests.services.registration.conftest import delegate, row_count

HEADER = ["full_name_ar", "full_name_en", "email", "phone", "gender", "consent"]
ARABIC_HEADER = ["الاسم الكامل بالعربية", "البريد الإلكتروني", "الهاتف", "الجنس", "الموافقة"]


def person(n: int, **changes) -> list[str]:
    """Delegate number `n` as a row under HEADER (own email and phone)."""
    values = {
        "full_name_ar": f"مشاركة {n}",
        "full_name_en": f"Delegate {n}",
        "email": f"delegate{n}@example.org",
        "phone": f"0770 {n:03d} {n:04d}",
        "gender": "female",
        "consent": "yes",
    } | changes
    return [values[name] for name in HEADER]


def csv_bytes(rows, *, delimiter=",", encoding="utf-8", header=HEADER) -> bytes:
    """A CSV file of a header and rows, as an office would save it."""
    lines = [delimiter.join(f'"{cell}"' for cell in row) for row in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    """An Excel workbook made with openpyxl: a header and rows of typed cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bytes(**files: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def refusal(upload: bytes) -> DomainError:
    with pytest.raises(DomainError) as caught:
        read_delegation(upload)
    return caught.value


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1256", "utf-16"])
def test_csv_encodings_are_detected_and_arabic_names_survive(encoding):
    rows = [person(1, full_name_ar="إسراء عبد الرحمن"), person(2, full_name_ar="يُسرى الخفاجي")]
    sheet = read_delegation(csv_bytes(rows, encoding=encoding))
    assert [r.values["full_name_ar"] for r in sheet.rows] == ["إسراء عبد الرحمن", "يُسرى الخفاجي"]
    assert [r.number for r in sheet.rows] == [2, 3]
    assert sheet.rows[0].values["email"] == "delegate1@example.org"


def test_utf8_is_tried_strictly_before_windows_1256():
    # These bytes decode as cp1256 too (as mojibake): only a strict UTF-8 attempt reads them right.
    text = csv_bytes([person(1, full_name_ar="زينب")])
    assert read_delegation(text).rows[0].values["full_name_ar"] == "زينب"
    assert text.decode("cp1256") != text.decode("utf-8")


def with_stray_byte(rows, header=HEADER, *, typed="Café", **kw) -> bytes:
    """A UTF-8 list in which one "é" was typed as a single Latin-1 byte."""
    return csv_bytes(rows, header=header, **kw).replace(typed.encode(), typed.encode("latin-1"))


@pytest.mark.parametrize(
    "header,rows,where",
    [
        (
            [*HEADER, "job_title"],
            [[*person(1), "مديرة"], [*person(2), "Café"]],
            (3, "job_title", "G"),
        ),
        ([*HEADER, "Notes"], [[*person(1), "مديرة"], [*person(2), "Café"]], (3, "G", "G")),
        ([*HEADER, "Café"], [[*person(1), "مديرة"]], (1, "G", "G")),
        (HEADER, [person(1), person(2, full_name_en="Café")], (3, "full_name_en", "B")),
    ],
)
def test_a_utf8_list_with_a_stray_byte_is_refused_naming_its_row_and_column(header, rows, where):
    error = refusal(with_stray_byte(rows, header))
    assert (error.code, error.status, error.params) == ("import_not_utf8", 422, {"row": where[0]})
    [field] = error.fields
    assert (field.row, field.field, field.code, field.params) == (
        where[0],
        where[1],
        "import_row_not_utf8",
        {"column": where[2]},
    )


def test_a_stray_byte_is_found_past_quoted_cells_spanning_lines_and_blank_rows():
    text = 'full_name_ar;email;gender;consent\r\n"علي\r\nحسن";a@example.org;male;yes\r\n\r\n'
    text += "زينب;z@example.org;female;Café\r\n"
    error = refusal(text.encode().replace("Café".encode(), b"Caf\xe9"))
    assert (error.fields[0].row, error.fields[0].field) == (4, "consent")


def test_a_utf8_list_with_bom_and_a_stray_byte_is_refused_though_otherwise_ascii():
    upload = with_stray_byte([person(1, full_name_ar="Café")], encoding="utf-8-sig")
    assert refusal(upload).fields[0].row == 2


def test_windows_1256_with_chance_utf8_pairs_is_still_read_as_windows_1256():
    # "د،" and "سپ" are valid UTF-8 pairs in cp1256 bytes; the file's other bytes are not.
    names = ["محمد، علي", "سپيدة الخفاجي", "أسماء"]
    rows = [person(n, full_name_ar=name) for n, name in enumerate(names, start=1)]
    sheet = read_delegation(csv_bytes(rows, encoding="cp1256"))
    assert [r.values["full_name_ar"] for r in sheet.rows] == names


def test_a_latin1_name_in_an_ascii_list_is_read_as_windows_1256_which_holds_it():
    upload = csv_bytes([person(1, full_name_ar="", full_name_en="Hélène")], encoding="latin-1")
    assert read_delegation(upload).rows[0].values["full_name_en"] == "Hélène"


def test_windows_1256_defines_every_byte_so_nothing_is_ever_replaced():
    assert "\ufffd" not in bytes(range(256)).decode("cp1256")


def test_column_letters_are_those_a_spreadsheet_shows():
    assert [imports.column_letters(i) for i in (0, 6, 25, 26, 51, 52, 701, 702)] == (
        ["A", "G", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed_from_the_header(delimiter):
    sheet = read_delegation(csv_bytes([person(1), person(2)], delimiter=delimiter))
    assert [r.values["full_name_en"] for r in sheet.rows] == ["Delegate 1", "Delegate 2"]


def test_row_numbers_are_those_excel_shows():
    text = 'full_name_en,phone,gender,consent\r\n"Ali\r\nHassan",07701234567,male,yes\r\n\r\n'
    text += ",,,\r\nSara,07701234568,female,yes\r\n"
    assert [r.number for r in read_delegation(text.encode()).rows] == [2, 5]


def test_xlsx_cells_of_any_type_become_text():
    rows = [
        ["علي حسن", "Ali Hassan", "ali@example.org", 7701234567, "ذكر", True],
        [None, None, None, None, None, None],
        ["زينب", None, None, 9647701234568.0, "أنثى", "نعم"],
    ]
    sheet = read_delegation(xlsx_bytes(rows))
    assert [r.number for r in sheet.rows] == [2, 4]
    first, second = (r.values for r in sheet.rows)
    assert (first["phone"], first["gender"], first["consent"]) == ("7701234567", "male", "true")
    assert (second["phone"], second["gender"], second["consent"]) == (
        "9647701234568",
        "female",
        "true",
    )
    assert "full_name_en" not in second and second["channel"] == "sms"


def test_excel_style_phone_numbers_pass_the_registration_schema():
    sheet = read_delegation(
        xlsx_bytes([person(1, phone=7701234567), person(2, phone=9647701234568)])
    )
    phones = [RegistrationSchema().load(row.values)["phone"] for row in sheet.rows]
    assert phones == ["+9647701234567", "+9647701234568"]


def test_headers_by_api_name_arabic_or_english_label_synonym_or_template():
    assert imports.column_field("full_name_ar") == "full_name_ar"
    assert imports.column_field(" Full Name in ARABIC ") == "full_name_ar"
    assert imports.column_field("الاسم الكامل بالعربية") == "full_name_ar"
    assert imports.column_field("الاسم الكامل بالعربيه") == "full_name_ar"  # ه for ة, as typed
    assert imports.column_field("E-mail") == "email"
    assert imports.column_field("رقم الموبايل") == "phone"
    assert imports.column_field("الهاتف المحمول / Mobile phone") == "phone"
    assert imports.column_field("Notes") is None
    template = read_delegation(imports.template_csv() + "علي,,,,07701234567,ذكر,,,نعم\r\n".encode())
    assert template.rows[0].values == {
        "full_name_ar": "علي",
        "phone": "07701234567",
        "gender": "male",
        "consent": "true",
        "channel": "sms",
    }


def test_friendly_choices_are_translated_and_unknown_ones_left_to_the_schema():
    header = ["الاسم", "البريد", "الجنس", "اللغة", "التأكيد", "الموافقة"]
    row = ["علي", "ali@example.org", "ذكر", "English", "البريد والرسالة النصية", "✓"]
    values = read_delegation(csv_bytes([row], header=header)).rows[0].values
    assert values | {} == {
        "full_name_ar": "علي",
        "email": "ali@example.org",
        "gender": "male",
        "language": "en",
        "channel": "both",
        "consent": "true",
    }
    odd = read_delegation(csv_bytes([person(1, gender="?", consent="ربما")])).rows[0].values
    assert (odd["gender"], odd["consent"]) == ("?", "ربما")


def test_unknown_columns_are_ignored_and_reported():
    header = ["ت", *HEADER, "Notes"]
    sheet = read_delegation(csv_bytes([["1", *person(1), "vegetarian"]], header=header))
    assert sheet.ignored_columns == ["ت", "Notes"]
    assert set(sheet.rows[0].values) == set(HEADER)


def test_missing_and_repeated_columns_are_named():
    error = refusal(csv_bytes([["Ali", "male"]], header=["Name", "Gender"]))
    assert (error.code, error.status) == ("import_missing_columns", 422)
    assert [(e.row, e.field) for e in error.fields] == [(1, "consent"), (1, "email")]
    error = refusal(csv_bytes([[*person(1), "x"]], header=[*HEADER, "E-mail"]))
    assert [(e.field, e.code) for e in error.fields] == [("email", "import_duplicate_column")]


@pytest.mark.parametrize(
    "upload,code,status",
    [
        (b"", "import_empty", 422),
        (b"\xef\xbb\xbf\r\n \r\n", "import_empty", 422),
        (",,,\r\n", "import_empty", 422),
        (csv_bytes([]), "import_no_rows", 422),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "import_not_spreadsheet", 415),
        (b"%PDF-1.7\n" + bytes(100), "import_not_spreadsheet", 415),
        (bytes(range(256)) * 4, "import_not_spreadsheet", 415),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "import_xls_not_supported", 415),
        (zip_bytes(**{"list.csv": "a,b"}), "import_zip_not_xlsx", 415),
        (zip_bytes(**{"xl/workbook.xml": "<broken"}), "import_unreadable", 422),
        (b"PK\x03\x04" + bytes(300), "import_unreadable", 422),
        (b"x" * (imports.MAX_BYTES + 1), "import_too_large", 413),
    ],
)
def test_what_is_not_a_delegation_list_gets_a_specific_refusal(upload, code, status):
    upload = upload.encode() if isinstance(upload, str) else upload
    error = refusal(upload)
    assert (error.code, error.status) == (code, status)


def test_more_than_the_row_limit_is_refused():
    rows = [person(n) for n in range(imports.MAX_ROWS + 1)]
    assert len(read_delegation(csv_bytes(rows[:-1])).rows) == imports.MAX_ROWS
    error = refusal(csv_bytes(rows))
    assert (error.code, error.status, error.params) == (
        "import_too_many_rows",
        413,
        {"max": imports.MAX_ROWS},
    )


def test_the_template_is_utf8_with_bom_and_both_languages():
    template = imports.template_csv()
    assert template.startswith(b"\xef\xbb\xbf")
    header = template.decode("utf-8-sig").strip().split(",")
    assert header[0] == "الاسم الكامل بالعربية / Full name in Arabic"
    assert [imports.column_field(cell) for cell in header] == list(imports.TEMPLATE_COLUMNS)


# --- the use case -------------------------------------------------------------------------------


def delegate_topics(session) -> list[str]:
    """Topics of the delegate events in the outbox (set-up may write others)."""
    query = select(OutboxMessage.topic).where(OutboxMessage.topic.like("delegate.%"))
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def wli(session, event) -> Agency:
    return get_agency(session, event, "WLI")


def test_a_valid_list_registers_everyone_with_their_messages(session, ctx, demo_event):
    agency = wli(session, demo_event)
    result = import_delegation(session, ctx, demo_event, agency, xlsx_bytes([person(1), person(2)]))
    session.commit()
    assert [r.full_name_en for r in result.registrations] == ["Delegate 1", "Delegate 2"]
    assert {r.agency.code for r in result.registrations} == {"WLI"}
    assert session.get(Agency, agency.id).registered_count == 2
    assert delegate_topics(session) == ["delegate.registered", "delegate.registered"]


def test_one_bad_row_writes_nothing_and_every_error_is_listed(session, ctx, demo_event):
    rows = [person(1), person(2, email="not-an-email"), person(3), person(4, gender="x", phone="1")]
    with pytest.raises(DomainError) as caught:
        import_delegation(session, ctx, demo_event, wli(session, demo_event), csv_bytes(rows))
    error = caught.value
    assert (error.code, error.params) == ("import_invalid", {"rows": 2})
    assert [(e.row, e.field, e.code) for e in error.fields] == [
        (3, "email", "email_invalid"),
        (5, "phone", "phone_invalid"),
        (5, "gender", "one_of"),
    ]
    session.commit()
    assert row_count(session, Registration) == len(delegate_topics(session)) == 0
    assert wli(session, demo_event).registered_count == 0


def test_every_error_of_a_row_is_listed_at_once(session, ctx, demo_event):
    header = [*HEADER, "agency", "category", "channel"]
    wrong = person(2, full_name_ar="", full_name_en="", email="not-an-email", gender="x")
    wrong[HEADER.index("consent")] = "no"
    rows = [[*person(1), "", "", ""], [*wrong, "IWED", "NOPE", "fax"]]
    with pytest.raises(DomainError) as caught:
        import_delegation(
            session, ctx, demo_event, wli(session, demo_event), csv_bytes(rows, header=header)
        )
    assert {(e.row, e.field, e.code) for e in caught.value.fields} == {
        (3, "agency", "import_other_agency"),
        (3, "full_name_ar", "name_required"),
        (3, "email", "email_invalid"),
        (3, "gender", "one_of"),
        (3, "consent", "consent_required"),
        (3, "category", "unknown_category"),
        (3, "channel", "one_of"),
    }
    assert len(caught.value.fields) == 7


def test_a_row_missing_its_contact_and_consent_names_both(session, ctx, demo_event):
    rows = [person(1, email="", phone="", consent="")]
    with pytest.raises(DomainError) as caught:
        import_delegation(session, ctx, demo_event, wli(session, demo_event), csv_bytes(rows))
    assert {(e.row, e.field, e.code) for e in caught.value.fields} == {
        (2, "email", "contact_required"),
        (2, "consent", "consent_required"),
    }


def test_repeats_in_the_file_and_people_already_registered_are_refused(session, ctx, demo_event):
    register_delegate(session, ctx, demo_event, RegistrationSchema().load(delegate()))
    rows = [
        person(1),
        person(2, phone="+964 770 001 0001"),  # delegate 1's phone, another spelling
        person(3, email="YUSRA@example.org"),  # the registered delegate's email
    ]
    with pytest.raises(DomainError) as caught:
        import_delegation(session, ctx, demo_event, wli(session, demo_event), csv_bytes(rows))
    assert [(e.row, e.field, e.code, e.params) for e in caught.value.fields] == [
        (3, "phone", "import_duplicate_phone", {"first": 2}),
        (4, "email", "duplicate_contact", {}),
        (4, "phone", "duplicate_contact", {}),
    ]


def test_a_list_larger_than_the_seats_left_is_refused_as_a_whole(session, ctx, demo_event):
    agency = wli(session, demo_event)
    agency.quota = 2
    session.flush()
    rows = [person(n) for n in range(1, 4)]
    with pytest.raises(DomainError) as caught:
        import_delegation(session, ctx, demo_event, agency, csv_bytes(rows))
    error = caught.value
    assert (error.code, error.status, error.params) == (
        "import_over_quota",
        409,
        {"delegates": 3, "seats": 2},
    )
    assert row_count(session, Registration) == 0


def test_rows_for_another_agency_and_organizer_only_categories(session, ctx, demo_event):
    header = [*HEADER, "agency", "category"]
    rows = [[*person(1), "wli", ""], [*person(2), "IWED", ""], [*person(3), "", "SPEAKER"]]
    agency = wli(session, demo_event)
    with pytest.raises(DomainError) as caught:
        import_delegation(session, ctx, demo_event, agency, csv_bytes(rows, header=header))
    assert [(e.row, e.field, e.code) for e in caught.value.fields] == [
        (3, "agency", "import_other_agency"),
        (4, "category", "category_not_allowed"),
    ]
    result = import_delegation(
        session, ctx, demo_event, agency, csv_bytes(rows[::2], header=header), privileged=True
    )
    assert [r.category.code for r in result.registrations] == ["DELEGATE", "SPEAKER"]


# --- fuzzing: any upload is a list of rows or a DomainError, any row a load or a ValidationError --

FUZZING = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CELL_TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from([*HEADER, *ARABIC_HEADER, "yes", "نعم", "female", "0770 123 4567", "a@b.org"]),
)
CELL_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.datetimes(),
    st.dates(),
    CELL_TEXT.filter(lambda text: not ILLEGAL_CHARACTERS_RE.search(text)),
)


def assert_read_cleanly(upload: bytes) -> None:
    """The upload is refused with a DomainError, or each of its rows loads or fails validation."""
    try:
        sheet = read_delegation(upload)
    except DomainError as error:
        assert error.code.startswith("import_")
        return
    for row in sheet.rows:
        values = {k: v for k, v in row.values.items() if k != "agency"}
        with contextlib.suppress(ValidationError):
            RegistrationSchema().load(values)


@FUZZING
@given(st.binary(max_size=4096))
def test_any_bytes_are_rows_or_a_clean_refusal(upload):
    assert_read_cleanly(upload)


@FUZZING
@given(
    st.lists(st.lists(CELL_TEXT, max_size=8), max_size=8),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1256", "utf-16"]),
)
def test_any_csv_text_in_any_accepted_encoding_is_rows_or_a_clean_refusal(rows, delimiter, codec):
    text = "\r\n".join(delimiter.join(f'"{cell}"' for cell in row) for row in rows)
    assert_read_cleanly(text.encode(codec, errors="replace"))


@FUZZING
@given(st.lists(st.lists(CELL_VALUES, max_size=8), max_size=6))
def test_any_workbook_of_typed_cells_is_rows_or_a_clean_refusal(rows):
    assert_read_cleanly(xlsx_bytes(rows))


WORKBOOK = xlsx_bytes([person(1)])


@FUZZING
@given(st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), min_size=1))
def test_a_damaged_workbook_is_rows_or_a_clean_refusal(edits):
    damaged = bytearray(WORKBOOK)
    for offset, byte in edits:
        damaged[offset] = byte
    assert_read_cleanly(bytes(damaged))


def test_a_workbook_needing_a_newer_zip_version_is_unreadable_not_a_crash():
    # Found by Hypothesis: zipfile raised NotImplementedError ("zip file version 6.4"), a 500.
    damaged = bytearray(WORKBOOK)
    directory = damaged.index(b"PK\x01\x02")
    damaged[directory + 6 : directory + 8] = (64).to_bytes(2, "little")
    assert refusal(bytes(damaged)).code == "import_unreadable"
