"""The Optimizers page as one workspace, in Chromium: Train all and the loss chart on the first
screen, a page that is not a long scroll, live retraining on an edit, present mode on a projector,
and a verdict that calls a hovering optimizer hovering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app import chart_drawn, exceptions, open_page, press_then_stop, results_table, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHART = ".st-key-opt-loss_chart [data-testid=stVegaLiteChart]"


def _height(page) -> int:
    return page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")


def _in_view(box, screen_height: int) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= screen_height


def test_train_all_and_the_loss_chart_share_the_first_screen_and_an_edit_redraws_it(page, app_server):
    """Train all and the whole loss chart in view at 1400 x 900; then an edit retrains and redraws
    without a press (Live)."""
    page.set_viewport_size({"width": 1400, "height": 900})
    open_page(page, app_server, "optimizers?run=1")
    assert chart_drawn(page, 0) and exceptions(page) == []
    expect(page.get_by_text("Results — run #1")).to_have_count(1)
    train = page.get_by_role("button", name="Train all", exact=True).bounding_box()
    chart = page.locator(CHART).bounding_box()
    assert _in_view(train, 900), train
    assert _in_view(chart, 900), chart  # the whole chart, legend included
    assert _height(page) <= 1600
    page.screenshot(path=str(ARTIFACTS / "workspace-1400x900.png"))

    steps = page.locator(".st-key-opt-controls input[aria-label=Steps]")
    steps.fill("1500")
    steps.press("Enter")
    page.wait_for_timeout(100)
    wait_idle(page)
    expect(page.get_by_text("Results — run #2")).to_have_count(1)
    caption = page.locator("[data-testid=stCaptionContainer]").filter(has_text="optimizers ×")
    assert "1,500 steps" in caption.inner_text()
    assert chart_drawn(page, 0) and exceptions(page) == []


def test_present_mode_on_a_projector(page, app_server):
    """1024 x 576 (a 1280 x 720 projector at 125 %): no sidebar, the loss chart first and at least
    700 px wide, its legend beside it on the first screen, large labels, and a QR code of the run."""
    page.set_viewport_size({"width": 1024, "height": 576})
    open_page(page, app_server, "optimizers?run=1&present=1")
    assert chart_drawn(page, 0) and exceptions(page) == []
    expect(page.locator("section[data-testid=stSidebar]")).to_be_hidden()
    chart = page.locator(CHART).bounding_box()
    assert chart["width"] >= 700 and 0 <= chart["y"] < 576, chart
    legend = page.locator(f"{CHART} .role-legend").first.bounding_box()
    assert _in_view(legend, 576) and legend["x"] > chart["x"] + chart["width"] / 2, legend  # beside the plot
    sizes = page.locator(f"{CHART} .role-legend-label text").evaluate_all(
        "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))"
    )
    assert sizes and min(sizes) >= 16, sizes
    labels = page.locator("[data-testid=stWidgetLabel] p")
    assert labels.first.evaluate("p => parseFloat(getComputedStyle(p).fontSize)") >= 16
    page.screenshot(path=str(ARTIFACTS / "present-1024x576.png"))
    qr = page.locator(".st-key-opt-qr img")
    qr.scroll_into_view_if_needed()
    assert qr.bounding_box()["width"] >= 100
    expect(page.get_by_text("Open this run on your phone")).to_have_count(1)


def test_the_hover_experiment_calls_adam_hovering(page, app_server):
    open_page(page, app_server, "optimizers?exp=hover")
    verdict = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="not stay").first
    assert "Adam" in verdict.inner_text()  # "… and Adam get there but do not stay: …"
    rows = {r["optimizer"]: r for r in results_table(page)}
    assert rows["Adam"]["status"] == "hovering"
    assert exceptions(page) == []


def test_the_present_switch_redraws_the_whole_page(page, app_server):
    open_page(page, app_server, "optimizers?run=1")
    page.get_by_text("Present", exact=True).click()
    page.wait_for_timeout(100)
    wait_idle(page)
    # expect() waits: the page's old elements (the style that hides the sidebar) leave at the end of
    # the rerun, a moment after the new title is drawn
    sidebar = page.locator("section[data-testid=stSidebar]")
    expect(page.locator(".st-key-opt-qr img")).to_have_count(1)  # the QR code of the run
    expect(sidebar).to_be_hidden()  # the page around it too
    expect(page.locator("[data-testid=stMain] h1")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[?&]present=1"))
    page.get_by_text("Present", exact=True).click()
    page.wait_for_timeout(100)
    wait_idle(page)
    expect(page.locator("[data-testid=stMain] h1")).to_have_count(1)
    expect(sidebar).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"[?&]present=1"))


def test_stop_interrupts_a_sweep(page, app_server):
    """Tune runs in a full rerun with Stop beside it (a click inside the workspace's fragment would
    only be queued): Stop ends the sweep and keeps the run already on screen."""
    # Adam under ReduceLROnPlateau (a schedule reacting to the loss) steps through torch.optim: its
    # sweep, 10 rates x 12 000 steps, takes seconds (LBFGS, the class torch.optim steps, is never swept)
    open_page(page, app_server, "optimizers?opt=Adam&sched=ReduceLROnPlateau&steps=12000&run=1")
    expect(page.get_by_text("Results — run #1", exact=True)).to_have_count(1)
    press_then_stop(page, "Tune learning rates")
    assert exceptions(page) == []
    expect(page.get_by_role("tab", name="Sweep", exact=True)).to_have_count(0)  # nothing of it kept
    expect(page.get_by_text("Results — run #1", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
