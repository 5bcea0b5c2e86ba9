"""Files the server hands out by a client-given path (event snapshots, liveness evidence frames)."""

from __future__ import annotations

from pathlib import Path

from ..errors import NotFoundError

__all__ = ["file_below"]


def file_below(root: Path, relative: str, what: str) -> Path:
    """The file ``relative`` below ``root``; NotFoundError for a path outside it (``../``, an absolute path,
    a link out) or no such file."""
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFoundError(f"no {what} {relative!r}")
    return path
