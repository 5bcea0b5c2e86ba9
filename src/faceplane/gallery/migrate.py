"""Move a gallery to another embedding model: re-embed every template from the chip kept with it.

A gallery holds one model's embeddings (:attr:`SqliteStore.embedding_model`). :func:`migrate_gallery`
decodes the chip stored with each template and unknown face (encrypted like the embedding when the
gallery has a template key: dlib's 150x150 chip or MobileFaceNet's 112x112 ArcFace crop), re-cuts
it for the target model (:func:`faceplane.align.convert_chips`; a chip lacks part of what the other
model sees, so re-enrolling from photos is better where they exist), embeds it with the target
engine and writes the result to a side column, ``embedding_next``, in small committed batches: an
interrupted run resumes where it stopped. Only when every row has its new embedding does one
transaction swap the columns and record the new model, so a crash leaves the gallery entirely on
the old model or entirely on the new one, never half-migrated; the old embeddings serve searches
until that moment.

Templates enrolled from bare embeddings (``enroll_embeddings``, imports) have no chip and cannot be
re-embedded: the migration refuses to start unless told to drop them (``drop_unembeddable``).

:func:`upgrade_legacy` is the one migration that needs no photo: galleries made before models were
recorded hold raw dlib descriptors (``dlib@1``); scaling them to unit length gives exactly what the
``dlib`` embedder makes now (``dlib@2``).

Until a gallery is migrated, only an engine that makes its model's embeddings may serve it
(:func:`embedder_for` names one, :func:`check_engine` refuses any other).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..align import convert_chips
from ..errors import InvalidArgumentError, ModelError
from ..images import load_image
from ..models.catalog import LEGACY_MODEL
from ..models.mobilefacenet import normalize
from ..pipeline import EMBEDDERS, Engine
from .protection import reveal, seal
from .store import SqliteStore

__all__ = ["MigrationReport", "check_engine", "embedder_for", "migrate_gallery", "upgrade_legacy"]

logger = logging.getLogger(__name__)

_TABLES = ("templates", "unknown_faces", "negatives")  # negatives: "not this person" corrections


@dataclass(frozen=True)
class MigrationReport:
    """What a migration did.

    Attributes:
        source, target: the models before and after (``name@version``).
        embedded: rows re-embedded by this run (a resumed run counts only its own).
        resumed: rows already re-embedded by an earlier, interrupted run.
        dropped_templates: templates without a chip, removed (only with ``drop_unembeddable``).
        dropped_unknown: unknown faces without a chip, removed (they are sightings, not enrolments).
    """

    source: str
    target: str
    embedded: int
    resumed: int
    dropped_templates: int
    dropped_unknown: int


def embedder_for(model: str) -> str:
    """The :class:`~faceplane.Engine` embedder that makes ``model`` (a template tag such as ``"dlib@2"``).

    A legacy ``"dlib@1"`` gallery is served by ``"dlib"`` too: opening it scales it to ``"dlib@2"``.

    Raises:
        ModelError: no embedder of this faceplane makes it.
    """
    model = "dlib@2" if model == LEGACY_MODEL else model
    for name, spec in EMBEDDERS.items():
        if spec.tag == model and name != "dlib-native":
            return name
    raise ModelError(f"no embedder makes {model!r} embeddings; this faceplane has {sorted(EMBEDDERS)}")


def check_engine(engine: Engine, model: str) -> None:
    """Refuse an engine that does not make ``model`` embeddings: a search never compares two models' vectors.

    Raises:
        ModelError: another model, with how to re-embed the gallery or which embedder to use.
    """
    if engine.embedding_model != model:
        raise ModelError(
            f"this gallery holds {model} templates and the engine makes "
            f"{engine.embedding_model} embeddings: re-embed it with `faceplane gallery migrate --to "
            f"{engine.embedder_name}` (or use embedder = {embedder_for(model)!r})"
        )


def upgrade_legacy(store: SqliteStore) -> int:
    """Scale a ``dlib@1`` store's raw descriptors to unit length (``dlib@2``) in one transaction.

    Returns:
        Rows rewritten (0 when the store is not a legacy one).
    """
    if store.embedding_model != LEGACY_MODEL:
        return 0
    done = 0
    with store._tx() as db:
        for table in _TABLES:
            for row_id, blob in db.execute(f"SELECT id, embedding FROM {table}").fetchall():
                vec = np.frombuffer(reveal(store._cipher, f"{table}/embedding", row_id, blob), "<f4")
                unit = normalize(vec[None])[0].astype("<f4").tobytes()
                db.execute(
                    f"UPDATE {table} SET embedding = ? WHERE id = ?",
                    (seal(store._cipher, f"{table}/embedding", row_id, unit), row_id),
                )
                done += 1
        db.execute("UPDATE templates SET model = 'dlib@2'")
        db.execute("UPDATE meta SET value = 'dlib@2' WHERE key = 'embedding_model'")
    logger.warning("%s: raw dlib descriptors of %d rows scaled to unit length (dlib@2)", store.path, done)
    return done


def _start(store: SqliteStore, target: str, drop_unembeddable: bool) -> int:
    """Record the target (clearing a run towards another one); refuse chip-less templates. Returns rows done."""
    orphans = int(store._query("SELECT COUNT(*) FROM templates WHERE thumbnail IS NULL")[0][0])
    if orphans and not drop_unembeddable:
        raise InvalidArgumentError(
            f"{orphans} template(s) were enrolled from bare embeddings and keep no face chip to re-embed: "
            "re-enroll those people from photos, or pass --drop-unembeddable to remove those templates"
        )
    with store._tx(bump=False) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'migrating_to'").fetchone()
        if row is not None and row[0] != target:
            for table in _TABLES:
                db.execute(f"UPDATE {table} SET embedding_next = NULL")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('migrating_to', ?)", (target,))
        return sum(
            int(db.execute(f"SELECT COUNT(*) FROM {t} WHERE embedding_next IS NOT NULL").fetchone()[0]) for t in _TABLES
        )


def _embed_batch(store: SqliteStore, engine: Engine, table: str, batch: int) -> int:
    """Re-embed up to ``batch`` rows of ``table`` that lack a new embedding; returns how many."""
    rows = store._query(
        f"SELECT id, thumbnail FROM {table} WHERE embedding_next IS NULL AND thumbnail IS NOT NULL ORDER BY id LIMIT ?",
        (batch,),
    )
    if not rows:
        return 0
    chips = np.stack([load_image(reveal(store._cipher, f"{table}/thumbnail", r[0], r[1])) for r in rows])
    emb = engine.embed_chips(convert_chips(chips, engine.chip_size))
    with store._tx(bump=False) as db:
        for (row_id, _), vec in zip(rows, emb, strict=True):
            sealed = seal(store._cipher, f"{table}/embedding", row_id, vec.astype("<f4").tobytes())
            db.execute(f"UPDATE {table} SET embedding_next = ? WHERE id = ?", (sealed, row_id))
    return len(rows)


def _swap(store: SqliteStore, target: str) -> tuple[int, int]:
    """One transaction: drop chip-less rows, new embeddings in place, the new model recorded."""
    with store._tx() as db:
        dropped_t = db.execute("DELETE FROM templates WHERE thumbnail IS NULL").rowcount
        dropped_u = db.execute("DELETE FROM unknown_faces WHERE thumbnail IS NULL").rowcount
        db.execute("DELETE FROM negatives WHERE thumbnail IS NULL")  # a correction without a chip cannot follow
        for table in _TABLES:
            if db.execute(f"SELECT 1 FROM {table} WHERE embedding_next IS NULL LIMIT 1").fetchone():
                raise InvalidArgumentError(f"the gallery changed during the migration ({table}): run it again")
            db.execute(f"UPDATE {table} SET embedding = embedding_next, embedding_next = NULL")
        db.execute("UPDATE templates SET model = ?", (target,))
        db.execute("UPDATE meta SET value = ? WHERE key = 'embedding_model'", (target,))
        db.execute("DELETE FROM meta WHERE key = 'migrating_to'")
    return dropped_t, dropped_u


def migrate_gallery(
    store: SqliteStore,
    engine: Engine,
    *,
    batch: int = 32,
    drop_unembeddable: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Re-embed every template and unknown face of ``store`` with ``engine``'s model (resumable).

    Stop the server (and any other process using the gallery) first. Open the gallery afterwards
    with the new embedder: its index is rebuilt from the store because the generation moved.

    Args:
        store: the gallery's store (opened with its template key when it has one).
        engine: makes the target embeddings (``Engine(embedder="mobilefacenet")``).
        batch: chips per embedding call and per committed batch.
        drop_unembeddable: remove templates that keep no chip instead of refusing to start.
        progress: called with (rows done, rows in all) after each batch.

    Raises:
        InvalidArgumentError: chip-less templates without ``drop_unembeddable``, or a gallery that
            changed while migrating (run again: it resumes).
    """
    upgrade_legacy(store)
    source, target = store.embedding_model, engine.embedding_model
    if source == target:
        return MigrationReport(source, target, 0, 0, 0, 0)
    resumed = _start(store, target, drop_unembeddable)
    total = sum(
        int(store._query(f"SELECT COUNT(*) FROM {t} WHERE thumbnail IS NOT NULL")[0][0]) for t in _TABLES
    )
    done, embedded = resumed, 0
    for table in _TABLES:
        while n := _embed_batch(store, engine, table, batch):
            done, embedded = done + n, embedded + n
            if progress is not None:
                progress(done, total)
    dropped_t, dropped_u = _swap(store, target)
    logger.warning("%s: migrated %s -> %s (%d rows)", store.path, source, target, done)
    return MigrationReport(source, target, embedded, resumed, dropped_t, dropped_u)
