"""Chat integration: an MCP server with generation tools, over stdio and streamable HTTP."""

from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller

__all__ = ["Caller", "build_server"]
