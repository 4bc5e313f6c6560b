"""Click-to-chart latency in a real browser (Debian's Chromium), median of several runs.

Cases, each from a page where the settings are already in place:
  * the seven presets at 3 000 and at 30 000 steps, never trained before (a fresh seed each time);
  * a cache hit in the same session (Train all again: answered from the session's history);
  * a cache hit for another user (a new session asks for a config someone already trained).

Time is measured from the click on "Train all" until the loss chart is drawn (a Vega canvas or
SVG in the page) — or, for the same-session hit, until the page says it served the stored run.

    python benchmarks/bench_browser.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from lab import server

CHART = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"


def _open(page, base: str, query: str) -> None:
    page.goto(f"{base}/optimizers?{query}")
    page.wait_for_selector("[data-testid=stMain] h1")
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(300)


def _click_train(page) -> float:
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train all", exact=True).click()
    return t0


def fresh_run(browser, base: str, steps: int, seed: int) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        _open(page, base, f"steps={steps}&seed={seed}")
        t0 = _click_train(page)
        page.wait_for_selector(CHART, timeout=120_000)
        return time.perf_counter() - t0
    finally:
        ctx.close()


def same_session_hit(browser, base: str, seed: int) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        _open(page, base, f"steps=3000&seed={seed}")
        _click_train(page)
        page.wait_for_selector(CHART, timeout=120_000)
        page.wait_for_selector(IDLE)
        t0 = _click_train(page)
        page.get_by_text("already had these settings").wait_for(timeout=60_000)
        return time.perf_counter() - t0
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    proc, base = server.start(Path("test-artifacts") / "bench-server.log")
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=server.CHROMIUM_FLAGS)
            fresh_run(browser, base, 100, 10_000)  # warm-up: imports, first page render
            seeds = iter(range(1, 10_000))
            r = args.repeats
            rows.append(
                ("7 presets x 3 000 steps", [fresh_run(browser, base, 3_000, next(seeds)) for _ in range(r)], 1.0)
            )
            rows.append(
                ("7 presets x 30 000 steps", [fresh_run(browser, base, 30_000, next(seeds)) for _ in range(r)], None)
            )
            rows.append(
                ("cache hit, same session", [same_session_hit(browser, base, next(seeds)) for _ in range(r)], 0.3)
            )
            shared_seed = next(seeds)
            fresh_run(browser, base, 3_000, shared_seed)  # somebody trains it once ...
            rows.append(
                ("cache hit, other user", [fresh_run(browser, base, 3_000, shared_seed) for _ in range(r)], 0.3)
            )
            browser.close()
    finally:
        server.stop(proc)
    print(f"{'case':28s} {'median':>8s} {'min':>7s} {'max':>7s}  target")
    for name, times, target in rows:
        med = statistics.median(times)
        verdict = "" if target is None else f"<= {target:g} s: {'met' if med <= target else 'NOT met'}"
        print(f"{name:28s} {med:7.3f}s {min(times):6.3f}s {max(times):6.3f}s  {verdict}")


if __name__ == "__main__":
    main()
