"""The Sweep tab: the last learning-rate sweep (Tune), each optimizer's result against its rate."""

from __future__ import annotations

import streamlit as st

from lab.app import charts, form
from lab.app.form import K
from lab.app.query import PageState
from lab.core import tuning
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    sweep_view(shown.form_state)


def sweep_view(state: PageState | None) -> None:
    """The sweep kept in the session, said to be stale once the settings it swept have changed."""
    found: tuning.Sweep | None = st.session_state.get(K("sweep"))
    if found is None:
        return
    current = form.sweep_is_current(found, state)
    if not current:
        st.caption("From earlier settings: press Tune again to sweep these.")
    st.markdown(form.sweep_summary(found, current))
    spec = charts.spec(("sweep", found.config.to_json(), found.grid), lambda: charts.sweep_chart(found.table))
    st.vega_lite_chart(spec=spec, width="stretch")
    st.caption(form.sweep_caption(found, current))
