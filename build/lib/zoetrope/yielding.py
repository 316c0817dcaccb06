"""Points where long work on a thread may pause for something more urgent.

Generation and its release (the frame check, the encode, the signature) call `pause()` between
units of work. It does nothing unless the calling thread runs `with yielding_to(hook):`, as the
render thread of `serve`'s worker child does (`zoetrope.jobs.activity`): there the hook waits
while the API is answering requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


def pause() -> None:
    """Give way here if this thread was asked to (`yielding_to`); return at once otherwise."""
    hook = getattr(_local, "hook", None)
    if hook is not None:
        hook()


@contextmanager
def yielding_to(hook: Callable[[], None] | None) -> Iterator[None]:
    """Run the block with `hook` called at every `pause()` of this thread (None: no pauses)."""
    before = getattr(_local, "hook", None)
    _local.hook = hook
    try:
        yield
    finally:
        _local.hook = before
