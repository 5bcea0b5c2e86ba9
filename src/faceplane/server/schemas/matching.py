"""Bodies of the correction and threshold routes (``routes/corrections.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...gallery.thresholds import MatchThreshold, ThresholdInfo
from ...services.matching import CorrectionView, ThresholdView
from .faces import CandidateOut

__all__ = ["CorrectionIn", "CorrectionOut", "MatchedTemplateOut", "ThresholdIn", "ThresholdOut"]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=500, description="why (kept with the correction and in the audit log)")


class MatchedTemplateOut(BaseModel):
    id: int
    quality: float | None = Field(description="0..1 at enrollment; null when enrolled from an embedding")
    thumbnail_url: str = Field(description="the enrolled face: remove the template if it is a bad photo")


class CorrectionOut(BaseModel):
    id: int
    person_id: int = Field(description="who the face is not")
    person_name: str
    collection: str
    source: str = Field(description="'event:<id>' (an alert) or 'photo' (an identification)")
    note: str
    created_at: float
    thumbnail_url: str = Field(description="the corrected face")
    template_id: int | None = Field(description="the person's template that made the false match")
    distance: float | None = Field(description="the face's distance to that template")
    template: MatchedTemplateOut | None = Field(description="that template, while it exists (null: removed)")
    now_named: CandidateOut | None = Field(
        None, description="who the corrected face is identified as right after the correction (null: nobody)"
    )

    @classmethod
    def of(cls, v: CorrectionView) -> CorrectionOut:
        c, t = v.correction, v.template
        return cls(
            id=c.id,
            person_id=c.person_id,
            person_name=v.person.display_name,
            collection=v.person.collection,
            source=c.source,
            note=c.note,
            created_at=c.created_at,
            thumbnail_url=f"/api/v1/corrections/{c.id}/thumbnail.jpg",
            template_id=c.template_id,
            distance=None if c.distance is None else round(c.distance, 4),
            template=MatchedTemplateOut(
                id=t.id, quality=t.quality, thumbnail_url=f"/api/v1/templates/{t.id}/thumbnail.jpg"
            ) if t is not None else None,
            now_named=CandidateOut.of(p) if v.after is not None and (p := v.after.person) else None,
        )


class ThresholdIn(BaseModel):
    """A collection's own threshold: a target FPIR or an explicit distance (both null: back to the default)."""

    model_config = ConfigDict(extra="forbid")

    fpir: float | None = Field(None, gt=0, lt=1, description="share of strangers that may be named (0.01: 1 in 100)")
    distance: float | None = Field(None, gt=0, le=2, description="an explicit embedding distance")

    @model_validator(mode="after")
    def _one(self) -> ThresholdIn:
        if self.fpir is not None and self.distance is not None:
            raise ValueError("give fpir or distance, not both")
        return self

    def setting(self) -> MatchThreshold | None:
        return None if self.fpir is None and self.distance is None else MatchThreshold(self.fpir, self.distance)


class ThresholdOut(BaseModel):
    scope: str = Field(description="default | collection | camera | preview")
    name: str | None = Field(description="the collection or camera")
    distance: float = Field(description="a match must be within this embedding distance")
    fpir: float = Field(description="expected share of strangers named (people x 1:1 FAR at the distance)")
    people: int = Field(description="people searched: the collection's, or everyone for the default and cameras")
    meaning: str = Field(description="e.g. 'about 1 in 100 strangers would be named'")
    beyond: str = Field(description="'' inside the calibrated range; 'below'/'above': fpir is a bound")
    source: str = Field(description="default | settings (the settings file) | api | camera | preview")
    setting_fpir: float | None = Field(description="the target FPIR set, if set so")
    setting_distance: float | None = Field(description="the explicit distance set, if set so")

    @classmethod
    def of(cls, info: ThresholdInfo, scope: str, name: str | None) -> ThresholdOut:
        return cls(
            scope=scope,
            name=name,
            distance=round(info.distance, 4),
            fpir=info.fpir,
            people=info.people,
            meaning=info.meaning,
            beyond=info.beyond,
            source=info.source,
            setting_fpir=info.setting.fpir if info.setting else None,
            setting_distance=info.setting.distance if info.setting else None,
        )

    @classmethod
    def of_view(cls, v: ThresholdView) -> ThresholdOut:
        return cls.of(v.info, v.scope, v.name)
