"""A generated SAMPLE dataset in the snapshot layout, for offline demos and tests.

Nothing here is market data: bars are correlated geometric random walks on XNYS
sessions, seeded (numpy ``default_rng(42)``), so the same seed and end date give
byte-identical files. Read it with ``SnapshotSource(path, name="sample")``; a recap
built from it says so and must never be delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS
from recap.sources.export import write_snapshot
from recap.weeks import nyse_calendar

SEED = 42
YEARS = 2
TRADING_DAYS = 252
SOURCE_NAME = "sample"


@dataclass(frozen=True)
class SampleSpec:
    """How one ticker's sample prices move."""

    vol: float  # annualized volatility of daily log returns
    drift: float  # annualized mean log return
    beta: float  # loading on the market factor (SPY = 1)
    last_close: float  # the walk is scaled to end here
    volume: int  # median daily volume
    group: str = ""  # "semis" or "banks": a shared factor beyond the market


# Measured once from ../shared/data/market (the real snapshot, ends 2026-01-30) with close_series,
# daily log returns from 2024-01-30 to 2026-01-30 (or each file's first date when later:
# 2025-02-19 for XRT..IYT, 2025-10-31 for most stocks, 2024-08-22 for ZION): vol =
# std * sqrt(252), drift = mean * 252, beta = cov(r, r_SPY) / var(r_SPY), volume = median,
# last_close = close on 2026-01-30. Drifts measured over three months are noise, so they
# are clamped to [-0.10, 0.40]; ZION's volume (absent from the snapshot) is a guess.
SAMPLE_TICKERS: dict[str, SampleSpec] = {
    # index ETFs
    "SPY": SampleSpec(0.163, 0.172, 1.00, 691.97, 62_550_200),
    "DIA": SampleSpec(0.143, 0.121, 0.78, 489.03, 3_497_200),
    "QQQ": SampleSpec(0.208, 0.191, 1.22, 621.87, 41_245_200),
    "IWM": SampleSpec(0.217, 0.137, 1.09, 259.65, 30_547_500),
    # sector SPDRs
    "XLB": SampleSpec(0.173, 0.103, 0.79, 48.87, 9_871_800),
    "XLC": SampleSpec(0.171, 0.229, 0.87, 119.39, 4_777_100),
    "XLE": SampleSpec(0.218, 0.125, 0.70, 50.36, 29_001_600),
    "XLF": SampleSpec(0.170, 0.170, 0.80, 52.98, 38_664_000),
    "XLI": SampleSpec(0.166, 0.200, 0.87, 164.57, 8_957_800),
    "XLK": SampleSpec(0.249, 0.184, 1.40, 143.53, 11_260_600),
    "XLP": SampleSpec(0.122, 0.092, 0.24, 82.47, 12_117_100),
    "XLRE": SampleSpec(0.165, 0.072, 0.53, 40.80, 5_801_500),
    "XLU": SampleSpec(0.157, 0.200, 0.37, 42.68, 21_652_800),
    "XLV": SampleSpec(0.146, 0.065, 0.48, 153.43, 8_653_300),
    "XLY": SampleSpec(0.216, 0.175, 1.16, 120.69, 7_828_200),
    # industry ETFs
    "SMH": SampleSpec(0.364, 0.382, 1.83, 403.46, 7_087_000, "semis"),
    "SOXX": SampleSpec(0.372, 0.280, 1.88, 346.30, 4_103_100, "semis"),
    "KRE": SampleSpec(0.287, 0.133, 1.06, 68.81, 12_768_100, "banks"),
    "XRT": SampleSpec(0.255, 0.097, 0.97, 86.33, 5_014_200),
    "XHB": SampleSpec(0.289, 0.043, 0.86, 108.40, 2_114_200),
    "ITA": SampleSpec(0.226, 0.400, 0.86, 232.38, 550_800),
    "IBB": SampleSpec(0.234, 0.230, 0.75, 172.43, 1_698_500),
    "IYT": SampleSpec(0.257, 0.058, 1.09, 76.57, 403_300),
    # AI hardware
    "AVGO": SampleSpec(0.485, -0.100, 2.63, 331.30, 24_161_450, "semis"),
    "MU": SampleSpec(0.713, 0.400, 3.73, 414.71, 28_244_000, "semis"),
    "NVDA": SampleSpec(0.335, -0.100, 1.90, 191.13, 175_484_800, "semis"),
    "TSM": SampleSpec(0.315, 0.351, 1.86, 330.56, 12_028_100, "semis"),
    "ASML": SampleSpec(0.383, 0.400, 2.02, 1418.03, 1_441_000, "semis"),
    "AMD": SampleSpec(0.534, -0.100, 2.42, 236.73, 36_398_800, "semis"),
    "AMAT": SampleSpec(0.450, 0.400, 2.62, 321.52, 7_103_850, "semis"),
    "LRCX": SampleSpec(0.548, 0.400, 3.10, 233.18, 10_939_650, "semis"),
    "KLAC": SampleSpec(0.549, 0.400, 2.73, 1424.27, 956_650, "semis"),
    # regional banks
    "PNC": SampleSpec(0.194, 0.400, 0.66, 221.60, 2_054_950, "banks"),
    "RF": SampleSpec(0.224, 0.400, 0.87, 27.96, 13_931_600, "banks"),
    "FITB": SampleSpec(0.247, 0.400, 0.62, 49.77, 7_251_600, "banks"),
    "KEY": SampleSpec(0.209, 0.400, 0.70, 21.10, 16_165_000, "banks"),
    "HBAN": SampleSpec(0.258, 0.400, 0.67, 17.30, 26_040_150, "banks"),
    "CFG": SampleSpec(0.255, 0.400, 1.22, 62.09, 4_357_100, "banks"),
    "TFC": SampleSpec(0.169, 0.400, 0.72, 50.37, 8_057_200, "banks"),
    "MTB": SampleSpec(0.201, 0.400, 0.71, 218.51, 967_900, "banks"),
    "USB": SampleSpec(0.195, 0.400, 0.80, 55.54, 8_937_350, "banks"),
    "ZION": SampleSpec(0.366, 0.188, 1.31, 58.64, 1_500_000, "banks"),
    # large banks
    "JPM": SampleSpec(0.247, -0.051, 1.05, 304.33, 8_797_950, "banks"),
    "BAC": SampleSpec(0.194, 0.002, 0.77, 52.90, 35_252_300, "banks"),
    "WFC": SampleSpec(0.218, 0.186, 0.93, 89.54, 14_411_650, "banks"),
    "C": SampleSpec(0.260, 0.400, 1.42, 114.57, 11_834_400, "banks"),
    "GS": SampleSpec(0.272, 0.400, 1.40, 926.43, 2_147_400, "banks"),
    "MS": SampleSpec(0.249, 0.400, 1.42, 181.82, 5_549_900, "banks"),
}
MARKET_VOL = 0.163  # SPY's measured vol: the market factor's scale
# Mean pairwise correlation of residuals (after the SPY beta) within each group,
# measured on the same snapshot from 2025-10-31 to 2026-01-30.
GROUP_CORRELATION = {"semis": 0.455, "banks": 0.519}

# Earnings: report day of the month (Jan/Apr/Jul/Oct, moved to the next session) and time.
EARNINGS_SCHEDULE: dict[str, tuple[int, str]] = {
    "JPM": (13, "06:45"),
    "WFC": (14, "07:00"),
    "C": (14, "08:00"),
    "BAC": (15, "06:45"),
    "GS": (15, "07:30"),
    "MS": (15, "07:30"),
    "PNC": (16, "06:30"),
    "MTB": (16, "07:00"),
    "RF": (16, "06:00"),
    "USB": (20, "06:50"),
    "FITB": (20, "06:30"),
    "KEY": (20, "07:00"),
    "ZION": (20, "16:05"),
    "CFG": (21, "06:15"),
    "TFC": (21, "06:00"),
    "HBAN": (22, "06:00"),
}
EARNINGS_MONTHS = (1, 4, 7, 10)

SECTORS_CSV = """ticker,name,gics_sector,gics_sub_industry
AMAT,Applied Materials,Information Technology,Semiconductor Materials & Equipment
AMD,Advanced Micro Devices,Information Technology,Semiconductors
ASML,ASML Holding,Information Technology,Semiconductor Materials & Equipment
AVGO,Broadcom,Information Technology,Semiconductors
BAC,Bank of America,Financials,Diversified Banks
C,Citigroup,Financials,Diversified Banks
CFG,Citizens Financial Group,Financials,Regional Banks
FITB,Fifth Third Bancorp,Financials,Regional Banks
GS,Goldman Sachs,Financials,Investment Banking & Brokerage
HBAN,Huntington Bancshares,Financials,Regional Banks
JPM,JPMorgan Chase,Financials,Diversified Banks
KEY,KeyCorp,Financials,Regional Banks
KLAC,KLA Corporation,Information Technology,Semiconductor Materials & Equipment
LRCX,Lam Research,Information Technology,Semiconductor Materials & Equipment
MS,Morgan Stanley,Financials,Investment Banking & Brokerage
MTB,M&T Bank,Financials,Regional Banks
MU,Micron Technology,Information Technology,Semiconductors
NVDA,Nvidia,Information Technology,Semiconductors
PNC,PNC Financial Services,Financials,Diversified Banks
RF,Regions Financial,Financials,Regional Banks
TFC,Truist Financial,Financials,Diversified Banks
TSM,Taiwan Semiconductor Manufacturing,Information Technology,Semiconductors
USB,U.S. Bancorp,Financials,Diversified Banks
WFC,Wells Fargo,Financials,Diversified Banks
ZION,Zions Bancorporation,Financials,Regional Banks
"""


def sample_sessions(end: dt.date, years: int = YEARS) -> pd.DatetimeIndex:
    """XNYS sessions from ``years`` years before ``end`` up to ``end``."""
    start = dt.date(end.year - years, end.month, min(end.day, 28))
    sessions = nyse_calendar().sessions_in_range(start.isoformat(), end.isoformat())
    return pd.DatetimeIndex(sessions, name="Date").as_unit("us")


def _next_session(day: dt.date) -> dt.date:
    return nyse_calendar().date_to_session(pd.Timestamp(day), direction="next").date()  # type: ignore[no-any-return]


def sample_earnings(
    sessions: pd.DatetimeIndex, rng: np.random.Generator, tickers: Mapping[str, SampleSpec]
) -> pd.DataFrame:
    """Quarterly bank reports over ``sessions``; EPS about price / 45, surprises ~ N(3%, 6%)."""
    rows: list[dict[str, object]] = []
    first, last = sessions[0].date(), sessions[-1].date()
    for ticker in sorted(t for t in EARNINGS_SCHEDULE if t in tickers):
        day_of_month, time = EARNINGS_SCHEDULE[ticker]
        estimate = tickers[ticker].last_close / 45 * 0.85
        for year in range(first.year, last.year + 1):
            for month in EARNINGS_MONTHS:
                day = _next_session(dt.date(year, month, day_of_month))
                estimate *= 1 + rng.normal(0.015, 0.02)
                surprise = float(np.clip(rng.normal(3.0, 6.0), -25.0, 30.0))
                if not first <= day <= last:
                    continue
                est = round(estimate, 2)
                actual = round(est * (1 + surprise / 100), 2)
                rows.append(
                    {
                        "ticker": ticker,
                        "date": pd.Timestamp(day),
                        "time": time,
                        "eps_estimate": est,
                        "eps_actual": actual,
                        "surprise_pct": round((actual - est) / abs(est) * 100, 2),
                    }
                )
    frame = pd.DataFrame(rows, columns=list(EARNINGS_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"]).dt.as_unit("us")
    return frame.sort_values(["date", "ticker"], kind="stable").reset_index(drop=True)


def _bars(
    spec: SampleSpec,
    shocks: np.ndarray,
    jumps: np.ndarray,
    rng: np.random.Generator,
    index: pd.DatetimeIndex,
) -> pd.DataFrame:
    sigma = spec.vol / np.sqrt(TRADING_DAYS)
    log_ret = spec.drift / TRADING_DAYS + shocks + jumps
    path = np.cumsum(log_ret)
    close = spec.last_close * np.exp(path - path[-1])
    prev = np.concatenate([[close[0] * np.exp(-log_ret[0])], close[:-1]])
    # Overnight gap takes part of the day's move; the rest happens in the session.
    gap = 0.35 * (log_ret - spec.drift / TRADING_DAYS) + rng.normal(0, 0.15 * sigma, len(index))
    open_ = prev * np.exp(gap)
    high = np.maximum(open_, close) * np.exp(rng.exponential(0.2 * sigma, len(index)))
    low = np.minimum(open_, close) * np.exp(-rng.exponential(0.2 * sigma, len(index)))
    o, c = np.round(open_, 2), np.round(close, 2)
    h = np.maximum(np.round(high, 2), np.maximum(o, c))
    lo = np.minimum(np.round(low, 2), np.minimum(o, c))
    surge = np.abs(log_ret) / sigma
    volume = spec.volume * np.exp(rng.normal(0, 0.3, len(index)) + 0.25 * surge - 0.2)
    frame = pd.DataFrame(
        {
            "Open": o,
            "High": h,
            "Low": lo,
            "Close": c,
            "Adj Close": c,  # no dividends in the sample: adjusted equals raw
            "Volume": np.round(volume / 100) * 100,
        },
        index=index,
    )
    return frame.loc[:, list(BAR_COLUMNS)].astype("float64")


def sample_bars(
    end: dt.date,
    tickers: Mapping[str, SampleSpec] | None = None,
    *,
    seed: int = SEED,
    years: int = YEARS,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Generated bars per ticker and the bank earnings, for sessions up to ``end``."""
    specs = dict(SAMPLE_TICKERS if tickers is None else tickers)
    index = sample_sessions(end, years)
    n = len(index)
    rng = np.random.default_rng(seed)
    earnings = sample_earnings(index, rng, specs)
    # Student-t market shocks (df 5, unit variance): fat tails like real index returns.
    market = rng.standard_t(5, n) * np.sqrt(3 / 5) * MARKET_VOL / np.sqrt(TRADING_DAYS)
    groups = {g: rng.standard_normal(n) for g in sorted(GROUP_CORRELATION)}
    out: dict[str, pd.DataFrame] = {}
    for ticker in sorted(specs):
        spec = specs[ticker]
        sigma = spec.vol / np.sqrt(TRADING_DAYS)
        systematic = spec.beta * market
        resid_sd = np.sqrt(
            max(sigma**2 - (spec.beta * MARKET_VOL) ** 2 / TRADING_DAYS, 0.0625 * sigma**2)
        )
        rho = GROUP_CORRELATION.get(spec.group, 0.0)
        common = groups[spec.group] if spec.group in groups else np.zeros(n)
        resid = resid_sd * (np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(n))
        jumps = np.zeros(n)
        own = earnings.loc[earnings["ticker"] == ticker]
        for day, surprise in zip(own["date"], own["surprise_pct"], strict=True):
            # The market reacts to the surprise on the report session.
            jumps[index.get_loc(day)] = 0.003 * surprise + rng.normal(0, 1.5 * sigma)
        out[ticker] = _bars(spec, systematic + resid, jumps, rng, index)
    return out, earnings


def write_sample(
    out_dir: Path,
    end: dt.date,
    tickers: Mapping[str, SampleSpec] | None = None,
    *,
    seed: int = SEED,
    years: int = YEARS,
    overwrite: bool = False,
) -> Path:
    """Write the sample (prices/, earnings.csv, sectors.csv, MANIFEST.csv) to ``out_dir``."""
    bars, earnings = sample_bars(end, tickers, seed=seed, years=years)
    return write_snapshot(
        out_dir,
        bars,
        earnings,
        source_name=SOURCE_NAME,
        extra_files={"sectors.csv": SECTORS_CSV},
        overwrite=overwrite,
    )
