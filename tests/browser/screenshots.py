"""Screenshots of what a class sees: the Optimizers page after each guided experiment's link, at a
projector's sizes (1024 x 576 is 1280 x 720 at 125 % zoom) and a phone's width, first screen only.

    python tests/browser/screenshots.py --out shots/          # needs Debian's chromium
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the test-server helper
sys.path.insert(0, str(Path(__file__).resolve().parent))
import appserver
from app import chart_drawn, open_page

from lab.app import experiments

SIZES = ((1024, 576), (1280, 720), (390, 844))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("shots"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    proc, base = appserver.start(args.out / "server.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=appserver.CHROMIUM_FLAGS)
            for exp in experiments.EXPERIMENTS:
                for width, height in SIZES:
                    ctx = browser.new_context(viewport={"width": width, "height": height})
                    page = ctx.new_page()
                    open_page(page, base, f"optimizers?exp={exp.key}")
                    chart_drawn(page, 0)
                    page.wait_for_timeout(500)  # let the charts finish drawing
                    path = args.out / f"{exp.key}-{width}x{height}.png"
                    page.screenshot(path=str(path))
                    print(path)
                    ctx.close()
            browser.close()
    finally:
        appserver.stop(proc)


if __name__ == "__main__":
    main()
