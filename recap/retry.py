"""The one retry helper: call again after a failure worth retrying, waiting longer each time.

Every retry loop in recap goes through ``retry_call`` (tenacity underneath): email
delivery (delivery/batch.py), Yahoo's bars and earnings (sources/yahoo.py). The backoff
is the same everywhere: ``backoff``, then twice that, then four times... before
try 2, 3, 4... The sleep is a parameter, so tests run the waits without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

logger = logging.getLogger(__name__)

T = TypeVar("T")


def backoff_delay(backoff: float, retry: int) -> float:
    """The wait before retry number ``retry`` (1-based): ``backoff * 2 ** (retry - 1)``."""
    return backoff * 2.0 ** (retry - 1)


def retry_call(
    fn: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
    what: str = "",
) -> T:
    """``fn()``; after an error of a ``retry_on`` type, up to ``retries`` more calls.

    Waits ``backoff_delay(backoff, n)`` before retry n. Any other error, or the last
    retryable one once the retries are spent, is raised as it came. ``what`` names the
    work in the warning logged before each wait.
    """

    def warn(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s: %s; retry %d of %d in %.1f s",
            what or getattr(fn, "__name__", "call"),
            error,
            state.attempt_number,
            retries,
            wait,
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(0, retries) + 1),
        wait=lambda state: backoff_delay(backoff, state.attempt_number),
        retry=tenacity.retry_if_exception_type(retry_on),
        sleep=sleep,
        before_sleep=warn,
        reraise=True,
    )
    return retrying(fn)


__all__ = ["backoff_delay", "retry_call"]
