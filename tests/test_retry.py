"""The one retry helper: what is retried, how long it waits, what comes out at the end."""

from __future__ import annotations

import logging

import pytest

from recap.retry import backoff_delay, retry_call


class Flaky(Exception):
    pass


class Broken(Exception):
    pass


def failing(n: int, error: type[Exception] = Flaky):
    """A callable that raises ``error`` on its first ``n`` calls, then returns the call count."""
    calls = []

    def fn() -> int:
        calls.append(1)
        if len(calls) <= n:
            raise error(f"failure {len(calls)}")
        return len(calls)

    return fn, calls


def test_retries_with_a_doubling_backoff_then_returns_the_value():
    fn, calls = failing(3)
    waits: list[float] = []
    assert retry_call(fn, retries=3, backoff=0.5, retry_on=Flaky, sleep=waits.append) == 4
    assert waits == [0.5, 1.0, 2.0]
    assert len(calls) == 4


def test_the_last_error_comes_out_once_the_retries_are_spent():
    fn, calls = failing(10)
    waits: list[float] = []
    with pytest.raises(Flaky, match="failure 3"):
        retry_call(fn, retries=2, backoff=2.0, retry_on=Flaky, sleep=waits.append)
    assert waits == [2.0, 4.0] and len(calls) == 3


def test_other_errors_are_not_retried():
    fn, calls = failing(1, Broken)
    waits: list[float] = []
    with pytest.raises(Broken):
        retry_call(fn, retries=5, backoff=1.0, retry_on=(Flaky, KeyError), sleep=waits.append)
    assert waits == [] and len(calls) == 1


def test_no_retries_means_one_call():
    fn, calls = failing(1)
    with pytest.raises(Flaky):
        retry_call(fn, retries=0, backoff=1.0, retry_on=Flaky, sleep=pytest.fail)
    assert len(calls) == 1


def test_each_wait_is_logged_with_what_is_retried(caplog):
    fn, _ = failing(2)
    with caplog.at_level(logging.WARNING, logger="recap.retry"):
        retry_call(fn, retries=2, backoff=1.5, retry_on=Flaky, sleep=lambda s: None, what="x@y")
    assert [r.getMessage() for r in caplog.records] == [
        "x@y: failure 1; retry 1 of 2 in 1.5 s",
        "x@y: failure 2; retry 2 of 2 in 3.0 s",
    ]


@pytest.mark.parametrize(("retry", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0)])
def test_backoff_delay_doubles(retry, delay):
    assert backoff_delay(2.0, retry) == delay
