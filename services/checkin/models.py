"""Tables owned by the check-in service (the roster and scans come with its issue)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()
