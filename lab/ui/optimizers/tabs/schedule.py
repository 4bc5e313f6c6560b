"""The Schedule tab: the learning rate each optimizer used, step by step."""

from __future__ import annotations

import streamlit as st

from lab.app import charts, view
from lab.app.form import K
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    overlaid = view.overlay(shown.entries)
    focus = not st.session_state.get(K("full_range"), False)  # the loss chart's window
    st.markdown("**Learning rate** each optimizer used, step by step (its schedule; log scale)")
    with st.container(key=K("lr_chart")):
        spec = charts.spec(("lr", focus, shown.key), lambda: charts.lr_chart(overlaid, focus=focus))
        st.vega_lite_chart(spec=spec, width="stretch")
    st.caption("The same steps as the loss chart above: *Full range* there shows every step here too.")
