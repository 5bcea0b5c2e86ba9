"""The face models: which ones this server runs, and the licence and training data of each."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import ServicesDep, Viewer
from ..schemas import ModelsOut

router = APIRouter(tags=["models"])


@router.get("/models", response_model=ModelsOut, summary="Models in use and installable, with provenance")
def list_models(who: Viewer, services: ServicesDep) -> ModelsOut:
    return ModelsOut.of(services.models())
