"""Process settings, read from `ZOETROPE_*` environment variables (one class, one place)."""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Where Zoetrope keeps its state and how it runs. Every field is `ZOETROPE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="ZOETROPE_", extra="ignore")

    data_dir: Path = Field(default=Path.home() / ".zoetrope", description="jobs database, blobs, keys")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    blob_url: str | None = Field(default=None, description="fsspec URL; default data_dir/blobs")
    s3_endpoint_url: str | None = None
    config_file: Path | None = Field(default=None, description="TOML of plans, prices, models")
    device: str = Field(
        default="auto", description="where the bundled model runs: auto (CUDA when present), cpu, cuda, cuda:N or mps",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=0, description="workers started by `serve` and `mcp` (in a child process)")
    moderation_process: bool = Field(
        default=True, description="`serve` reads new prompts for moderation in a child process, on another core"
    )
    lease_seconds: float = Field(default=30.0, ge=1.0, description="a worker's hold on a job, renewed by heartbeat")
    max_attempts: int = Field(default=3, ge=1)
    stop_grace_seconds: float | None = Field(
        default=None, ge=0,
        description="on SIGTERM a worker finishes its running jobs, for at most this long (default: however "
        "long they take); then it gives them back to the queue for another worker and exits",
    )
    webhook_secret: str | None = Field(default=None, description="whsec_... for signed webhooks")
    webhook_url: str | None = None
    # Webhooks go only to public addresses unless their network is listed here (e.g. "10.0.0.0/8").
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The address browsers (and links) reach this server at, e.g. https://studio.example.com: the
    # studio's sign-in forms from it are its own, behind a proxy that rewrites Host and sets no
    # X-Forwarded-Host; `zoetrope mcp`'s download links point at it.
    public_url: str | None = Field(default=None, description="the address browsers reach the server at")
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Upload limits for media the API and CLI read.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    max_pixels: int = Field(default=4096 * 4096, ge=1)
    max_frames: int = Field(default=2000, ge=1)

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        device = v.strip().lower()
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
            raise ValueError(
                f"{v!r} is not a device ZOETROPE_DEVICE takes; write auto (CUDA when present, else the CPU), cpu, "
                "cuda, cuda:N for the GPU numbered N (e.g. cuda:1) or mps"
            )
        return device

    @field_validator("webhook_allowed_networks", "cors_origins", mode="before")
    @classmethod
    def _list(cls, v: object) -> object:
        """A list variable as JSON (`["a", "b"]`) or as comma-separated words (`a,b`)."""
        if not isinstance(v, str):
            return v
        if v.lstrip().startswith("["):
            try:
                return json.loads(v)
            except ValueError:
                raise ValueError('not a JSON list; write ["a", "b"] or a,b') from None
        return [part.strip() for part in v.split(",") if part.strip()]

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not a network; write one like 10.0.0.0/8 or fd00::/8") from None
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        parts = urlsplit(v)
        try:
            parts.port  # noqa: B018  (raises for a port out of range)
        except ValueError:
            raise ValueError(f"{v!r} has a port out of range (1-65535)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{v!r} is not an http(s) URL; write the address browsers use, e.g. https://studio.example.com"
            )
        return v

    @field_validator("blob_url")
    @classmethod
    def _blob_url(cls, v: str | None) -> str | None:
        # Else a typo of a URL is a relative path: blobs go to a local folder named `s3:` or `s3`, on
        # each machine its own, and the start's probe passes there.
        scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):?//", v or "")
        if v and (v.lower().startswith("s3:") or (scheme and scheme[1].lower() == "s3")):
            parts = urlsplit(v)
            if not v.lower().startswith("s3://") or not parts.netloc:
                raise ValueError(f"{v!r} is not an S3 URL; write s3://BUCKET or s3://BUCKET/PREFIX")
            return "s3://" + v[len("s3://"):]  # S3:// as fsspec knows it
        if v and scheme and ":" not in scheme[0]:
            raise ValueError(f"{v!r} is a URL without its ':'; write {scheme[1]}://..., or a folder's path")
        return v

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'zoetrope.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or str(self.data_dir / "blobs")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# `ZOETROPE_*` variables read outside `Settings` (by backends, tests and child processes).
OTHER_VARIABLES = frozenset({
    "ZOETROPE_WEIGHTS_DIR", "ZOETROPE_INT8", "ZOETROPE_CPU_BF16", "ZOETROPE_API_KEY", "ZOETROPE_API_ACTIVITY",
    "ZOETROPE_WAKE_FD", "ZOETROPE_STUDIO_SECRET", "ZOETROPE_TEST_POSTGRES_URL", "ZOETROPE_FUZZ_EXAMPLES",
})  # fmt: skip


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """Each `ZOETROPE_*` variable in `environ` that nothing reads (a typo, most likely), with the
    known name closest to it (None when none is close)."""
    known = {f"ZOETROPE_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    suffixes = {name.removeprefix("ZOETROPE_"): name for name in known}  # the common prefix is no likeness
    unknown = []
    for name in sorted(environ):
        if name.startswith("ZOETROPE_") and name not in known:
            close = difflib.get_close_matches(name.removeprefix("ZOETROPE_"), suffixes, n=1, cutoff=0.7)
            unknown.append((name, suffixes[close[0]] if close else None))
    return unknown
