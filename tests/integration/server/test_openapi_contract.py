"""The REST API is the one docs/openapi.json documents: a change of a path, a method, a parameter, a body's
fields or a status code fails here. A deliberate change rewrites the file (``python scripts/openapi.py``) in
the same commit, so it shows in review.

What is compared is the contract, not the rendering: paths and methods, each parameter's name, place and
whether it is required, the media types of request bodies, the status codes, and each schema's fields and
which are required. Descriptions and how a FastAPI or pydantic release spells a type are left out, so a
newer release on a user's machine does not fail this test for nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def contract(doc: dict[str, Any]) -> dict[str, Any]:
    """The parts of an OpenAPI document a client depends on (see the module docstring)."""
    operations = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = sorted((p["in"], p["name"], bool(p.get("required"))) for p in op.get("parameters", []))
            body = op.get("requestBody") or {}
            operations[f"{method.upper()} {path}"] = {
                "parameters": params,
                "body": sorted(body.get("content", {})),
                "body_required": bool(body.get("required")),
                "responses": sorted(op.get("responses", {})),
            }
    schemas = {
        name: {"fields": sorted(s.get("properties", {})), "required": sorted(s.get("required", []))}
        for name, s in doc.get("components", {}).get("schemas", {}).items()
    }
    return {"operations": operations, "schemas": schemas}


def _differences(kept: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for part in ("operations", "schemas"):
        for name in sorted(kept[part].keys() | now[part].keys()):
            if name not in now[part]:
                out.append(f"{part}: {name} is gone")
            elif name not in kept[part]:
                out.append(f"{part}: {name} is new")
            elif kept[part][name] != now[part][name]:
                out.append(f"{part}: {name}: {kept[part][name]} -> {now[part][name]}")
    return out


def test_the_rest_api_is_the_documented_one(app) -> None:
    kept = contract(json.loads(CONTRACT.read_text(encoding="utf-8")))
    differences = _differences(kept, contract(app.openapi()))
    assert not differences, (
        "the REST API differs from docs/openapi.json (on purpose? python scripts/openapi.py rewrites it):\n"
        + "\n".join(differences[:40])
    )


def test_the_comparison_sees_a_changed_parameter_and_a_lost_field() -> None:
    doc = json.loads(CONTRACT.read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(doc))
    op = changed["paths"]["/api/v1/identify"]["post"]
    op["parameters"] = [p for p in op["parameters"] if p["name"] != "k"]
    changed["components"]["schemas"]["PersonOut"]["properties"].pop("name")
    found = _differences(contract(doc), contract(changed))
    assert len(found) == 2 and found[0].startswith("operations: POST /api/v1/identify"), found
    assert found[1].startswith("schemas: PersonOut"), found
