"""Present mode: a chart restyled for a projector, the shortest link to a run, its QR code, and the
page drawn for a projector (``?present=1`` or its switch)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from apptest_helpers import open_page

from lab.app import charts, present, view
from lab.app.query import PageState, from_query, to_query
from lab.core import engine
from lab.core.config import DataConfig, OptimizerConfig, RunConfig, SchedulerConfig

pytestmark = pytest.mark.usefixtures("fresh_shared_cache")


def test_a_presentable_chart_has_large_labels_and_its_legend_beside_it():
    res = engine.run(RunConfig(steps=200))
    spec = charts.loss_chart([("", res)]).to_dict(validate=False)
    shown = present.presentable(spec)
    legend = shown["config"]["legend"]
    assert legend["orient"] == "right" and legend["columns"] == 1
    assert legend["labelFontSize"] >= 16 and shown["config"]["axis"]["labelFontSize"] >= 16
    assert spec["config"]["legend"]["orient"] == "bottom"  # the cached spec itself is left as it was
    assert shown["layer"] == spec["layer"]  # the same data and marks


CONFIGS = [
    RunConfig(),
    RunConfig(steps=2_000, optimizers=(OptimizerConfig("GD"), OptimizerConfig("Momentum", (("lr", 0.3),)))),
    RunConfig(seed=7, dtype="float32", repeats=3, data=DataConfig(samples=200, noise=0.1)),
    RunConfig(objective="saddle", optimizers=(OptimizerConfig("Adam", (("lr", 0.01),)),)),
    RunConfig(scheduler=SchedulerConfig.of("StepLR", step_size=100)),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=range(len(CONFIGS)))
def test_the_short_link_opens_the_same_run_as_the_full_one(cfg):
    state = PageState(cfg)
    short, full = present.short_query(state), to_query(state)
    assert set(short) <= set(full) and short["run"] == "1"
    back = from_query(short)
    assert back.config == cfg and not back.notices


def test_the_short_link_is_short():
    cfg = RunConfig(steps=2_000, optimizers=(OptimizerConfig("GD"), OptimizerConfig("Momentum", (("lr", 0.3),))))
    link = present.short_link("http://lab.example.org/optimizers", PageState(cfg))
    full = view.share_link("http://lab.example.org/optimizers", cfg, PageState())
    assert link == "lab.example.org/optimizers?opt=GD,Momentum&steps=2000&Momentum.lr=0.3&run=1"
    assert len(link) < len(full) - 50
    assert present.short_link("https://x.org/optimizers", PageState(), "hover") == "x.org/optimizers?exp=hover"


def test_the_qr_code_is_an_svg_of_the_link():
    svg = present.qr_svg("lab.example.org/optimizers?exp=hover")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and int(root.get("width")) >= 100
    # a longer link needs a bigger symbol: the code carries the link itself
    longer = present.qr_svg("lab.example.org/optimizers?" + "x" * 200)
    assert int(ET.fromstring(longer).get("width")) > int(root.get("width"))


def _qr_codes(at) -> list[str]:
    """The SVG images on the page (the QR codes), decoded."""
    import base64

    prefix = "data:image/svg+xml;base64,"
    urls = [img.url for image in at.get("image") for img in image.proto.imgs]
    return [base64.b64decode(u[len(prefix) :]).decode() for u in urls if u.startswith(prefix)]


def _modules(svg: str) -> str:
    """The dark modules of a segno QR code's SVG (its path), whatever attributes wrap it."""
    import re

    return re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)


def test_present_mode_draws_results_first_with_a_qr_code_and_larger_chart_labels():
    at = open_page("optimizers", {"run": "1", "present": "1"})
    assert not at.exception and at.session_state["opt.present"]
    assert not at.title  # the chart comes first
    chart = next(c for c in at.get("vega_lite_chart"))
    import json

    spec = json.loads(chart.proto.spec)
    assert spec["config"]["legend"]["orient"] == "right" and spec["config"]["axis"]["labelFontSize"] >= 16
    assert any('section[data-testid="stSidebar"]' in h.proto.body for h in at.get("html"))  # hidden
    short = next(m.value for m in at.markdown if m.value.startswith("#### `")).strip("#` ")
    assert short.endswith("?run=1")  # the default run: nothing else to say
    # the QR code carries the short link (fewer modules than the full one: easier to scan off a wall)
    assert [_modules(svg) for svg in _qr_codes(at)] == [_modules(present.qr_svg(f"http://{short}"))]
    assert any("Open this run on your phone" in m.value for m in at.markdown)


def test_the_switch_turns_present_mode_off_and_on():
    at = open_page("optimizers", {"run": "1"})
    assert at.title and not _qr_codes(at)
    at.toggle(key="opt.present").set_value(True).run()
    assert not at.exception and not at.title and len(_qr_codes(at)) == 1
    at.toggle(key="opt.present").set_value(False).run()
    assert at.title and not _qr_codes(at)
