"""Driving the app in a browser: open a page, wait until Streamlit has finished running."""

from __future__ import annotations

import time

IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"


def wait_idle(page, timeout: float = 60, settle: float = 0.3) -> None:
    """Wait until the script has stopped running and stays stopped for ``settle`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_selector(IDLE, timeout=max(1, deadline - time.monotonic()) * 1000)
        quiet_until = time.monotonic() + settle
        while time.monotonic() < quiet_until and page.locator(IDLE).count() == 1:
            page.wait_for_timeout(50)
        if page.locator(IDLE).count() == 1:
            return
    raise TimeoutError("the app kept running")


def open_page(page, base: str, path: str = "") -> None:
    page.goto(f"{base}/{path}")
    # The script has run at least once: a title (or a subheader), or an exception block (then the test's own
    # check `exceptions(page) == []` fails at once, showing the exception's text).
    page.wait_for_selector("[data-testid=stMain] :is(h1, h3), [data-testid=stException]")  # h3: present mode
    wait_idle(page)


def exceptions(page) -> list[str]:
    return page.locator("[data-testid=stException]").all_inner_texts()


def click_and_wait(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_timeout(100)
    wait_idle(page)


def results_table(page) -> list[dict[str, str]]:
    """The results table (st.table) as a list of row dicts of displayed text."""
    table = page.locator("[data-testid=stTable] table").first
    table.locator("tbody tr").first.wait_for()
    head = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = []
    for tr in table.locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("th, td").all_inner_texts()]
        rows.append(dict(zip(head[-len(cells) :], cells, strict=True)))
    return rows


def chart_drawn(page, index: int = 0, timeout: float = 15_000) -> bool:
    """Whether the index-th Vega chart gets drawn (a canvas or an SVG) within ``timeout`` ms."""
    marks = page.locator("[data-testid=stVegaLiteChart]").nth(index).locator("canvas, svg.marks").first
    try:
        marks.wait_for(timeout=timeout)
    except Exception:  # playwright's TimeoutError: not drawn
        return False
    return True


def open_tab(page, label: str) -> None:
    """Click one of the Optimizers page's result tabs and wait for its content (lazy: drawn on opening)."""
    page.get_by_role("tab", name=label, exact=True).click()
    page.wait_for_timeout(100)
    wait_idle(page)


def press_then_stop(page, button: str) -> None:
    """Press ``button`` (Train all, Tune learning rates), press Stop once its progress shows, and
    wait until the page says the training stopped."""
    page.get_by_role("button", name=button, exact=True).click()
    page.locator("[data-testid=stProgress]").wait_for()
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Training stopped.").wait_for()
    wait_idle(page)


def board_line(page, runs: int):
    """The Class board's summary line once it counts ``runs`` runs from as many students."""
    s = "" if runs == 1 else "s"
    return page.locator("[data-testid=stMarkdownContainer] p").filter(has_text=f"{runs} run{s} from {runs} student{s}")
