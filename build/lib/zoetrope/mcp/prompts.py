"""The storyboard prompt: how an assistant turns an idea into timed prompt cards and videos."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer, UserMessage
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

_STORYBOARD = """\
Write a storyboard for a {seconds} s video about: {idea}

1. Split it into {shots} shots. For each, write a prompt card:
   - start: the second it starts (the first at 0; the last ends at {seconds})
   - prompt: one or two plain sentences of what is seen: subjects with colour, shape and size,
     where they are, how they move (direction, speed), the background, the camera (pan, zoom).
     Say it literally; the model follows what is visible, not mood or story.
   - keep every subject described the same way in every card, so they stay the same.
2. Show the cards as a table (start, seconds, prompt) and wait for approval.
3. Then make it: call generate_video with the first card's prompt and length, then extend_video
   on the result with each next card's prompt and length, so every shot continues the last.
   Use remix_video to redo a shot's look, get_video to follow a job, and share the final link.

Plan limits (the longest video a plan allows): {limits}. Ask for a shorter total if the caller's
plan would refuse it."""


def storyboard_messages(idea: str, seconds: int, shots: int, limits: str) -> list[UserMessage]:
    """The storyboard-writing instruction for `idea`, as one user message."""
    text = _STORYBOARD.format(idea=idea.strip(), seconds=seconds, shots=max(1, shots), limits=limits)
    return [UserMessage(text)]


def add_prompts(mcp: MCPServer, limits: str) -> None:
    """Register the `storyboard` prompt; `limits` names each plan's longest video."""

    @mcp.prompt()
    def storyboard(
        idea: Annotated[str, Field(description="What the video is about.")],
        seconds: Annotated[str, Field(description="Total length in seconds, 1..60.")] = "12",
        shots: Annotated[str, Field(description="Number of shots (prompt cards), 1..12.")] = "3",
    ):
        """Write a storyboard: timed prompt cards, then generate and chain them with the tools."""
        # Prompt arguments arrive as text; checked here so a bad one is named (the SDK would
        # answer any exception with "Error rendering prompt" alone).
        return storyboard_messages(
            idea, _whole("seconds", seconds, 1, 60), _whole("shots", shots, 1, 12), limits
        )


def _whole(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise MCPError(INVALID_PARAMS, f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return number
