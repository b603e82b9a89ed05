"""A hook for tests that kill a real `recap` process at a dangerous moment of a write.

With RECAP_TEST_PAUSE_AT=<point> in the environment, the process prints "paused at
<point>" on stderr when it reaches that point and sleeps, so a test can kill -9 it
exactly there. The points: "output-staged", "output-swap" (output.py), "publish-staged"
and "publish-commit" (delivery/blog.py). Unset, as in real use, it does nothing.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "RECAP_TEST_PAUSE_AT"
PAUSE_SECONDS = 120.0


def pause_at(point: str) -> None:
    """Sleep at ``point`` when RECAP_TEST_PAUSE_AT names it (tests only)."""
    if os.environ.get(ENV) != point:
        return
    sys.stderr.write(f"paused at {point}\n")
    sys.stderr.flush()
    time.sleep(PAUSE_SECONDS)
