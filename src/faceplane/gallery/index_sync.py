"""Keep a vector index in step with the store, its source of truth, across restarts and crashes.

The store counts its committed changes (:attr:`~faceplane.gallery.store.SqliteStore.generation`). Next to
an index that saves itself to files (FAISS), a marker file, ``index-state.json``, records the generation
the saved index has seen. On open the saved index is reused only if the marker names the store's current
generation; otherwise (a crash between a store write and an index save, a change by another process) the
index is rebuilt from the store. An index held in memory only is rebuilt at every open.

Example:
    >>> sync = IndexSync(store, index, state_dir=None)   # doctest: +SKIP
    >>> sync.open()                                       # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .index import VectorIndex
from .store import SqliteStore

__all__ = ["STATE_FILE", "IndexSync"]

logger = logging.getLogger(__name__)

STATE_FILE = "index-state.json"


class IndexSync:
    """The generation marker of one index over one store.

    Args:
        store: the source of truth.
        index: the index kept in step with it.
        state_dir: where the marker is kept (None: no marker, the index is always rebuilt on open).
    """

    def __init__(self, store: SqliteStore, index: VectorIndex, state_dir: str | Path | None) -> None:
        self.store = store
        self.index = index
        self.state_dir = Path(state_dir) if state_dir is not None else None

    def _read(self) -> int | None:
        if self.state_dir is None:
            return None
        try:
            return int(json.loads((self.state_dir / STATE_FILE).read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write(self) -> None:
        if self.state_dir is not None:
            tmp = self.state_dir / (STATE_FILE + ".tmp")
            tmp.write_text(json.dumps({"generation": self.store.generation, "templates": len(self.index)}))
            os.replace(tmp, self.state_dir / STATE_FILE)  # atomic: never a half-written marker

    def open(self) -> None:
        """Reuse a persisted index only if it saw every committed change; else rebuild it."""
        if len(self.index) and self._read() == self.store.generation:
            logger.info("index is current (%d templates)", len(self.index))
            return
        self.rebuild()

    def rebuild(self) -> None:
        """Rebuild the index from the store."""
        self.index.reset()
        for ids, emb in self.store.iter_embeddings():
            self.index.add(ids, emb)
        logger.info("index rebuilt from the store: %d templates", len(self.index))
        self.changed(checkpoint=True)

    def changed(self, *, checkpoint: bool = False) -> None:
        """Record that the index saw every committed change.

        An index that saves to files (FAISS) is saved only at checkpoints (rebuild, close): saving a
        1M index after every enrollment would rewrite ~0.5 GB. Until then its marker keeps the
        generation of the last save, so after a crash the next open sees it is stale and rebuilds.
        """
        save = getattr(self.index, "save", None)
        if callable(save):
            if checkpoint:
                save()
                self._write()
            return
        self._write()
