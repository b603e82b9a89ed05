"""`make lighthouse`: Lighthouse 13 on the page, the email as sent and the blog archive.

Builds the 2026-01-16 week from the snapshot with the CLI (`recap build`, `recap email
--dry-run`, `recap publish`) into a temporary folder, serves it on 127.0.0.1, and runs
Lighthouse (accessibility, best practices, SEO; phone and desktop settings) with Debian's
chromium. Lighthouse is installed into scripts/lighthouse/node_modules on first use
(npm ci). Prints each page's scores and every audit short of full marks; exits 1 when a
score is under 100. Lighthouse 13 asks for Node 22.19 or later; it also runs on Node 20,
with an engine warning from npm.
"""

from __future__ import annotations

import argparse
import email
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "scripts" / "lighthouse"
LIGHTHOUSE = TOOL / "node_modules" / ".bin" / "lighthouse"
WEEK = "2026-01-16"
CATEGORIES = "accessibility,best-practices,seo"


def install() -> None:
    """npm ci into scripts/lighthouse, once."""
    if LIGHTHOUSE.exists():
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is not installed (make sysdeps installs it)")
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=TOOL,
        check=True,
    )


def pages(data_dir: Path, out: Path) -> dict[str, str]:
    """Build, dry-run send and publish the week; page name -> path under ``out``."""
    recap = [sys.executable, "-m", "recap"]
    toml = out / "recap.toml"  # a message must say how to unsubscribe
    toml.write_text('[email]\nunsubscribe_mailto = "unsubscribe@example.com"\n')
    common = ["--week", WEEK, "--data-dir", str(data_dir), "--out", str(out / "out")]
    common += ["--config", str(toml)]
    store = ["--store", str(out / "store.sqlite")]
    subs = out / "subscribers.csv"
    subs.write_text("email,name\nann@example.org,Ann\n")
    (out / "site").mkdir()
    for args in (
        ["build", *common],
        ["email", *common, *store, "--to", str(subs), "--dry-run", str(out / "dry")],
        ["publish", *common, *store, "--site", str(out / "site")],
    ):
        subprocess.run([*recap, *args], check=True, capture_output=True, cwd=ROOT)
    eml = next((out / "dry").glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    sent = re.sub(r'src="cid:([\w-]+)"', rf'src="out/{WEEK}/charts/\1.png"', html)
    (out / "email-sent.html").write_text(sent, encoding="utf-8")
    return {
        "recap.html": f"out/{WEEK}/recap.html",
        "email (as sent)": "email-sent.html",
        "blog archive": "site/static/archive/index.html",
    }


def audit(url: str, desktop: bool, report: Path) -> dict[str, object]:
    """One Lighthouse run; its JSON report."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (make sysdeps installs it)")
    args = [
        str(LIGHTHOUSE),
        url,
        f"--only-categories={CATEGORIES}",
        "--output=json",
        f"--output-path={report}",
        "--chrome-flags=--headless=new --no-sandbox",
        "--quiet",
    ]
    if desktop:
        args.append("--preset=desktop")
    subprocess.run(args, check=True, env={**os.environ, "CHROME_PATH": chromium})
    result: dict[str, object] = json.loads(report.read_text())
    return result


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/market")
    args = parser.parse_args()
    if not (args.data_dir / "prices").is_dir():
        raise SystemExit(f"no snapshot at {args.data_dir}; pass --data-dir")
    install()
    short = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        found = pages(args.data_dir.resolve(), folder)
        handler = functools.partial(_Quiet, directory=tmp)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            for name, path in found.items():
                for desktop in (False, True):
                    url = f"http://127.0.0.1:{server.server_port}/{path}"
                    result = audit(url, desktop, folder / "report.json")
                    cats = result["categories"]
                    assert isinstance(cats, dict)
                    scores = {k: round(v["score"] * 100) for k, v in cats.items()}
                    print(f"{name} ({'desktop' if desktop else 'phone'}): {scores}")
                    audits = result["audits"]
                    assert isinstance(audits, dict)
                    for cat in cats.values():
                        for ref in cat["auditRefs"]:
                            a = audits[ref["id"]]
                            if ref["weight"] > 0 and a["score"] is not None and a["score"] < 1:
                                print(f"    {cat['id']}: {a['id']} ({a['title']})")
                    short += sum(s < 100 for s in scores.values())
        finally:
            server.shutdown()
    sys.exit(1 if short else 0)


if __name__ == "__main__":
    main()
