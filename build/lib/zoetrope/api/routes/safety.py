"""`POST /v1/moderations` and `POST /v1/content_provenance_checks`, in OpenAI's shapes."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services, principal, services
from zoetrope.db import transaction
from zoetrope.errors import InvalidMedia, InvalidRequest
from zoetrope.jobs import moderation
from zoetrope.jobs.store import generation_record
from zoetrope.media.sources import sniff
from zoetrope.safety import to_openai, verify
from zoetrope.settings import get_settings

router = APIRouter(tags=["safety"])


class ModerationRequest(BaseModel):
    input: str | list[str]
    model: str | None = None


@router.post("/v1/moderations")
async def create_moderation(req: ModerationRequest, _: Principal = Depends(principal)) -> dict:
    """Classify text against the prompt policy (the check that gates video creation)."""
    texts = [req.input] if isinstance(req.input, str) else req.input
    if not texts or len(texts) > 32:
        raise InvalidRequest("input must hold 1 to 32 texts", param="input")
    results = await run_in_threadpool(moderation.check, texts)
    return to_openai(results)


@router.post("/v1/content_provenance_checks")
async def create_content_provenance_check(
    file: UploadFile = File(...), who: Principal = Depends(principal), svc: Services = Depends(services)
) -> dict:
    """C2PA state and invisible watermark of an uploaded MP4 or image (the `verify` command), and
    the generation record they name when it is the caller's own."""

    def lookup(key: str) -> dict | None:
        with transaction(svc.engine) as s:
            return generation_record(s, key, account_id=who.account_id)

    data = await file.read(get_settings().max_upload_bytes + 1)
    if len(data) > get_settings().max_upload_bytes:
        raise InvalidMedia("file is over the upload limit", param="file")
    fmt = sniff(data[:16])
    if fmt is None:
        raise InvalidMedia("file is not an MP4, PNG, JPEG or WebP", param="file")
    with tempfile.TemporaryDirectory(prefix="zoetrope-verify-") as tmp:
        path = Path(tmp) / f"upload.{ {'jpeg': 'jpg'}.get(fmt, fmt) }"
        path.write_bytes(data)
        report = await run_in_threadpool(verify, path, lookup)
    c, w = report.c2pa, report.watermark
    return {
        "object": "content_provenance_check",
        "created_at": int(time.time()),
        "results": [
            {
                "type": "c2pa",
                "outcome": "detected" if c.valid and c.issuer == "Zoetrope" else "not_detected",
                "validation_state": c.state,
                "issuer": c.issuer,
                "model": c.model,
                "generated_at": c.signed_at,
            }
        ],
        # Not in OpenAI's shape (which has SynthID instead): our own watermark, as `zoetrope verify`.
        "watermark": w.to_json(),
        "c2pa": c.to_json(),
        "record": report.record,
    }
