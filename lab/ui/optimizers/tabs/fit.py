"""The Fit tab: the data and each optimizer's final line."""

from __future__ import annotations

import streamlit as st

from lab.app import charts
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    for entry, one_key, label in shown.per_run():  # overlaid runs: each run's own data and lines
        st.markdown(f"**Fit**: the data and each optimizer's final line{label}")
        spec = charts.spec(("fit", one_key), lambda e=entry: charts.fit_chart(e.result))
        st.vega_lite_chart(spec=spec, width="stretch")
