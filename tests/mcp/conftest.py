"""The live `zoetrope serve` (tiny random weights, alice on pro, bob on plus) the MCP tests call."""

from __future__ import annotations

import pytest

from tests.mcp.live import Server, serving


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    with serving(tmp_path_factory.mktemp("serve"), weights) as live:
        yield live
