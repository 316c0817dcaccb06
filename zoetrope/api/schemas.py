"""Response shapes, exactly as OpenAI's API returns them (the `openai` client parses these)."""

from __future__ import annotations

from typing import Literal

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import Row

from zoetrope.jobs.models import Job


def respond(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """`model` as the JSON response, serialised once. A route that returns the model itself has
    FastAPI validate it against `response_model` a second time; the route keeps `response_model`
    for the OpenAPI schema."""
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)


class VideoError(BaseModel):
    code: str
    message: str


class Video(BaseModel):
    id: str
    object: Literal["video"] = "video"
    created_at: int
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int
    model: str
    prompt: str | None
    seconds: str
    size: str
    completed_at: int | None = None
    expires_at: int | None = None
    error: VideoError | None = None
    remixed_from_video_id: str | None = None
    # Ours: e.g. {"generated_size": "72x128", "resized": "true"} when the backend's native size differs.
    metadata: dict[str, str] = {}

    @classmethod
    def of(cls, job: Job | Row) -> Video:
        """The video object of a job (or of a row of `store.VIDEO_COLUMNS`)."""
        return cls(
            id=job.id,
            created_at=int(job.created_at),
            status=job.status,  # type: ignore[arg-type]
            progress=job.progress,
            model=job.model,
            prompt=job.prompt,
            seconds=job.seconds,
            size=job.size,
            completed_at=int(job.completed_at) if job.completed_at else None,
            expires_at=int(job.expires_at) if job.expires_at else None,
            error=VideoError(**job.error) if job.error else None,
            remixed_from_video_id=job.remixed_from_video_id,
            metadata={k: str(v) for k, v in (job.details or {}).items()},
        )


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool = True


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "zoetrope"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class ImageData(BaseModel):
    b64_json: str
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
    output_format: str = "png"
    size: str | None = None  # WIDTHxHEIGHT of the images


class VideoQuote(BaseModel):
    """What a create would cost (`Zoetrope-Quote: true`): nothing is queued or charged."""

    object: Literal["video.quote"] = "video.quote"
    model: str
    size: str
    seconds: str
    credits: int
    points: int
    lane: Literal["fast", "relaxed"]


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]


class Moderation(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


class C2paResult(BaseModel):
    type: Literal["c2pa"] = "c2pa"
    outcome: Literal["detected", "not_detected"]
    validation_state: str
    issuer: str | None
    model: str | None
    generated_at: str | None


class Watermark(BaseModel):
    found: bool
    payload: str | None
    confidence: float
    # False: it names another generation than the manifest; None: there is nothing to compare.
    matches_manifest: bool | None


class Ingredient(BaseModel):
    """A file the checked one was made from, as its manifest recorded it (depth 1: its own source)."""

    title: str | None
    relationship: str
    state: str  # trusted, valid, invalid or not_present
    failures: list[str]
    impersonates: bool
    depth: int


class C2paManifest(BaseModel):
    """The file's C2PA manifest as `zoetrope verify --json` reads it."""

    valid: bool
    impersonates: bool
    state: str  # trusted, valid, invalid or not_present
    issuer: str | None
    common_name: str | None
    actions: list[str]
    digital_source_type: str | None
    generation_id: str | None
    model: str | None
    generator: str | None
    signed_at: str | None
    parent: str | None
    failures: list[str]
    claims_zoetrope: bool
    ingredients: list[Ingredient]


class GenerationRecord(BaseModel):
    """The caller's own video that a manifest or a watermark names."""

    id: str
    object: Literal["video"] = "video"
    status: str
    model: str
    prompt: str | None
    size: str
    seconds: str
    created_at: int
    completed_at: int | None
    remixed_from_video_id: str | None
    watermark_payload: str | None


class ProvenanceCheck(BaseModel):
    object: Literal["content_provenance_check"] = "content_provenance_check"
    created_at: int
    results: list[C2paResult]
    watermark: Watermark  # ours, beside OpenAI's shape (which has SynthID instead)
    c2pa: C2paManifest
    record: GenerationRecord | None
    record_found_by: Literal["manifest", "watermark"] | None
    problems: list[str]  # why the file does not check out; `outcome` is not_detected when there is any
    notes: list[str]  # what the report cannot vouch for (a record found through the watermark alone)
