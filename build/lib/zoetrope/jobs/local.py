"""Generations made on this machine without the API (`zoetrope generate`), recorded like API ones.

The file goes to the blob store and a completed job to the local database, under the account
`local` (the one `zoetrope serve` creates on first run), so the studio's library lists it and
`zoetrope verify` finds its record from the C2PA manifest or the watermark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoetrope import media
from zoetrope.db import engine_for, transaction
from zoetrope.jobs import store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import COMPLETED, Job, now
from zoetrope.safety import payload_for
from zoetrope.settings import Settings, get_settings
from zoetrope.storage import blob_store_for

LOCAL_ACCOUNT = "local"


def record_generation(
    job_id: str,
    path: Path,
    frames: np.ndarray,
    *,
    prompt: str,
    model: str,
    task: str,
    seconds: float,
    fps: float,
    settings: Settings | None = None,
) -> Job:
    """Store the finished file at `path` (and its previews) and a completed job for it."""
    from zoetrope.access.accounts import create_account, find_account

    settings = settings or get_settings()
    blobs = blob_store_for(settings.resolved_blob_url, settings.s3_endpoint_url)
    prefix = f"videos/{job_id}/1"
    variant = "image" if path.suffix.lower() == ".png" else "video"
    outputs = {variant: f"{prefix}/{variant}{path.suffix.lower()}"}
    blobs.put(outputs[variant], path.read_bytes())
    blobs.put(
        outputs.setdefault("thumbnail", f"{prefix}/thumbnail.webp"), media.thumbnail(frames, format="webp")
    )
    blobs.put(
        outputs.setdefault("spritesheet", f"{prefix}/spritesheet.jpg"),
        media.spritesheet(frames).encode("jpeg"),
    )
    height, width = frames.shape[1:3]
    engine = engine_for(settings.resolved_database_url)
    try:
        upgrade(engine)
        with transaction(engine, immediate=True) as s:
            account = find_account(s, LOCAL_ACCOUNT) or create_account(s, LOCAL_ACCOUNT, plan="pro")
            t = now()
            return store.add_job(
                s,
                Job(
                    id=job_id,
                    account_id=account.id,
                    status=COMPLETED,
                    progress=100,
                    model=model,
                    backend_model=model,
                    prompt=prompt,
                    seconds=f"{round(seconds, 3):g}",
                    size=f"{width}x{height}",
                    task=task,
                    params={"source": "cli"},
                    details={"frames": str(len(frames)), "fps": f"{fps:g}"},
                    outputs=outputs,
                    completed_at=t,
                    watermark_payload=payload_for(job_id).hex(),
                ),
            )
    finally:
        engine.dispose()


def local_record_lookup(settings: Settings | None = None):
    """A `verify` record lookup over the local database (every record: it is the user's own),
    or None when this machine has no database yet."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return None
    engine = engine_for(url)
    upgrade(engine)  # a database from an older version gains the watermark column

    def lookup(key: str) -> dict | None:
        with transaction(engine) as s:
            return store.generation_record(s, key, account_id=None)

    return lookup
