"""Present mode (``?present=1``, or its switch): the page as a projector shows it — no sidebar, the
results first and full width, labels at 16 px or more, the legend beside the chart, and the share
link as a QR code and a short link students can type."""

from __future__ import annotations

import streamlit as st

from lab.app import present
from lab.app.form import K
from lab.ui.optimizers.context import PRESENT

CSS = f"""<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {{ display: none; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 3rem; padding-bottom: 2rem; }}
[data-testid="stWidgetLabel"] p, [data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li, [data-testid="stTable"] td,
[data-testid="stTable"] th, [data-testid="stTab"] p, button p {{ font-size: {present.FONT}px !important; }}
[data-testid="stMarkdownContainer"] h3 {{ font-size: 1.5rem; padding: 0.25rem 0; }}
.vega-bind-name, .vega-bind label {{ font-size: {present.FONT}px !important; }}
[data-testid="stMarkdownContainer"] h4 code {{ font-size: 1.4rem; }}
/* The chart's two controls stay on one line above it, even on a narrow screen. */
.st-key-opt-charts [data-testid="stHorizontalBlock"] {{ flex-wrap: nowrap !important; }}
.st-key-opt-charts [data-testid="stColumn"] {{
  flex: 1 1 auto !important; width: auto !important; min-width: 0 !important;
}}
</style>"""


def style() -> None:
    st.html(CSS)


def on() -> bool:
    return bool(st.session_state.get(K(PRESENT)))


def keep_in_url() -> None:
    """The URL says present mode while it is on (a reload keeps it; a shared link never carries it)."""
    if on():
        st.query_params[PRESENT] = "1"
    elif PRESENT in st.query_params:
        del st.query_params[PRESENT]


def switched() -> None:
    """The switch's callback: the URL follows, and the whole page reruns (the layout, the sidebar and
    the title change, not only the workspace the switch sits in)."""
    keep_in_url()
    st.session_state[K("full_rerun")] = True


def switch() -> None:
    st.toggle(
        "Present",
        key=K(PRESENT),
        on_change=switched,
        help="For a projector: no sidebar, the chart first and full width, larger labels, and a QR code of the "
        "run for students' phones. The link `?present=1` opens the page this way.",
    )


def share_panel(scheme: str, short: str) -> None:
    """The run's QR code (of its short link: fewer modules, easier to scan off a wall) beside the
    short link in large type."""
    code, words = st.columns([1, 3], vertical_alignment="center")
    with code, st.container(key=K("qr")):
        st.image(present.qr_svg(f"{scheme}://{short}"), width=160)
    words.markdown("**Open this run on your phone**: scan the code, or type")
    words.markdown(f"#### `{short}`")
