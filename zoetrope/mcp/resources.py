"""Resources: the caller's recent videos, listed per caller, and each video as JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, ListResourcesResult, PaginatedRequestParams, Resource

from zoetrope.errors import AuthenticationFailed, NotFound, ZoetropeError
from zoetrope.mcp import videos
from zoetrope.mcp.videos import Caller

RECENT = 20  # videos in the `recent` resource and in resources/list


def add_resources(mcp: MCPServer, resolve: Callable[[Context], Awaitable[Caller]]) -> None:
    """Register `zoetrope://videos/recent`, `zoetrope://videos/{video_id}` and a per-caller listing."""

    @mcp.resource("zoetrope://videos/{video_id}", mime_type="application/json")
    async def video_resource(video_id: str, ctx: Context) -> str:
        """One of your videos with its download links; `zoetrope://videos/recent` lists your latest 20."""
        try:
            caller = await resolve(ctx)
            if video_id == "recent":
                return json.dumps(await videos.list_recent(caller, limit=RECENT))
            return json.dumps(videos.describe(caller, await videos.get(caller, video_id)))
        except NotFound as e:  # another account's id reads the same as one that never existed
            raise ResourceNotFoundError(e.message) from None
        except ZoetropeError as e:
            raise rpc_error(e) from None

    async def list_resources(rctx, params: PaginatedRequestParams) -> ListResourcesResult:
        # The listing is the caller's own videos, so it is built per request, not registered once.
        try:
            caller = await resolve(Context(request_context=rctx, mcp_server=mcp))
            page = await videos.list_recent(caller, limit=RECENT)
        except ZoetropeError as e:
            raise rpc_error(e) from None
        recent = Resource(
            uri="zoetrope://videos/recent",
            name="recent",
            title="Your recent videos",
            description=f"Your {RECENT} most recent videos and images, newest first.",
            mime_type="application/json",
        )
        return ListResourcesResult(
            resources=[recent]
            + [
                Resource(
                    uri=f"zoetrope://videos/{v['id']}",
                    name=v["id"],
                    title=(v["prompt"] or "")[:80],
                    description=f"{v['status']}, {v['seconds']} s, {v['size']}",
                    mime_type="application/json",
                )
                for v in page["data"]
            ]
        )

    mcp._lowlevel_server.add_request_handler("resources/list", PaginatedRequestParams, list_resources)


UNAUTHORIZED = -32001  # a JSON-RPC server error code: the API key is missing, unknown or revoked


def rpc_error(e: ZoetropeError) -> MCPError:
    """A refusal outside a tool call as a JSON-RPC error: -32001 for the key, -32603 for the server's
    own trouble (the database away for a moment), -32602 for the request; the message keeps the code."""
    if isinstance(e, AuthenticationFailed):
        code = UNAUTHORIZED
    else:
        code = INTERNAL_ERROR if e.status >= 500 else INVALID_PARAMS
    return MCPError(code, f"{e.code}: {e.message}")
