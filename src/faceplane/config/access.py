"""Settings of the door: who may pass ``POST /identify-live`` (``[[access]]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccessRule", "Weekday"]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AccessRule(BaseModel):
    """Who may pass a door (``POST /identify-live``): people of a collection, on some days and hours.

    Example: ``[[access]] collection = "staff"  days = ["mon", "tue", "wed", "thu", "fri"]  hours = "07:00-19:00"``
    """

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(description="people enrolled in this collection may pass")
    days: list[Weekday] = Field(
        default_factory=lambda: list(_DAYS), description="weekdays the rule holds (server local time)"
    )
    hours: str = Field(
        "00:00-24:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$|^([01]\d|2[0-3]):[0-5]\d-24:00$",
        description="'HH:MM-HH:MM', server local time; the end is exclusive and may be before the start (night)",
    )

    def allows(self, weekday: int, minute_of_day: int) -> bool:
        """Whether the rule holds on ``weekday`` (0 = Monday) at ``minute_of_day`` (0..1439)."""
        start, end = (int(p[:2]) * 60 + int(p[3:]) for p in self.hours.split("-"))
        if start <= end:
            return _DAYS[weekday] in self.days and start <= minute_of_day < end
        # over midnight: the part after midnight belongs to the day the rule started
        if minute_of_day >= start:
            return _DAYS[weekday] in self.days
        return _DAYS[(weekday - 1) % 7] in self.days and minute_of_day < end
