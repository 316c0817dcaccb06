"""Process settings, read from `ZOETROPE_*` environment variables (one class, one place)."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

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
        default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
        description="where the bundled model runs: auto (CUDA when present), cpu, cuda, cuda:N or mps",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=0, description="workers started by `serve` and `mcp` (in a child process)")
    moderation_process: bool = Field(
        default=True, description="`serve` reads new prompts for moderation in a child process, on another core"
    )
    lease_seconds: float = Field(default=30.0, ge=1.0, description="a worker's hold on a job, renewed by heartbeat")
    max_attempts: int = Field(default=3, ge=1)
    webhook_secret: str | None = Field(default=None, description="whsec_... for signed webhooks")
    webhook_url: str | None = None
    # Webhooks go only to public addresses unless their network is listed here (e.g. "10.0.0.0/8").
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Upload limits for media the API and CLI read.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    max_pixels: int = Field(default=4096 * 4096, ge=1)
    max_frames: int = Field(default=2000, ge=1)

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
