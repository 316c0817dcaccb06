"""`zoetrope.yielding`: pause points that call a thread's hook, and nothing elsewhere."""

from __future__ import annotations

import threading

from zoetrope.yielding import pause, yielding_to


def test_pause_calls_this_thread_s_hook_only_inside_the_block():
    calls = []
    pause()  # no hook: nothing happens
    with yielding_to(lambda: calls.append("outer")):
        pause()
        with yielding_to(lambda: calls.append("inner")):
            pause()
        pause()  # the outer hook is back
        seen_elsewhere = []
        other = threading.Thread(target=lambda: (pause(), seen_elsewhere.append(True)))
        other.start()
        other.join()
    pause()
    assert calls == ["outer", "inner", "outer"]  # the other thread's pause called no hook
    assert seen_elsewhere == [True]


def test_no_hook_means_no_pauses():
    with yielding_to(None):
        pause()
