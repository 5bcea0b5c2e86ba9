"""What the command groups share: their types, option values, error lines and the template key.

The bottom of :mod:`faceplane.cli`: every group module may import this one, this one imports no
command group (``tests/unit/test_cli_layout.py`` holds the package to that).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO, TypeAlias

from ..errors import FaceplaneError

__all__ = [
    "DETECTORS",
    "INDEXES",
    "Subcommands",
    "default_data_dir",
    "report_input_error",
    "template_key_from_env",
]

#: The sub-parsers a group registers its commands on (what ``add_subparsers`` returns).
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: Face detectors a command can choose (``--detector``).
DETECTORS = ("hog", "cnn", "blazeface")

#: Gallery vector indexes (``--index``).
INDEXES = ("exact", "faiss", "milvus")


def default_data_dir() -> str:
    """The gallery folder when ``--data-dir`` is not given: ``$FACEPLANE_DATA_DIR`` or ``./faceplane-data``."""
    return os.environ.get("FACEPLANE_DATA_DIR", "faceplane-data")


def report_input_error(path: str, exc: FaceplaneError, *, as_json: bool, out: TextIO) -> None:
    """One input failed: a ``{"path", "error"}`` line in JSON mode, else one line on stderr."""
    if as_json:
        out.write(json.dumps({"path": path, "error": str(exc)}) + "\n")
    else:
        print(f"faceplane: error: {exc}", file=sys.stderr)


def template_key_from_env() -> bytes | None:
    """The template key in ``$FACEPLANE_TEMPLATE_KEY`` (None when unset or empty)."""
    from ..gallery.crypto import parse_template_key

    text = os.environ.get("FACEPLANE_TEMPLATE_KEY", "")
    return parse_template_key(text, name="FACEPLANE_TEMPLATE_KEY") if text.strip() else None
