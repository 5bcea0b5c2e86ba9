"""Editing people on the server: the policy an edit must pass, and the stores it reaches (gallery, events).

- Details (:meth:`PeopleEditor.update`): the person as the edit leaves them must still pass the enrollment
  policy (:func:`~faceplane.governance.check_enrollment`): a legal basis when the server requires consent;
  on a watchlist a purpose and an expiry at most a year away.
- A template to another person (:meth:`PeopleEditor.move_template`): allowed between any two people; the
  answer says how far the face lies from the new owner's other templates, against the 1:1 threshold the
  enrollment duplicate check uses, so an operator sees a move that looks wrong.
- Two people made one (:meth:`PeopleEditor.merge`): the gallery merge (one transaction of ``faceplane.db``),
  then the events naming the merged person re-pointed to the kept one (one transaction of
  ``events.sqlite``). A crash between the two leaves events under the merged id; :meth:`finish_merges`,
  run when the editor is built, re-points them from the merges the gallery recorded, and with them any
  event a track already under way emitted under the merged id after the merge.

Routes audit each change (what changed, never the values: names and reasons are personal data). Example::

    editor = PeopleEditor(gallery=gallery, events=events, watchlists=lambda: {"watchlist"}, require_consent=False)
    person, changed = editor.update(7, PersonChanges(display_name="Ada Lovelace"))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from ..events import EventStore
from ..gallery.editing import GalleryEditor, PersonChanges
from ..gallery.gallery import Gallery
from ..gallery.records import Person
from ..governance import check_enrollment

__all__ = ["MergeReport", "PeopleEditor", "TemplateMove"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplateMove:
    """A template that changed owner.

    Attributes:
        template_id: the template.
        from_person_id: its owner before.
        person: its owner now, as stored after the move.
        distance: the smallest distance from the face to the new owner's other templates (None: they have none).
        threshold: the 1:1 same-person distance (calibrated FAR 1e-3) the distance is held to.
    """

    template_id: int
    from_person_id: int
    person: Person
    distance: float | None
    threshold: float

    @property
    def looks_alike(self) -> bool | None:
        """Whether the face matches the new owner's other templates (None: nothing to compare with)."""
        return None if self.distance is None else self.distance <= self.threshold


@dataclass(frozen=True)
class MergeReport:
    """What a merge did: the kept person as stored after it, the merged id, templates and events moved."""

    person: Person
    merged_id: int
    templates: int
    events: int


class PeopleEditor:
    """Edit people of a gallery and keep their events in step (see the module docstring).

    Args:
        gallery: the gallery whose people are edited.
        events: the event store whose history follows a merge.
        watchlists: the collections that are watchlists now (asked at each edit: they change at run time).
        require_consent: people need a legal basis (the server's ``require_consent``).
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        events: EventStore,
        watchlists: Callable[[], Collection[str]],
        require_consent: bool,
    ) -> None:
        self.gallery = gallery
        self.events = events
        self.watchlists = watchlists
        self.require_consent = require_consent
        self._editor = GalleryEditor(gallery)
        self.finish_merges()

    def update(self, person_id: int, changes: PersonChanges) -> tuple[Person, list[str]]:
        """Change some of a person's details; returns the person as stored and the names of the fields set.

        Raises:
            NotFoundError: no person with that id.
            InvalidArgumentError: nothing to change, a bad value, a taken external id, or a person the
                enrollment policy would refuse (no legal basis; a watchlist entry without purpose or expiry).
        """
        before = self.gallery.store.get_person(person_id)
        after = changes.applied_to(before)  # checks the values: nothing is written when they are refused
        watchlist = after.collection in self.watchlists()
        consent, expires_at = after.consent, after.expires_at
        check_enrollment(consent, expires_at, watchlist=watchlist, require_consent=self.require_consent)
        return self._editor.update_person(person_id, changes), changes.changed()

    def move_template(self, template_id: int, person_id: int) -> TemplateMove:
        """Give one face template to another person (see :meth:`GalleryEditor.move_template`).

        Raises:
            NotFoundError: no template or no person with that id.
            InvalidArgumentError: the template already belongs to that person.
        """
        previous = self._editor.move_template(template_id, person_id)
        templates, embeddings = self.gallery.store.embeddings_of(person_id)
        ids = np.array([t.id for t in templates], np.int64)
        face = embeddings[ids == template_id]
        others = embeddings[ids != template_id]
        distance = float(np.linalg.norm(others - face, axis=1).min()) if len(face) and len(others) else None
        person = self.gallery.store.get_person(person_id)
        return TemplateMove(int(template_id), previous, person, distance, self.gallery.duplicate_threshold)

    def merge(self, keep_id: int, merge_id: int) -> MergeReport:
        """Merge person ``merge_id`` into ``keep_id``: templates, then the events history (module docstring).

        Raises:
            NotFoundError: either person does not exist.
            InvalidArgumentError: the same person twice, or people of two collections.
        """
        merge = self._editor.merge_people(keep_id, merge_id)
        person = self.gallery.store.get_person(keep_id)
        moved = self.events.repoint_person(merge_id, keep_id, name=person.display_name, collection=person.collection)
        return MergeReport(person, int(merge_id), len(merge.template_ids), moved)

    def merged_into(self, person_id: int) -> list[int]:
        """Ids of the people merged into this one (their audit rows and evidence still name those ids)."""
        return self._editor.merged_into(person_id)

    def finish_merges(self) -> int:
        """Re-point events still naming a merged person to whom they were merged into; returns how many."""
        moved = 0
        for merged_id, kept_id in self._editor.merges():
            person = self.gallery.store.get_person(kept_id)
            moved += self.events.repoint_person(
                merged_id, kept_id, name=person.display_name, collection=person.collection
            )
        if moved:
            log.warning("re-pointed %d events of merged people to the people they were merged into", moved)
        return moved
