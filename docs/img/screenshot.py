"""The README's screenshot: the Optimizers page at 1400 x 900 after pressing Train all, first screen.

    python docs/img/screenshot.py              # writes docs/img/optimizers.png; needs Debian's chromium

Starts the app on a free loopback port (tests/appserver.py), opens the Optimizers page with its
defaults, presses Train all, waits for the loss chart, and saves the page's first screen (from its
title) as a 256-colour PNG, which must stay under 300 KB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the test-server helper
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "browser"))  # driving the page
import appserver
from app import chart_drawn, click_and_wait, open_page

WIDTH, HEIGHT = 1400, 900
MAX_BYTES = 300 * 1024
CHART = ".st-key-opt-loss_chart [data-testid=stVegaLiteChart]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "optimizers.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = appserver.start(Path(tmp) / "server.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=appserver.CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                open_page(page, base, "optimizers")
                click_and_wait(page, "Train all")
                page.locator(CHART).wait_for()
                if not chart_drawn(page, 0):
                    raise RuntimeError("the loss chart was not drawn")
                page.mouse.move(0, 0)  # no hover tooltip in the picture
                # The press scrolls the results into view; the picture starts at the page's title.
                page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
                page.wait_for_timeout(800)  # let the chart finish drawing
                raw = Path(tmp) / "raw.png"
                page.screenshot(path=str(raw))
                browser.close()
        finally:
            appserver.stop(proc)
        image = Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        image.save(args.out, optimize=True)
    size = args.out.stat().st_size
    print(f"{args.out}: {WIDTH}x{HEIGHT}, {size / 1024:.0f} KB")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size / 1024:.0f} KB, over {MAX_BYTES // 1024} KB")


if __name__ == "__main__":
    main()
