"""A hosted server under a prankster's links (LAB_PROFILE=hosted): the heaviest links its limits
admit, from several sessions at once, some tabs closed at once and some left open. Each heavy link
is refused with the budget's notice or finishes within its cap, and a student's default link still
shows its results within 3 s."""

from __future__ import annotations

import time

import appserver as server
import pytest
from app import exceptions
from conftest import ARTIFACTS, _require_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
HEAVY = [
    # five classes (compiled, with their curves on 5 000 samples) at every limit: refused at once
    "optimizers?opt=LBFGS,Rprop,Adadelta,Adafactor,Adamax&steps=30000&samples=5000&repeats=8&run=1",
    # twelve compiled optimizers at every limit: minutes of work, refused at once
    "optimizers?opt=GD,SGD,Mini-batch%20SGD,Momentum,AdaGrad,RMSProp,Adam,Nesterov,AdamW,NAdam,RAdam,ASGD"
    "&steps=30000&samples=5000&repeats=8&run=1",
    # within the budget but long for a default run: LBFGS on a surface steps through torch.optim
    # (about 1 ms a step: a few seconds each)
    "optimizers?problem=rosenbrock&opt=LBFGS&steps=1500&repeats=2&run=1",
    "optimizers?problem=rosenbrock&opt=LBFGS&steps=3000&seed=3&run=1",
]
BUDGET = 4  # the hosted profile's LAB_MAX_SECONDS


@pytest.fixture(scope="module")
def hosted_server():
    _require_browser()
    proc, base = server.start(ARTIFACTS / "hosted-server.log", env={"LAB_PROFILE": "hosted"})
    yield base
    server.stop(proc)


def _settled(page, timeout: float) -> str:
    """ "refused", "trained" or "stopped": how a heavy link ended, waiting up to ``timeout`` s."""
    refused = page.get_by_text("over this server's budget of", exact=False)
    results = page.get_by_text("Results — run #1", exact=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("[data-testid=stAlertContentError]").filter(has_text="LAB_MAX_SECONDS").count():
            return "refused"
        if results.count():
            return "stopped" if page.get_by_text("stopped at step", exact=False).count() else "trained"
        page.wait_for_timeout(100)
    return f"neither after {timeout} s ({refused.count()} refusals on the page)"


def _open(new_context, base: str, link: str):
    ctx = new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/{link}")
    return ctx, page


def test_heavy_links_from_several_sessions_leave_a_default_link_fast(new_context, hosted_server, alone):
    ctx, page = _open(new_context, hosted_server, HEAVY[0])
    page.wait_for_selector("[data-testid=stMain] h1")
    ctx.close()  # a tab closed at once: its work must not hold the server
    ctx, page = _open(new_context, hosted_server, HEAVY[1])
    refused = [_settled(page, 10)]
    page.screenshot(path=str(ARTIFACTS / "budget-refused.png"))
    assert exceptions(page) == []
    ctx.close()  # read and closed
    with alone():  # a latency, measured with no other test beside it
        heavy = [_open(new_context, hosted_server, link) for link in HEAVY[2:]]  # left open: they train
        heavy[0][1].locator("[data-testid=stProgress]").first.wait_for(timeout=15_000)  # one is training
        page = new_context(viewport={"width": 1400, "height": 900}).new_page()  # a student
        t0 = time.monotonic()
        page.goto(f"{hosted_server}/optimizers?run=1")
        expect(page.get_by_text("Results — run #1", exact=True)).to_have_count(1, timeout=15_000)
        waited = time.monotonic() - t0
    assert waited <= 3.0, f"the default link took {waited:.1f} s behind the heavy ones"
    assert exceptions(page) == []
    outcomes = refused + [_settled(p, 2 * BUDGET + 10) for _, p in heavy]
    assert outcomes[0] == "refused", outcomes
    assert all(o in ("refused", "trained", "stopped") for o in outcomes), outcomes
    for _, p in heavy:
        assert exceptions(p) == []
    print(f"\ndefault link: results in {waited:.2f} s; heavy links: {outcomes}")  # shown with -s
