"""Risk Spotlight figures: concentration of gains, the AI-hardware trade against the
market, correlation and volatility over a trailing window (pure pandas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recap.model import Week

TRADING_DAYS = 252


def _daily_returns(closes: pd.DataFrame, week: Week, window: int) -> pd.DataFrame:
    upto = closes.loc[closes.index <= pd.Timestamp(week.end)]
    return upto.pct_change(fill_method=None).iloc[-window:]


def correlation(closes: pd.DataFrame, a: str, b: str, week: Week, window: int) -> float | None:
    """Correlation of daily returns over the last ``window`` sessions; None if too few."""
    if a not in closes or b not in closes:
        return None
    r = _daily_returns(closes[[a, b]], week, window).dropna()
    if len(r) < window * 0.9 or r[a].std() == 0 or r[b].std() == 0:
        return None
    value = float(np.corrcoef(r[a].to_numpy(), r[b].to_numpy())[0, 1])
    return value if math.isfinite(value) else None


def volatility(closes: pd.DataFrame, ticker: str, week: Week, window: int) -> float | None:
    """Annualized standard deviation of daily returns over ``window`` sessions."""
    if ticker not in closes:
        return None
    r = _daily_returns(closes[[ticker]], week, window)[ticker].dropna()
    if len(r) < window * 0.9:
        return None
    return float(r.std(ddof=1) * math.sqrt(TRADING_DAYS))


def difference(a: float | None, b: float | None) -> float | None:
    """a - b, or None when either is missing."""
    return None if a is None or b is None else a - b
