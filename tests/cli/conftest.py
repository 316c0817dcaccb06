"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest

from zoetrope.backends.bundled import write_tiny_random_weights


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """Tiny random weights, which the commands of a module load (`ZOETROPE_WEIGHTS_DIR`) instead of
    the bundled model: a module that wants them says `pytestmark = pytest.mark.usefixtures("tiny_weights")`."""
    path = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOETROPE_WEIGHTS_DIR", str(path))
        yield path
