"""Write recap/data/names.csv: each holdings ticker's name as the company writes it.

From a market snapshot (../shared/data/market): S&P 500 members take sectors.csv's names
(legal suffixes dropped: 'Apple Inc.' -> 'Apple'); every other ticker of the IWM and IVV
holdings files takes the holdings file's name tidied by holdings.company_name, unless
CURATED below says otherwise (the names of the stocks the reports print, checked by hand
against the companies' own spelling: IonQ, SiTime, D-Wave Quantum...). Run it again when
new holdings files arrive:

    .venv/bin/python scripts/make_names.py --data-dir ../shared/data/market
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from recap.sources.holdings import company_name, read_holdings_folder

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "recap" / "data" / "names.csv"
# Legal forms a reader does not need ('Apple Inc.' -> 'Apple').
_LEGAL = re.compile(r",? (Inc\.?|Corporation|Corp\.?|plc|Limited|Ltd\.?|N\.V\.|S\.A\.)$")
_THE = re.compile(r" \(The\)$")

# The companies' own spelling, where the holdings file's capitals lose it (mixed case,
# hyphens, ampersands, names cut at 34 characters) or sectors.csv adds what readers drop.
CURATED: dict[str, str] = {
    # S&P 500
    "DE": "Deere",
    "DIS": "Disney",
    "GOOG": "Alphabet (Class C)",
    "GOOGL": "Alphabet (Class A)",
    "HD": "Home Depot",
    "LLY": "Eli Lilly",
    "MRK": "Merck",
    "MU": "Micron",
    "AMD": "AMD",
    # Russell 2000
    "ABM": "ABM Industries",
    "ACIW": "ACI Worldwide",
    "ACVA": "ACV Auctions",
    "ADMA": "ADMA Biologics",
    "AI": "C3.ai",
    "ANF": "Abercrombie & Fitch",
    "ATEC": "Alphatec Holdings",
    "AVAV": "AeroVironment",
    "BBAI": "BigBear.ai Holdings",
    "BBIO": "BridgeBio Pharma",
    "BCO": "Brink's",
    "BIPC": "Brookfield Infrastructure",
    "BL": "BlackLine",
    "CALM": "Cal-Maine Foods",
    "CBZ": "CBIZ",
    "CDNA": "CareDx",
    "CLSK": "CleanSpark",
    "CRDO": "Credo Technology",
    "CRSP": "CRISPR Therapeutics",
    "CTRE": "CareTrust REIT",
    "DBRG": "DigitalBridge Group",
    "ENS": "EnerSys",
    "ESE": "ESCO Technologies",
    "FCFS": "FirstCash Holdings",
    "FORM": "FormFactor",
    "GATX": "GATX",
    "GEO": "GEO Group",
    "GHC": "Graham Holdings",
    "GIII": "G-III Apparel Group",
    "GPI": "Group 1 Automotive",
    "GSAT": "Globalstar",
    "HASI": "HA Sustainable Infrastructure Capital",
    "HIMS": "Hims & Hers Health",
    "HQY": "HealthEquity",
    "HTZ": "Hertz Global Holdings",
    "HUT": "Hut 8",
    "IDCC": "InterDigital",
    "IESC": "IES Holdings",
    "IONQ": "IonQ",
    "IRTC": "iRhythm Technologies",
    "KSS": "Kohl's",
    "KTOS": "Kratos Defense & Security Solutions",
    "MARA": "MARA Holdings",
    "MGY": "Magnolia Oil & Gas",
    "MOGA": "Moog",
    "MTH": "Meritage Homes",
    "MWA": "Mueller Water Products",
    "NEXT": "NextDecade",
    "NXT": "Nextpower",
    "ORA": "Ormat Technologies",
    "PACS": "PACS Group",
    "PD": "PagerDuty",
    "PFSI": "PennyMac Financial Services",
    "PIPR": "Piper Sandler",
    "PRCT": "PROCEPT BioRobotics",
    "QBTS": "D-Wave Quantum",
    "RDNT": "RadNet",
    "RHP": "Ryman Hospitality Properties",
    "RXO": "RXO",
    "RXRX": "Recursion Pharmaceuticals",
    "SATS": "EchoStar",
    "SITM": "SiTime",
    "SKYW": "SkyWest",
    "SLG": "SL Green Realty",
    "SMPL": "Simply Good Foods",
    "SMR": "NuScale Power",
    "SNEX": "StoneX Group",
    "SOUN": "SoundHound AI",
    "SRRK": "Scholar Rock",
    "STEP": "StepStone Group",
    "STNE": "StoneCo",
    "TMDX": "TransMedics Group",
    "TMHC": "Taylor Morrison Home",
    "TRNO": "Terreno Realty",
    "UFPI": "UFP Industries",
    "UMBF": "UMB Financial",
    "UNF": "UniFirst",
    "VLY": "Valley National Bancorp",
    "WGS": "GeneDx Holdings",
    "WULF": "TeraWulf",
    "ZION": "Zions",
}


def sp500_names(path: Path) -> dict[str, str]:
    """sectors.csv's names, without legal suffixes."""
    out = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"].strip()
            name = _THE.sub("", name)
            while _LEGAL.search(name):
                name = _LEGAL.sub("", name).strip()
            out[row["ticker"].strip()] = name
    return out


def main() -> None:
    """Build the names file from the snapshot's sectors.csv and holdings files."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared" / "data" / "market")
    args = parser.parse_args()
    names: dict[str, str] = {}
    for fund in ("IWM", "IVV"):
        for held in read_holdings_folder(args.data_dir / "holdings", fund):
            for ticker, raw in zip(held.table["ticker"], held.table["name"], strict=True):
                if ticker and ticker not in names:
                    names[ticker] = company_name(str(raw))
    names.update(sp500_names(args.data_dir / "sectors.csv"))
    names.update(CURATED)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["symbol", "name"])
        for ticker in sorted(names):
            w.writerow([ticker, names[ticker]])
    print(f"wrote {len(names)} names to {OUT}")  # noqa: T201


if __name__ == "__main__":
    main()
