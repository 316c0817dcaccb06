"""The MCP server over stdio, for assistants that launch `zoetrope mcp` themselves.

The process authenticates once with the API key it is given and acts as that key's account;
it uses the same database and blob store as `zoetrope serve` (the same data dir or URLs)."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from zoetrope.api.deps import Services, new_principal_cache
from zoetrope.jobs.runtime import Runtime
from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller


async def _serve(runtime: Runtime, token: str, public_url: str | None) -> None:
    svc = Services(runtime.engine, runtime.registry, runtime.blobs, runtime.policy)
    principals = new_principal_cache()
    principals.get(svc.engine, token)  # a bad key fails here, before the assistant connects

    async def resolve(ctx: Context) -> Caller:
        # Looked up again (cached for seconds), so a revoked key stops working mid-session too.
        return Caller(svc, principals.get(svc.engine, token), public_url)

    await build_server(resolve).run_stdio_async()


def run_stdio(runtime: Runtime, token: str, public_url: str | None) -> None:
    """Serve MCP on stdin/stdout as the account of `token` until the client hangs up."""
    import anyio

    anyio.run(_serve, runtime, token, public_url)
