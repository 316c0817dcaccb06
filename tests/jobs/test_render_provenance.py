"""What a worker's output says of the files it was made from: every input kept, and that it is AI-made."""

from __future__ import annotations

import numpy as np

from zoetrope import media
from zoetrope.backends.base import Capabilities, GenerationRequest, no_progress
from zoetrope.jobs.models import Job
from zoetrope.jobs.render import render
from zoetrope.safety import read_provenance
from zoetrope.safety.provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
from zoetrope.storage import BlobStore


class _Grey:
    name = "grey-test"
    capabilities = Capabilities(
        tasks=("t2v", "i2v", "blend"), sizes=((64, 64),), max_seconds=10, fps=8, default_steps=1,
        depicts_people=False,
    )  # fmt: skip

    def generate(self, request: GenerationRequest, progress=no_progress):
        yield np.full((8, request.height, request.width, 3), 128, np.uint8)


def _job(task: str, **params) -> Job:
    return Job(
        id=f"video_{task}", prompt="a grey field", task=task, seconds="1", size="64x64", attempts=1,
        backend_model="grey-test",
        params={"native_width": 64, "native_height": 64, "new_seconds": 1.0, "watermark": False, **params},
    )  # fmt: skip


def test_a_blend_names_both_clips_and_an_animated_still_names_the_still(tmp_path):
    blobs = BlobStore(str(tmp_path / "blobs"))
    clip = media.encode_mp4(np.full((16, 64, 64, 3), 90, np.uint8), fps=8)
    blobs.put("videos/video_a/1/video.mp4", clip)
    blobs.put("videos/video_b/1/video.mp4", clip)
    blobs.put("inputs/video_t2v/reference", media.encode_png(np.full((64, 64, 3), 200, np.uint8)))
    jobs = {
        "blend": (_job("blend", source_key="videos/video_a/1/video.mp4", target_key="videos/video_b/1/video.mp4"),
                  [("source.mp4", "parentOf"), ("video_b.mp4", "componentOf")]),
        "t2v": (_job("t2v", reference_key="inputs/video_t2v/reference"), [("input_reference.png", "componentOf")]),
    }  # fmt: skip
    for task, (job, inputs) in jobs.items():
        outputs, _ = render(job, _Grey(), blobs, no_progress)
        out = tmp_path / f"{task}.mp4"
        out.write_bytes(blobs.get(outputs["video"]))
        report = read_provenance(out)
        assert (
            report.state == "trusted"
            and report.digital_source_type == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
        )
        assert [(i.title, i.relationship) for i in report.ingredients] == inputs, (task, report.ingredients)
