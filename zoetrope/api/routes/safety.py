"""`POST /v1/moderations` and `POST /v1/content_provenance_checks`, in OpenAI's shapes."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.schemas import Moderation, ProvenanceCheck
from zoetrope.db import transaction
from zoetrope.errors import ConfigError, InvalidMedia, InvalidRequest
from zoetrope.jobs import moderation
from zoetrope.jobs.store import generation_record
from zoetrope.media.sources import SUPPORTED, is_heif, sniff
from zoetrope.safety import to_openai, verify
from zoetrope.safety.moderation import MODEL_NAME
from zoetrope.settings import get_settings

router = APIRouter(tags=["safety"])
log = logging.getLogger(__name__)


class UploadTooLarge(InvalidMedia):
    status = 413
    code = "request_too_large"


class TextInput(BaseModel):
    """One text part, as the `openai` client sends a multimodal input: `{"type": "text", "text": ...}`."""

    type: Literal["text"]
    text: str


class ImageInput(BaseModel):
    type: Literal["image_url"]
    image_url: dict


class ModerationRequest(BaseModel):
    input: str | list[str | TextInput | ImageInput]
    model: str | None = None


MAX_MODERATION_ITEMS = 32
MAX_MODERATION_CHARS = 32_000  # every word is read: about 4 s of the shared reader on 2 cores
MODERATION_MODELS = ("omni-moderation-", "text-moderation-")  # read as MODEL_NAME


@router.post("/v1/moderations", response_model=Moderation)
async def create_moderation(req: ModerationRequest, _: Principal = Depends(principal)) -> dict:
    """Classify text against the prompt policy (the check that gates video creation)."""
    if req.model not in (None, MODEL_NAME) and not req.model.startswith(MODERATION_MODELS):
        raise InvalidRequest(f"unknown moderation model {req.model!r}: use {MODEL_NAME} (omni-moderation-* and "
                             "text-moderation-* names are read as it), or leave model out", param="model")
    items = [req.input] if isinstance(req.input, str) else req.input
    if not items or len(items) > MAX_MODERATION_ITEMS:
        raise InvalidRequest(f"input must hold 1 to {MAX_MODERATION_ITEMS} texts", param="input")
    parts = [isinstance(item, TextInput | ImageInput) for item in items]
    if any(parts) and not all(parts):
        raise InvalidRequest("input is a list of strings (one result each) or of {type, ...} parts (one input, "
                             "one result), not both", param="input")
    for i, item in enumerate(items):
        if isinstance(item, ImageInput):
            raise InvalidRequest("image input is not moderated here: send text", param=f"input[{i}]")
    # Parts are pieces of one input, as OpenAI reads them: their text is judged together.
    texts = ["\n".join(item.text for item in items)] if all(parts) else list(items)
    if (total := sum(len(t) for t in texts)) > MAX_MODERATION_CHARS:
        raise InvalidRequest(f"input is {total:,} characters in all; the limit is {MAX_MODERATION_CHARS:,}: "
                             "send it in parts", param="input")
    results = await run_in_threadpool(moderation.check, texts)
    return to_openai(results, texts=texts)


@router.post("/v1/content_provenance_checks", response_model=ProvenanceCheck)
async def create_content_provenance_check(
    request: Request,
    file: UploadFile | str = File(..., description="the MP4, PNG, JPEG or WebP file to check"),
    who: Principal = Depends(principal),
    svc: Services = Depends(services),
) -> dict:
    """C2PA state and invisible watermark of an uploaded MP4 or image (the `verify` command), and
    the generation record they name when it is the caller's own."""

    def lookup(key: str) -> dict | None:
        with transaction(svc.engine) as s:
            return generation_record(s, key, account_id=who.account_id)

    if isinstance(file, str):
        raise InvalidRequest("file must be a file upload (a multipart part with a filename), not text", param="file")
    if len((await request.form()).getlist("file")) > 1:
        raise InvalidRequest("send one file to check, not several", param="file")
    limit = get_settings().max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"file is over the upload limit of {limit:,} bytes", param="file")
    if not data:
        raise InvalidMedia("file is empty", param="file")
    fmt = sniff(data[:16])
    if fmt is None:
        if is_heif(data[:16]):
            raise InvalidMedia(f"file is a HEIC or AVIF picture, which is not supported: send an {SUPPORTED} file "
                               "(the formats this server's videos and pictures are made in)", param="file")
        raise InvalidMedia(f"file is not an {SUPPORTED} file: send the video or picture itself, as {SUPPORTED}",
                           param="file")
    with tempfile.TemporaryDirectory(prefix="zoetrope-verify-") as tmp:
        path = Path(tmp) / f"upload.{ {'jpeg': 'jpg'}.get(fmt, fmt) }"
        path.write_bytes(data)
        try:
            report = await run_in_threadpool(verify, path, lookup)
        except InvalidMedia as e:  # about the caller's file, not the name it had here
            raise InvalidMedia(e.message.replace(path.name, "the file"), param="file") from None
        except ConfigError as e:  # the operator's to fix, and the message names this server's paths
            log.error("content provenance check: %s", e.message)
            raise ConfigError("this server's signing files are misconfigured; its log says how") from None
    c = report.c2pa
    return {
        "object": "content_provenance_check",
        "created_at": int(time.time()),
        "results": [
            {
                "type": "c2pa",
                # Signed under this server's root, and nothing in the file contradicts it (the
                # watermark, a source it was made from); anyone else's manifest is not ours.
                "outcome": "detected" if c.state == "trusted" and not report.problems else "not_detected",
                "validation_state": c.state,
                "issuer": c.issuer,
                "model": c.model,
                "generated_at": c.signed_at,
            }
        ],
        # Not in OpenAI's shape (which has SynthID instead): our own report, as `zoetrope verify --json`.
        **report.to_json(),
    }
