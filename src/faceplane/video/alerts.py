"""Watchlist alerts: one alert per visit of a watchlist person to a camera, not one per face track.

Tracks break when a face turns away or frames are dropped; operators want one alert per visit. A camera
keeps an :class:`~faceplane.video.camera.Episode` per watchlist person in view: the first track
recognised as them starts it (``watchlist.start``, with a snapshot), a clearly better shot updates it
(``watchlist.update``, a new snapshot), and it ends (``watchlist.end``, with the dwell) when no track of
theirs has been seen for ``alert_gap_s`` or the camera closes. Snapshots are made off the loop thread by
the engine's publisher; :mod:`.redaction` decides what they obscure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..events import Event
from ..gallery.records import Candidate
from .camera import CameraState, Episode, Shot, TrackMemory
from .redaction import SnapshotRedactor

__all__ = ["Emit", "WatchlistAlerts"]

#: How the engine publishes an event of a camera: ``emit(camera, event, snapshot_job, then=callback)``.
Emit = Callable[..., None]

#: A watchlist alert takes a new snapshot when a shot is this much closer (distance) than the best so far.
BETTER_SHOT = 0.02


class WatchlistAlerts:
    """The alert episodes of every camera of one engine.

    Args:
        is_watched: whether a collection's people raise alerts, asked at each shot (collections are
            watched and unwatched at run time).
        alert_gap_s: a watchlist person unseen on a camera for this long ends their alert.
        emit: publishes an event with an optional snapshot job and a callback once published.
        redact: snapshots obscure every face but the watchlist person's.
    """

    def __init__(self, *, is_watched: Callable[[str], bool], alert_gap_s: float, emit: Emit, redact: bool) -> None:
        self.is_watched = is_watched
        self.alert_gap_s = alert_gap_s
        self.redact = redact
        self._emit = emit
        self._snapshots = SnapshotRedactor()  # its CNN detector is made on the first redacted snapshot

    def update(self, cam: CameraState, shot: Shot, mem: TrackMemory, person: Candidate | None) -> None:
        """Fold a track's (new) identity into the camera's alert episodes (one per watchlist person)."""
        tid, t_s = shot.track_id, shot.frame.t_s
        watched = person if person is not None and self.is_watched(person.collection) else None
        if mem.alert is not None and (watched is None or watched.person_id != mem.alert.person_id):
            self.leave(cam, mem.alert.person_id, tid, t_s)  # the vote changed its mind
            mem.alert = None
        if watched is None:
            return
        mem.alert = watched
        episode = cam.episodes.get(watched.person_id)
        if episode is None:
            cam.episodes[watched.person_id] = Episode(watched, t_s, t_s, {tid}, tid)
            decoded = shot.frame.wall_s  # latency: until the alert, with its snapshot, is published
            self._event("watchlist.start", cam, tid, watched, t_s, mem.box, shot=shot,
                        then=lambda: cam.summary.alert_latency_s.append(time.time() - decoded))  # fmt: skip
            return
        episode.tracks.add(tid)
        episode.last_t, episode.last_track = max(episode.last_t, t_s), tid
        if watched.distance < episode.who.distance - BETTER_SHOT:  # a clearly better shot: a new snapshot
            episode.who = watched
            self._event("watchlist.update", cam, tid, watched, t_s, mem.box, shot=shot)

    def leave(self, cam: CameraState, person_id: int, tid: int, t_s: float) -> None:
        """Track ``tid`` is no longer (seen as) ``person_id``: their episode waits for another track."""
        episode = cam.episodes.get(person_id)
        if episode is not None:
            episode.tracks.discard(tid)
            episode.last_t = max(episode.last_t, t_s)

    def close_gone(self, cam: CameraState, t_s: float, *, all_: bool = False) -> None:
        """End the alerts of people gone for ``alert_gap_s`` (all of them when the camera closes)."""
        for pid, ep in list(cam.episodes.items()):
            if all_ or (not ep.tracks and t_s - ep.last_t >= self.alert_gap_s):
                del cam.episodes[pid]
                dwell = round(ep.last_t - ep.first_t, 3)
                self._event("watchlist.end", cam, ep.last_track, ep.who, ep.last_t, None, dwell_s=dwell)

    def _event(
        self,
        kind: str,
        cam: CameraState,
        tid: int,
        who: Candidate,
        t_s: float,
        box: tuple[float, float, float, float] | None,
        *,
        dwell_s: float | None = None,
        shot: Shot | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        event = Event.new(
            kind,
            camera=cam.name,
            t_s=t_s,
            track_id=tid,
            rule=who.collection,
            person_id=who.person_id,
            person_name=who.display_name,
            collection=who.collection,
            distance=round(who.distance, 4),
            box=box,
            dwell_s=dwell_s,
        )
        snapshot = self._snapshots.job(cam, shot, redact=self.redact) if shot is not None else None
        self._emit(cam, event, snapshot, then=then)
