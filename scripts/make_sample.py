"""Write the generated SAMPLE dataset (snapshot layout) for offline demos.

Example:
    python scripts/make_sample.py data/sample --end 2026-01-30
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from recap.sample import SEED, write_sample


def main() -> None:
    """Parse arguments and write the sample folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to create (replaced with --overwrite)")
    parser.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last date")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    out = write_sample(args.out_dir, args.end, seed=args.seed, overwrite=args.overwrite)
    print(f"sample dataset written to {out}")


if __name__ == "__main__":
    main()
