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
