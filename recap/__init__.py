"""recap: a weekly stock-market recap newsletter, computed from market data.

The public API. Heavy modules (pandas, WeasyPrint) load only when first used, so that
`recap --help` stays quick.
"""

from __future__ import annotations

from typing import Any

from recap.errors import (
    ConfigError,
    DataError,
    DeliveryError,
    LockError,
    OutputError,
    PriceCheckError,
    RecapError,
    RenderError,
    SourceError,
    StaleDataError,
    StoreError,
    WeekError,
)

__all__ = [
    "ConfigError",
    "DataError",
    "DeliveryError",
    "LockError",
    "OutputError",
    "PriceCheckError",
    "RecapError",
    "RenderError",
    "SourceError",
    "StaleDataError",
    "StoreError",
    "WeekError",
    "WeeklyRecap",
    "build_week",
    "open_source",
    "read_config",
]

_LAZY = {
    "WeeklyRecap": "recap.model",
    "build_week": "recap.pipeline",
    "open_source": "recap.sources.opening",
    "read_config": "recap.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recap' has no attribute {name!r}")
