"""A refusal while listing or reading resources is a JSON-RPC error with a code the client can act on
(the key refused, the server's trouble), not code 0 or an internal error."""

from __future__ import annotations

import anyio
import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

from zoetrope.errors import AuthenticationFailed
from zoetrope.mcp import build_server
from zoetrope.mcp.videos import DatabaseUnavailable

UNAUTHORIZED = -32001  # the server error code for a missing, unknown or revoked key


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (AuthenticationFailed("API key zk-abc... (default) was revoked"), UNAUTHORIZED),
        (
            DatabaseUnavailable("the database is unavailable for a moment; call again in a few seconds"),
            -32603,
        ),
    ],
)
def test_a_refused_caller_gets_a_coded_error_from_resources(refusal, code):
    async def resolve(ctx):  # the key revoked, or the database away, since the session began
        raise refusal

    async def go():
        errors = []
        async with Client(build_server(resolve)) as client:
            for call in (client.list_resources, lambda: client.read_resource("zoetrope://videos/recent")):
                with pytest.raises(MCPError) as caught:
                    await call()
                errors.append(caught.value.error)
        return errors

    for error in anyio.run(go):
        assert error.code == code and refusal.message in error.message, error
