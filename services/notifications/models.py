"""Tables owned by the notifications service (the delivery log comes with its issue)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()
