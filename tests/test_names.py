"""Names readers know: the names file shipped with the package (recap/data/names.csv), the
names every week of the year prints, and no Yahoo index symbol ('^GSPC') in any text a
reader sees."""

from __future__ import annotations

import csv
import html
import re

import pytest

from recap.sources.holdings import company_name
from recap.sources.symbols import NAMES_FILE, company_names, reader_name, symbol_map

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The holdings file's capitals, title-cased, as the report once printed them.
WRONG = ("Ionq", "Sitime", "Ies", "D Wave Quantum", "Alphatec Holdngs", "Amazon Com")


def _printed(recap):
    """(ticker, name) of every company a week's recap names."""
    for a in (recap.attribution, recap.sp500_attribution):
        for p in (a.week, a.ytd) if a else ():
            for s in (p.top + p.bottom) if p else ():
                yield s.ticker, s.name
    for r in recap.earnings:
        yield r.ticker, r.name
    for u in recap.week_ahead.earnings if recap.week_ahead else ():
        yield u.ticker, u.name


def test_names_file_is_well_formed():
    with NAMES_FILE.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["symbol", "name"]
    symbols = [r[0] for r in rows[1:]]
    assert len(symbols) == len(set(symbols)) > 2400
    assert all(len(r) == 2 and r[1].strip() == r[1] and r[1] for r in rows[1:])
    names = company_names()
    assert names["IONQ"] == "IonQ" and names["SITM"] == "SiTime"
    assert names["IESC"] == "IES Holdings" and names["QBTS"] == "D-Wave Quantum"
    assert names["ATEC"] == "Alphatec Holdings" and names["AMZN"] == "Amazon"
    assert not set(WRONG) & set(names.values())
    # The symbols file maps iShares' tickers only where '.' -> '-' is not enough.
    assert symbol_map()["BRKB"] == "BRK-B" and "AAPL" not in symbol_map()


def test_the_rule_for_names_outside_the_file():
    assert company_name("BLOOM ENERGY CLASS A CORP") == "Bloom Energy"
    assert company_name("ALPHATEC HOLDNGS INC") == "Alphatec Holdings"
    # iShares cuts names at 34 characters: the cut word goes.
    assert company_name("KRATOS DEFENSE AND SECURITY SOLUTI") == "Kratos Defense and Security"
    assert reader_name("ZZZZ", "SOME NEW CO INC", {}) == "Some New"
    assert reader_name("IONQ", "IONQ INC", {}) == "IonQ"
    assert reader_name("MU", "MICRON TECHNOLOGY INC", {"MU": "Micron"}) == "Micron"


def test_every_name_the_year_prints_is_from_the_names_file(year_weeks, reference_config):
    names = company_names()
    seen = 0
    for week, recap, _ in year_weeks:
        for ticker, name in _printed(recap):
            seen += 1
            assert name == (reference_config.names.get(ticker) or names[ticker]), (
                week.end,
                ticker,
                name,
            )
            assert name not in WRONG
    assert seen > 1000


def test_no_yahoo_symbol_in_the_year_s_text(year_weeks):
    for week, recap, _ in year_weeks:
        text = [recap.headline, recap.dek, *(p.text for p in recap.narrative), *recap.data.notes]
        for line in text:
            assert not re.search(r"\^[A-Z]", line), (week.end, line)


def test_no_yahoo_symbol_on_the_reference_pages(reference_week):
    files = reference_week.files(pdf=False)
    for name in ("recap.html", "email.html", "email.txt"):
        text = files[name].decode()
        text = re.sub(r"<(style|script)\b.*?</\1>", "", text, flags=re.S)
        # Attribute values (alt text, aria labels) are read out too: keep them.
        text = html.unescape(re.sub(r"<[^>]*?(?:alt|aria-label)=\"([^\"]*)\"[^>]*>", r" \1 ", text))
        text = re.sub(r"<[^>]+>", " ", text)
        assert not re.search(r"\^[A-Z]", text), (name, re.search(r".{30}\^[A-Z]+.{20}", text))
    assert "Russell 2000 ÷ S&amp;P 500" in files["recap.html"].decode()


# -- live: Yahoo's shortName through the source's seam --------------------------------


def test_yahoo_short_names_through_the_seam():
    from recap.sources.yahoo import YahooSource, short_name

    assert short_name("IonQ, Inc.") == "IonQ"
    assert short_name("Microsoft Corporation") == "Microsoft"
    assert short_name("D-Wave Quantum Inc.") == "D-Wave Quantum"
    assert short_name("BLOOM ENERGY CORP") is None  # capitals only: no better than iShares'
    assert short_name("") is None and short_name(None) is None

    infos = {"IONQ": {"shortName": "IonQ, Inc."}, "SITM": {"shortName": "SiTime Corporation"}}

    class Ticker:
        def __init__(self, symbol):
            self.symbol = symbol

        @property
        def info(self):
            if self.symbol not in infos:
                raise KeyError(self.symbol)
            return infos[self.symbol]

    source = YahooSource(ticker_factory=Ticker, sleep=lambda s: None)
    assert source.fetch_names(("IONQ", "SITM", "GONE")) == {"IONQ": "IonQ", "SITM": "SiTime"}


def test_live_names_rename_what_the_recap_shows(reference_recap, reference_config):
    from recap.live_names import shown_tickers, with_live_names

    shown = shown_tickers(reference_recap)
    assert {"MSFT", "BE", "JPM"} <= set(shown)
    asked = []

    def lookup(tickers):
        asked.extend(tickers)
        return {t: f"Yahoo {t}" for t in tickers}

    out = with_live_names(reference_recap, lookup, reference_config.names)
    assert "JPM" not in asked and "MSFT" in asked  # [names] in config wins
    msft = next(s for s in out.sp500_attribution.week.bottom if s.ticker == "MSFT")
    assert msft.name == "Yahoo MSFT" and msft.points == pytest.approx(-16.94, abs=0.005)
    jpm = next(r for r in out.earnings if r.ticker == "JPM")
    assert jpm.name == "JPMorgan Chase"
    assert out.attribution.week.top[0].name == f"Yahoo {out.attribution.week.top[0].ticker}"
    assert with_live_names(reference_recap, lambda t: {}, reference_config.names) is reference_recap
