"""Bodies of the event routes (``routes/events.py``): events, hourly counts, counts per class, dwell times."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict, Field

from ...events import Event
from ...events.analytics import ClassHour
from ...events.analytics import HourCount as HourlyCount

__all__ = ["ClassHourOut", "DwellOut", "EventOut", "HourCount"]


class DwellOut(BaseModel):
    camera: str
    zone: str
    visits: int
    mean_dwell_s: float
    max_dwell_s: float


class EventOut(BaseModel):
    # "class" is a Python keyword: the field is object_class, its JSON name "class" (also in SSE: by alias)
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    id: str
    kind: str
    camera: str
    t_s: float
    wall_s: float
    track_id: int
    rule: str
    person_id: int | None
    person_name: str | None
    collection: str | None
    distance: float | None
    direction: str | None
    dwell_s: float | None
    box: list[float] | None
    snapshot_url: str | None
    object_class: str | None = Field(
        default=None, alias="class", description="COCO class of an object track (person, car...); null for faces"
    )

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=e.id,
            kind=e.kind,
            camera=e.camera,
            t_s=e.t_s,
            wall_s=e.wall_s,
            track_id=e.track_id,
            rule=e.rule,
            person_id=e.person_id,
            person_name=e.person_name,
            collection=e.collection,
            distance=e.distance,
            direction=e.direction,
            dwell_s=e.dwell_s,
            box=list(e.box) if e.box else None,
            snapshot_url=f"/api/v1/{e.snapshot}" if e.snapshot else None,  # "snapshots/<camera>/<day>/<id>.jpg"
            **{"class": e.object_class},  # the alias: mypy knows the field by its JSON name
        )


class HourCount(BaseModel):
    hour_s: float = Field(description="start of the hour, Unix seconds")
    count: int = Field(description="events of the kind in the hour, of every class and of faces")
    by_class: dict[str, int] = Field(
        default_factory=dict, description="events of object tracks per class ({'car': 3}); face events not included"
    )

    @classmethod
    def of(cls, c: HourlyCount) -> HourCount:
        return cls(hour_s=c.hour_s, count=c.count, by_class=dict(c.by_class))


class ClassHourOut(BaseModel):
    # "class" is a Python keyword: the field is object_class, its JSON name "class" (as in EventOut)
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    hour_s: float = Field(description="start of the hour, Unix seconds")
    object_class: str = Field(alias="class", description="COCO class of the tracks: person, car...")
    line_in: int = Field(description="line crossings in the 'in' direction, all lines")
    line_out: int = Field(description="line crossings in the 'out' direction, all lines")
    zone_enter: int = Field(description="zone entries, all zones")
    zone_exit: int = Field(description="zone exits, all zones")
    zone_dwell: int = Field(description="dwell alerts: a track in a zone longer than the zone's threshold")

    @classmethod
    def of(cls, c: ClassHour) -> ClassHourOut:
        return cls.model_validate(asdict(c))  # by field name (validate_by_name): object_class
