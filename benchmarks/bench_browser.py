"""Click-to-chart latency in a real browser (Debian's Chromium), median of several runs.

Cases (each page opened and idle before the click, as when a person reads it first):
  * the seven presets at 3 000 and at 30 000 steps, and every registry optimizer at 3 000 steps,
    never trained before (a fresh seed each time), in a fresh page;
  * retraining in the same page after changing the seed, Live off: the press of Train all;
  * an edit with Live on (the default): Enter in the Steps field to the chart redrawn, no press;
  * a cache hit in the same session (Train all again: served from the session's history);
  * a cache hit for another user (a new session asks for a config someone already trained);
  * opening a result tab (Fit) after a run: from the click on the tab to its chart drawn (the tabs
    are lazy: the fit is computed and sent only when its tab opens).

Timing is taken inside the page: from the click event on "Train all" to the first animation
frame in which the loss chart is drawn with new content (it appears, or its pixels / paths
change); for the same-session hit, until the page says it served the stored run. Playwright's
own round trips are not counted.

    python benchmarks/bench_browser.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

from lab.core import optimizers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test-server helper
import appserver as server

CHART = ".st-key-opt-loss_chart [data-testid=stVegaLiteChart] :is(canvas, svg.marks)"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"
HIT_TEXT = "shown again from this session"

ARM = """([sel, mode, text]) => {
  const snap = (c) => !c ? null : c.tagName === 'CANVAS' ? c.toDataURL()
      : Array.from(c.querySelectorAll('path')).slice(0, 40).map(p => p.getAttribute('d')).join('|');
  const before = snap(document.querySelector(sel));
  const b = window.__bench = {t0: null, t1: null};
  document.addEventListener('click', (e) => {
    const btn = e.target.closest('button');
    if (b.t0 === null && btn && btn.innerText.trim() === 'Train all') b.t0 = performance.now();
  }, true);
  document.addEventListener('keydown', (e) => {  // an edit: Enter in a field of the form (live mode)
    if (mode === 'edit' && b.t0 === null && e.key === 'Enter') b.t0 = performance.now();
  }, true);
  const done = () => {
    if (mode === 'text') return document.body.innerText.includes(text);  // 'chart' and 'edit': the chart
    const s = snap(document.querySelector(sel));
    return s !== null && s !== before;
  };
  const tick = () => {
    if (b.t0 !== null && b.t1 === null && done()) b.t1 = performance.now();
    if (b.t1 === null) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def _open(page, base: str, query: str) -> None:
    page.goto(f"{base}/optimizers?{query}")
    page.wait_for_selector("[data-testid=stMain] h1")
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(300)


def _timed_click(page, mode: str = "chart") -> float:
    """Seconds from the click on Train all to the chart drawn anew (or the cache-hit notice)."""
    page.evaluate(ARM, [CHART, mode, HIT_TEXT])
    page.get_by_role("button", name="Train all", exact=True).click()
    page.wait_for_function("() => window.__bench.t1 !== null", timeout=120_000, polling=50)
    seconds = page.evaluate("() => (window.__bench.t1 - window.__bench.t0) / 1000")
    page.wait_for_selector(IDLE)
    return seconds


TAB_ARM = """(label) => {
  const b = window.__tab = {t0: null, t1: null};
  const start = (e) => {  // the press itself (the tabs act on pointer down, not on click)
    const tab = e.target.closest && e.target.closest('[role=tab]');
    if (b.t0 === null && tab && tab.innerText.trim() === label) b.t0 = performance.now();
  };
  for (const kind of ['pointerdown', 'mousedown', 'click']) document.addEventListener(kind, start, true);
  const poll = () => {
    const drawn = document.querySelectorAll('[data-testid=stVegaLiteChart] :is(canvas, svg.marks)').length;
    if (b.t0 !== null && drawn >= 2) { b.t1 = performance.now(); return; }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""


def open_tab(browser, base: str, seed: int, label: str = "Fit") -> float:
    """Seconds from the click on a result tab to its chart drawn, after a 7 x 3 000 run."""
    ctx, page = _new_page(browser)
    try:
        _open(page, base, f"steps=3000&seed={seed}&run=1")
        page.wait_for_selector(CHART)
        page.evaluate(TAB_ARM, label)
        page.get_by_role("tab", name=label, exact=True).click()
        page.wait_for_function("() => window.__tab.t1 !== null", timeout=60_000, polling=50)
        seconds = page.evaluate("() => (window.__tab.t1 - window.__tab.t0) / 1000")
        page.wait_for_selector(IDLE)
        return seconds
    finally:
        ctx.close()


def live_edit(browser, base: str, seed: int, edits: int, steps: int = 3_000) -> list[float]:
    """Seconds from Enter in the Steps field (a new step count each time) to the loss chart redrawn,
    with no press of Train all: live mode retrains a short run on the edit itself."""
    ctx, page = _new_page(browser)
    times = []
    try:
        _open(page, base, f"steps={steps}&seed={seed}&run=1")
        page.wait_for_selector(CHART)
        box = page.locator(".st-key-opt-controls input[aria-label=Steps]")
        for i in range(1, edits + 1):
            page.evaluate(ARM, [CHART, "edit", HIT_TEXT])
            box.fill(str(steps + i))
            box.press("Enter")
            page.wait_for_function("() => window.__bench.t1 !== null", timeout=60_000, polling=50)
            times.append(page.evaluate("() => (window.__bench.t1 - window.__bench.t0) / 1000"))
            page.wait_for_selector(IDLE)
            page.wait_for_timeout(300)
    finally:
        ctx.close()
    return times


def _live_off(page) -> None:
    """Turn live mode off, so an edit waits for Train all (the cases that time the press)."""
    page.get_by_text("Live: retrain on every edit", exact=True).click()
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)


def _new_page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    return ctx, ctx.new_page()


def fresh_run(browser, base: str, steps: int, seed: int, extra: str = "") -> float:
    ctx, page = _new_page(browser)
    try:
        _open(page, base, f"steps={steps}&seed={seed}{extra}")
        return _timed_click(page)
    finally:
        ctx.close()


def retrain_in_page(browser, base: str, seeds: list[int], steps: int = 3_000) -> list[float]:
    ctx, page = _new_page(browser)
    times = []
    try:
        _open(page, base, f"steps={steps}&seed={seeds[0]}")
        _live_off(page)
        _timed_click(page)
        for seed in seeds[1:]:
            box = page.get_by_label("Seed", exact=True)
            box.fill(str(seed))
            box.press("Enter")
            page.wait_for_timeout(300)
            page.wait_for_selector(IDLE)
            times.append(_timed_click(page))
    finally:
        ctx.close()
    return times


def same_session_hit(browser, base: str, seed: int) -> float:
    ctx, page = _new_page(browser)
    try:
        _open(page, base, f"steps=3000&seed={seed}")
        _timed_click(page)
        return _timed_click(page, mode="text")
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    proc, base = server.start(Path("test-artifacts") / "bench-server.log")
    r = args.repeats
    seeds = iter(range(1, 10_000))
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=server.CHROMIUM_FLAGS)
            fresh_run(browser, base, 100, 10_000)  # warm-up: imports, first page render
            rows.append(
                ("7 presets x 3 000 steps", [fresh_run(browser, base, 3_000, next(seeds)) for _ in range(r)], 1.0)
            )
            rows.append(
                ("7 presets x 30 000 steps", [fresh_run(browser, base, 30_000, next(seeds)) for _ in range(r)], 1.0)
            )
            every = [n for n in optimizers.registry().names() if n not in optimizers.unavailable()]
            opt = "&opt=" + ",".join(quote(n) for n in every)
            times = [fresh_run(browser, base, 3_000, next(seeds), opt) for _ in range(r)]
            rows.append((f"every optimizer ({len(every)}) x 3 000 steps", times, 1.0))
            rows.append(
                (
                    "7 presets x 3 000, retrain in page",
                    retrain_in_page(browser, base, [next(seeds) for _ in range(r + 1)]),
                    1.0,
                )
            )
            rows.append(
                (
                    "7 presets x 30 000, retrain in page",
                    retrain_in_page(browser, base, [next(seeds) for _ in range(r + 1)], 30_000),
                    1.0,
                )
            )
            rows.append(("edit Steps, live retrain (7 x 3 000)", live_edit(browser, base, next(seeds), r), 0.6))
            rows.append(
                ("cache hit, same session", [same_session_hit(browser, base, next(seeds)) for _ in range(r)], 0.3)
            )
            shared = next(seeds)
            fresh_run(browser, base, 3_000, shared)  # somebody trains it once ...
            rows.append(("cache hit, other user", [fresh_run(browser, base, 3_000, shared) for _ in range(r)], 0.3))
            rows.append(("open the Fit tab after a run", [open_tab(browser, base, next(seeds)) for _ in range(r)], 0.5))
            browser.close()
    finally:
        server.stop(proc)
    print(f"{'case':36s} {'median':>8s} {'min':>7s} {'max':>7s}  target")
    for name, times, target in rows:
        med = statistics.median(times)
        verdict = "" if target is None else f"<= {target:g} s: {'met' if med <= target else 'NOT met'}"
        print(f"{name:36s} {med:7.3f}s {min(times):6.3f}s {max(times):6.3f}s  {verdict}")


if __name__ == "__main__":
    main()
