"""Schemas of the attendance report API: query parameters and the report's shape."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.checkin import figures
from services.checkin.schemas import RosterNamesSchema, StrictSchema
from shared.fields import Text, database_int


def _breakdown(text: str) -> None:
    try:
        figures.parse_by(text)
    except ValueError:
        raise ValidationError("invalid_breakdown") from None


class AttendanceQuerySchema(StrictSchema):
    by = fields.String(
        load_default="agency",
        validate=[validate.Length(max=40, error="too_long:max={max}"), _breakdown],
        metadata={"description": "agency, day, category, gender; comma-separated to combine"},
    )
    lang = fields.String(load_default=None, validate=validate.OneOf(("ar", "en")))


class PeopleQuerySchema(StrictSchema):
    agency = Text(32, load_default=None)
    day = fields.Date(load_default=None)
    lang = fields.String(load_default=None, validate=validate.OneOf(("ar", "en")))


class InsideQuerySchema(StrictSchema):
    list_id = database_int(strict=False, load_default=None)
    lang = fields.String(load_default=None, validate=validate.OneOf(("ar", "en")))


class ArrivalsQuerySchema(StrictSchema):
    day = fields.Date(required=True)
    minutes = fields.Integer(
        load_default=15, validate=validate.OneOf((5, 10, 15, 30, 60), error="invalid")
    )
    lang = fields.String(load_default=None, validate=validate.OneOf(("ar", "en")))


class ReportSchema(Schema):
    """A schema of the report's plain dicts: one dict lookup a field, not marshmallow's walk."""

    # Dumping a 900-row agency × day report spent half its time finding values in dicts.
    def get_attribute(self, obj, attr, default):
        return obj.get(attr, default)


class NamedSchema(ReportSchema):
    id = fields.Integer()
    code = fields.String()
    name_ar = fields.String()
    name_en = fields.String()
    sector = fields.String()
    quota = fields.Integer(allow_none=True)


class FiguresSchema(ReportSchema):
    """The numbers of one row (or of the totals); times are event-local."""

    quota = fields.Integer(allow_none=True)
    registered = fields.Integer()
    cancelled = fields.Integer()
    attended = fields.Integer(metadata={"description": "unique active delegates with an entry"})
    no_shows = fields.Integer()
    attendance_rate = fields.Float(allow_none=True, metadata={"description": "0 to 1"})
    first_arrival = fields.AwareDateTime(allow_none=True)
    last_arrival = fields.AwareDateTime(allow_none=True)


class RowSchema(FiguresSchema):
    """One combination of the asked dimensions; only those dimensions are present."""

    agency = fields.Nested(NamedSchema)
    day = fields.String()
    category = fields.Nested(NamedSchema)
    gender = fields.String()


class EventViewSchema(ReportSchema):
    id = fields.Integer()
    slug = fields.String()
    name_ar = fields.String()
    name_en = fields.String()
    timezone = fields.String()
    days = fields.List(fields.String())


class AttendanceSchema(ReportSchema):
    event = fields.Nested(EventViewSchema)
    by = fields.List(fields.String())
    generated_at = fields.AwareDateTime()
    totals = fields.Nested(FiguresSchema)
    rows = fields.List(fields.Nested(RowSchema))


class PersonSchema(RosterNamesSchema):
    """A delegate in a report list; e-mail and phone for organizers only."""

    badge_id = fields.Integer()
    agency_id = fields.Integer()
    gender = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class InsideSchema(PersonSchema):
    list_id = fields.Integer()
    gate = fields.String()
    since = fields.AwareDateTime()


class ArrivalSchema(Schema):
    at = fields.AwareDateTime()
    arrivals = fields.Integer()
    cumulative = fields.Integer()


class InsideCountSchema(Schema):
    inside = fields.Integer()


NAMED = tuple(NamedSchema().fields)
FIGURES = tuple(FiguresSchema().fields)


def report_document(report: dict) -> dict:
    """The report exactly as AttendanceSchema dumps it, built directly (tests pin the two)."""
    # marshmallow's per-field dump was most of the CPU of a 900-row agency × day report.
    return {
        "event": {name: report["event"][name] for name in EventViewSchema().fields},
        "by": list(report["by"]),
        "generated_at": report["generated_at"].isoformat(),
        "totals": _figures(report["totals"]),
        "rows": [_row(row) for row in report["rows"]],
    }


def _row(row: dict) -> dict:
    document = _figures(row)
    for name in ("agency", "category"):
        if name in row:
            document[name] = {key: row[name][key] for key in NAMED if key in row[name]}
    for name in ("day", "gender"):
        if name in row:
            document[name] = row[name]
    return document


def _figures(row: dict) -> dict:
    document = {name: row[name] for name in FIGURES}
    for name in ("first_arrival", "last_arrival"):
        document[name] = document[name] and document[name].isoformat()
    return document
