"""Events: query with filters and pages, a live stream (Server-Sent Events), hourly counts, snapshots."""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from ...events import EVENT_KINDS, Event
from ..deps import MAX_INT64, HistoryDep, ServicesDep, Viewer
from ..schemas import ClassHourOut, DwellOut, EventOut, HourCount

router = APIRouter(tags=["events"])


@router.get("/events", response_model=list[EventOut])
def list_events(
    who: Viewer,
    history: HistoryDep,
    camera: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query(description=f"any of {', '.join(EVENT_KINDS)}")] = None,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    since_s: Annotated[float | None, Query(description="Unix seconds")] = None,
    until_s: Annotated[float | None, Query(description="Unix seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    object_class: Annotated[
        list[str] | None, Query(alias="class", description="object class of the track: person, car... (any of)")
    ] = None,
) -> list[EventOut]:
    found = history.query(
        cameras=camera or (),
        kinds=kind or (),
        object_classes=object_class or (),
        person_id=person_id,
        since_s=since_s,
        until_s=until_s,
        limit=limit,
        offset=offset,
    )
    return [EventOut.of(e) for e in found]


@router.get("/events/stream", summary="Live events as Server-Sent Events (text/event-stream)")
async def stream_events(request: Request, who: Viewer, services: ServicesDep) -> StreamingResponse:
    subscription = services.broadcaster.subscribe()

    async def messages() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            last = time.monotonic()
            while not services.stopping.is_set() and not await request.is_disconnected():
                event = await asyncio.to_thread(_next, subscription, 1.0)  # a stop ends the stream within 1 s
                if event is not None:
                    yield f"event: {event.kind}\nid: {event.id}\ndata: {EventOut.of(event).model_dump_json()}\n\n"
                elif time.monotonic() - last > 15:
                    yield ": keep-alive\n\n"
                    last = time.monotonic()
        finally:
            services.broadcaster.unsubscribe(subscription)

    return StreamingResponse(messages(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _next(subscription: queue.Queue[Event], timeout_s: float) -> Event | None:
    try:
        return subscription.get(timeout=timeout_s)
    except queue.Empty:
        return None


_CLASS_QUERY = Query(alias="class", description="only tracks of these object classes: person, car... (any of)")


@router.get("/analytics/hourly", response_model=list[HourCount], summary="Events of one kind per hour, per class")
def hourly(
    who: Viewer,
    history: HistoryDep,
    kind: Annotated[str, Query(description=f"one of {', '.join(EVENT_KINDS)}")] = "visitor.new",
    since_s: Annotated[float | None, Query()] = None,
    until_s: Annotated[float | None, Query()] = None,
    camera: Annotated[str | None, Query()] = None,
    object_class: Annotated[list[str] | None, _CLASS_QUERY] = None,
) -> list[HourCount]:
    until = until_s if until_s is not None else time.time()
    since = since_s if since_s is not None else until - 86400
    return [HourCount.of(c) for c in history.counts_per_hour(kind, since, until, camera, object_class or ())]


@router.get(
    "/analytics/classes",
    response_model=list[ClassHourOut],
    summary="Object line crossings (in/out), zone entries, exits and dwell alerts per class per hour",
)
def per_class(
    who: Viewer,
    history: HistoryDep,
    since_s: Annotated[float | None, Query()] = None,
    until_s: Annotated[float | None, Query()] = None,
    camera: Annotated[str | None, Query()] = None,
    object_class: Annotated[list[str] | None, _CLASS_QUERY] = None,
) -> list[ClassHourOut]:
    until = until_s if until_s is not None else time.time()
    since = since_s if since_s is not None else until - 86400
    return [ClassHourOut.of(c) for c in history.counts_per_class(since, until, camera, object_class or ())]


@router.get("/analytics/dwell", response_model=list[DwellOut], summary="Zone visits and dwell times")
def dwell(
    who: Viewer,
    history: HistoryDep,
    since_s: Annotated[float | None, Query()] = None,
    until_s: Annotated[float | None, Query()] = None,
    camera: Annotated[str | None, Query()] = None,
) -> list[DwellOut]:
    until = until_s if until_s is not None else time.time()
    since = since_s if since_s is not None else until - 86400
    return [
        DwellOut(camera=c, zone=z, visits=n, mean_dwell_s=round(mean, 2), max_dwell_s=round(top, 2))
        for c, z, n, mean, top in history.dwell(since, until, camera)
    ]


@router.get("/snapshots/{path:path}", response_class=FileResponse)
def snapshot(path: str, who: Viewer, history: HistoryDep) -> FileResponse:
    return FileResponse(history.snapshot(path), media_type="image/jpeg")
