"""Present mode, pure: a chart restyled for a projector, the share link in its shortest form, and
its QR code (``segno``), so students open the teacher's run on their phones."""

from __future__ import annotations

import copy
from urllib.parse import urlencode

import segno

from lab.app.query import PageState, to_query

FONT = 16  # px: every label a projector shows, at least this


def presentable(spec: dict) -> dict:
    """A Vega-Lite spec restyled for a projector: labels and titles at :data:`FONT` px, the legend
    beside the plot in one column (the plot keeps its height; the legend stays in the first screen)."""
    out = copy.deepcopy(spec)
    config = out.setdefault("config", {})
    legend = config.setdefault("legend", {})
    legend.update(orient="right", columns=1, labelFontSize=FONT, titleFontSize=FONT, labelLimit=260)
    legend.pop("titleOrient", None)
    for part in ("axis", "header"):
        config.setdefault(part, {}).update(labelFontSize=FONT, titleFontSize=FONT)
    config.setdefault("title", {}).update(fontSize=FONT + 2)
    return out


def short_query(state: PageState) -> dict[str, str]:
    """The link's parameters without those at their defaults: the same run, in as few characters
    as the run allows (the page reads a missing parameter as its default)."""
    full, default = to_query(state), to_query(PageState())
    return {k: v for k, v in full.items() if k == "run" or default.get(k) != v}


def short_link(base_url: str, state: PageState, experiment: str | None = None) -> str:
    """The shortest link that opens and trains ``state``'s run: a guided experiment's own run by its
    name, any other by the settings that differ from the defaults; without the scheme."""
    query = {"exp": experiment} if experiment is not None else short_query(state)
    host = base_url.split("://", 1)[-1]
    return f"{host}?{urlencode(query, safe=',')}"


def qr_svg(link: str, scale: int = 4) -> str:
    """The QR code of ``link`` as an inline SVG (error correction M: readable off a projector)."""
    return segno.make(link, error="m", micro=False).svg_inline(scale=scale, dark="#111", light="#fff")
