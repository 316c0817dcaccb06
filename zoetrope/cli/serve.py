"""`zoetrope serve`: the API and studio in one process."""

from __future__ import annotations

import typer

from zoetrope.cli import app
from zoetrope.settings import get_settings


@app.command()
def serve(
    host: str = typer.Option(None, help="interface to bind (default ZOETROPE_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default ZOETROPE_PORT or 8000)"),
) -> None:
    """Run the API and studio."""
    import uvicorn
    from fastapi import FastAPI

    s = get_settings()
    web = FastAPI(title="Zoetrope")

    @web.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    uvicorn.run(web, host=host or s.host, port=port or s.port)
