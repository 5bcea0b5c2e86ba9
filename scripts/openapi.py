"""Write the REST API's OpenAPI document to docs/openapi.json (the contract test compares the app with it).

Run after a deliberate change of the API: ``.venv/bin/python scripts/openapi.py``. The document does not
depend on the settings or the data: it is built from a server on an empty, temporary data folder.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from faceplane.bootstrap import build_services
from faceplane.config import Settings
from faceplane.server.app import create_app

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def document(app: object) -> str:
    """The app's OpenAPI document as the contract file holds it: sorted keys, one-space indents."""
    return json.dumps(app.openapi(), sort_keys=True, indent=1, ensure_ascii=False) + "\n"  # type: ignore[attr-defined]


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir:
        services = build_services(Settings(data_dir=Path(data_dir), workers=0))  # type: ignore[call-arg]
        try:
            CONTRACT.write_text(document(create_app(services)), encoding="utf-8")
        finally:
            services.close()
    print(f"wrote {CONTRACT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
