"""Bodies of the model route (``routes/models.py``): the models in use and the ones installable."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...models.store import ModelInfo
from ...services import ModelsInUse

__all__ = ["ModelOut", "ModelsOut"]


class ModelOut(BaseModel):
    name: str
    kind: str = Field(description="embedder, detector or built-in (ships with faceplane's own dependencies)")
    installed: bool
    source: str = Field(description="the registry package the weights come from, pinned by version and hash")
    licence: str
    training_data: str = Field(description="what is known of the data the model was trained on")
    commercial_use: str

    @classmethod
    def of(cls, m: ModelInfo) -> ModelOut:
        return cls(**m.__dict__)


class ModelsOut(BaseModel):
    embedder: str = Field(description="name@version of the gallery's embeddings (every template records it)")
    detector: str = Field(description="face detector of the cameras")
    models: list[ModelOut]

    @classmethod
    def of(cls, m: ModelsInUse) -> ModelsOut:
        return cls(embedder=m.embedder, detector=m.detector, models=[ModelOut.of(x) for x in m.models])
