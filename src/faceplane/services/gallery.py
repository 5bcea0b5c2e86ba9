"""Collections, people, templates and enrollment as the server offers them (``routes/gallery.py``).

On top of :class:`~faceplane.gallery.gallery.Gallery`: the rules of a collection name, the consent and
watchlist policy of a new person (:func:`~faceplane.governance.check_enrollment`), the settings' enrollment
quality gate, and a deleted watchlist leaving the cameras' watchlists.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from ..config import Settings
from ..errors import InvalidArgumentError
from ..gallery.gallery import Gallery
from ..gallery.records import Collection, Consent, EnrollReport, Person, Template
from ..governance import check_enrollment

__all__ = ["GalleryService"]


class GalleryService:
    """The face library's use cases. ``watchlists`` holds the names of the collections cameras watch;
    ``unwatch(name)`` takes a deleted collection off them."""

    def __init__(
        self,
        *,
        gallery: Gallery,
        settings: Settings,
        watchlists: Container[str],
        unwatch: Callable[[str], object],
    ) -> None:
        self.gallery = gallery
        self.settings = settings
        self._watchlists = watchlists
        self._unwatch = unwatch

    def collections(self) -> list[Collection]:
        return self.gallery.list_collections()

    def create_collection(self, name: str, description: str = "") -> Collection:
        if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
            raise InvalidArgumentError(f"a collection name is 1-64 letters, digits, '-', '_' or '.', got {name!r}")
        return self.gallery.create_collection(name, description=description)

    def delete_collection(self, name: str) -> int:
        removed = self.gallery.delete_collection(name)
        if name in self._watchlists:
            self._unwatch(name)
        return removed

    def people(self, collection: str, limit: int, offset: int) -> list[Person]:
        return self.gallery.list_people(collection, limit=limit, offset=offset)

    def person(self, person_id: int) -> Person:
        return self.gallery.store.get_person(person_id)

    def enroll(
        self,
        collection: str,
        images: list[bytes],
        *,
        name: str | None,
        person_id: int | None,
        consent: Consent | None,
        expires_at: float | None = None,
    ) -> EnrollReport:
        """Enroll photos; a new person must satisfy the consent and watchlist policy (:func:`check_enrollment`)."""
        if not images:
            raise InvalidArgumentError("enrollment needs at least one photo")
        if person_id is None:
            watchlist = collection in self._watchlists
            check_enrollment(consent, expires_at, watchlist=watchlist, require_consent=self.settings.require_consent)
        return self.gallery.enroll(
            collection, images, name=name, person_id=person_id, consent=consent, expires_at=expires_at,
            gate=self.settings.enrollment_gate.gate(),
        )

    def templates(self, person_id: int) -> list[Template]:
        self.gallery.store.get_person(person_id)  # NotFoundError for an unknown person
        return self.gallery.store.templates_of(person_id)

    def template_thumbnail(self, template_id: int) -> bytes | None:
        return self.gallery.store.template_thumbnail(template_id)

    def remove_template(self, template_id: int) -> None:
        self.gallery.remove_template(template_id)
