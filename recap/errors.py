"""Errors raised by recap. Only ``cli.py`` turns them into messages and exit codes.

RecapError
 +-- ConfigError          a config file or value is wrong
 +-- DataError            market data is missing, malformed or unusable
 |    +-- SourceError     a data source could not be read or reached
 |    |    +-- RateLimited Yahoo Finance said "too many requests": try again after a wait
 |    +-- StaleDataError  no close for the last trading day of the week
 |    |    +-- ShortWeekError       the indexes' closes stop before the week's last session
 |    |    +-- IncompleteWeekError  the week's last session is not in the data yet: retry later
 |    +-- PriceCheckError a series the report leads with failed the price checks
 |    +-- StoreError      the local store cannot be used, or a write would make it lie
 +-- WeekError            the requested week cannot be reported
 +-- RenderError          a report could not be rendered or failed its checks
 +-- OutputError          the week's output folder could not be written
 +-- DeliveryError        email or blog delivery failed or was refused
 |    +-- SendFailure     one message was not delivered (delivery/batch.py files it):
 |         +-- Transient       a 4xx, or the connection lost before DATA: try again
 |         +-- Permanent       a 5xx to RCPT (the address) or to DATA (the message)
 |         +-- OutcomeUnknown  the connection lost after DATA: the server may have it
 |         +-- Unreachable     no SMTP session could be opened
 |         +-- Unrecorded      delivered (250), but the send log could not record it
 +-- LockError            another run holds the lock
"""

from __future__ import annotations


class RecapError(Exception):
    """Base class of every error recap raises on purpose."""


class ConfigError(RecapError):
    """A config file or value is wrong: names the file, the key and what was expected."""


class DataError(RecapError):
    """Market data is missing, malformed or unusable."""


class SourceError(DataError):
    """A data source could not be read or reached."""

    def __init__(self, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


class RateLimited(SourceError):
    """Yahoo Finance said "too many requests": worth another try after a wait."""


class StaleDataError(DataError):
    """No close for the last trading day of the week."""


class ShortWeekError(StaleDataError):
    """The indexes' closes stop before the week's last session (``last``: the last
    session they all hold); the pipeline reports the week through it, or waits."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


class IncompleteWeekError(StaleDataError):
    """The week's last session is not in the data yet, soon after its close: try again
    later (the command exits with EXIT_RETRY, so a timer or cron job can retry)."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): a temporary failure, try again


class PriceCheckError(DataError):
    """A series the report leads with (an index or its ETF) failed the price checks."""

    def __init__(self, message: str, flags: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.flags = flags


class StoreError(DataError):
    """The local store cannot be used, or a write would make it claim data it lacks."""


class WeekError(RecapError):
    """The requested week cannot be reported (future, or no sessions in the data)."""


class RenderError(RecapError):
    """A report could not be rendered, or its prose failed the consistency check."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class OutputError(RecapError):
    """The week's output folder could not be written."""


class DeliveryError(RecapError):
    """Email or blog delivery failed or was refused."""


class SendFailure(DeliveryError):
    """One message was not delivered; the batch files it for its recipient and goes on."""


class Transient(SendFailure):
    """A 4xx reply or a connection lost before DATA: worth another try."""


class Permanent(SendFailure):
    """A 5xx reply; ``stage`` is 'RCPT' (the address) or 'DATA' (the message)."""

    def __init__(self, detail: str, stage: str) -> None:
        super().__init__(detail)
        self.stage = stage


class OutcomeUnknown(SendFailure):
    """The connection was lost after DATA began: the server may have the message."""


class Unreachable(SendFailure):
    """No SMTP session could be opened."""


class Unrecorded(SendFailure):
    """The server took the message (250), then the send log could not record it."""


class LockError(RecapError):
    """Another recap run holds the lock."""
