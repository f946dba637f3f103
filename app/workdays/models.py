"""Official schedules an admin loads for the years ``chinese-calendar`` does not know."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class CalendarDay(Base):
    """A day of an official schedule an admin loaded for a year ``chinese-calendar`` does not know:
    a holiday (rest) or an adjusted working day (调休上班). The year's other days follow Monday–Friday."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(50), default="")  #: 春节, 国庆节 …
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
