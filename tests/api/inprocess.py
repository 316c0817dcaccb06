"""The whole app in process over SQLite, with no worker: an account on each plan, finished videos
made as rows, and a model that makes landscape only. What the create checks are driven against."""

from __future__ import annotations

from importlib import resources

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.access.models import Charge
from zoetrope.api.app import create_app
from zoetrope.api.deps import Services
from zoetrope.api.routes import images
from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress
from zoetrope.backends.registry import Registry
from zoetrope.config import get_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore

FPS = 8  # the bundled model's
PLANS = ("pro", "plus", "bing-free", "studio")
# A plan with no length limit of its own, whose accounts meet the model's limit (60 s) alone, and a
# model with no portrait or square size.
EXTRA_CONFIG = """
[plans.studio]
channel = "studio"
video = true
images = "unlimited"
concurrent_jobs = 5

[[models]]
name = "zoetrope-wide"
backend = "tests.api.inprocess:LandscapeBackend"
"""


class LandscapeBackend:
    name = "zoetrope-wide"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            tasks=("t2v", "t2i"), sizes=((112, 64),), max_seconds=20, fps=FPS, default_steps=1
        )

    def generate(self, request: GenerationRequest, progress: Progress = no_progress):
        yield np.zeros((1, request.height, request.width, 3), np.uint8)


class InProcess:
    def __init__(self, tmp_path, monkeypatch, env: dict[str, str] | None = None) -> None:
        config = tmp_path / "zoetrope.toml"
        config.write_text(
            resources.files("zoetrope.config").joinpath("defaults.toml").read_text() + EXTRA_CONFIG
        )
        monkeypatch.setenv("ZOETROPE_CONFIG_FILE", str(config))
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        # No worker here: an image queued is not waited on long.
        monkeypatch.setattr(images, "WAIT_SECONDS", 2.0)
        get_settings.cache_clear()
        get_config.cache_clear()
        self.engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        upgrade(self.engine)
        self.app = create_app(
            Services(
                self.engine,
                Registry(get_config()),
                BlobStore(str(tmp_path / "blobs")),
                dispatch.DispatchPolicy(),
            )
        )
        self.http = TestClient(self.app)
        self.accounts: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        with transaction(self.engine, immediate=True) as s:
            for plan in PLANS:
                account = open_account(s, plan, plan=plan)
                self.accounts[plan], self.tokens[plan] = account.id, create_key(s, account.id)[1]
            ledger.grant(s, self.accounts["studio"], 1000)  # its plan grants none

    def post(self, path: str, plan: str = "pro", *, quote: bool = False, headers: dict | None = None, **kw):
        extra = {"Zoetrope-Quote": "true"} if quote else {}
        auth = {"Authorization": f"Bearer {self.tokens[plan]}"}
        return self.http.post(f"/v1{path}", headers={**auth, **extra, **(headers or {})}, **kw)

    def video(self, seconds: float, plan: str = "pro", size: str = "64x64") -> str:
        """The id of a finished video of `plan`'s account that lasts `seconds`."""
        with transaction(self.engine, immediate=True) as s:
            job = Job(account_id=self.accounts[plan], model="zoetrope-mini", backend_model="zoetrope-mini",
                      prompt="a ball rolls", seconds=f"{seconds:g}", size=size, status="completed",
                      outputs={"video": "videos/none/1/video.mp4"}, details={"frames": round(seconds * FPS)})  # fmt: skip
            return store.add_job(s, job).id

    def stored(self, plan: str = "pro") -> tuple[int, int]:
        """The account's jobs and charges."""
        account_id = self.accounts[plan]
        with transaction(self.engine) as s:
            jobs = s.scalar(select(func.count()).select_from(Job).where(Job.account_id == account_id))
            charges = s.scalar(
                select(func.count()).select_from(Charge).where(Charge.account_id == account_id)
            )
            return jobs, charges

    def charge(self, video_id: str) -> Charge:
        with transaction(self.engine) as s:
            charge = s.scalar(select(Charge).where(Charge.job_id == video_id))
            s.expunge_all()
        return charge
