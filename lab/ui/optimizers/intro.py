"""The top of the page: the form's first values, the title, the link's notices and the guided
experiments (folded away once results are coming)."""

from __future__ import annotations

import streamlit as st

from lab.app import experiments, form, runs, session, view
from lab.app.form import K
from lab.ui.optimizers import context, present
from lab.ui.optimizers.context import THIS_PAGE, Page


def init_defaults(page: Page) -> None:
    """First visit of the session (or a new experiment): the form starts from the URL's
    configuration or the defaults."""
    if st.session_state.get(K("ready")):
        return
    form.write(st.session_state, page.url_state)
    # A guided experiment opens on the view its text talks about.
    exp = page.url_state.experiment
    st.session_state[K("measure")] = experiments.get(exp).measure if exp else "loss"
    st.session_state.setdefault(K("keep"), runs.DEFAULT_MAX_RUNS)
    st.session_state[K("ready")] = True


def introduction(page: Page) -> None:
    """The title, the guided experiments one click away beside it, and what the page compares (in
    present mode only its style: the chart comes first)."""
    st.html(view.NARROW_CSS)
    if page.present:
        present.style()
        return
    title, menu = st.columns([3, 1], vertical_alignment="bottom")
    title.title("Optimizers, side by side")
    with menu:
        guided_experiments()
    st.caption(
        "Every optimizer trains the same `nn.Linear(1, 1)` on the same data (or walks the same surface) **from "
        "the same starting (w, b)** with the same batches: only the update rule differs.",
        help="GD uses all samples per step, SGD one, mini-batch SGD a few; the rest add memory (Momentum) or "
        "per-parameter step sizes (AdaGrad, RMSProp) or both (Adam).",
    )


def link_notices(page: Page) -> None:
    """What the link asked for and could not have, until the learner trains something else; and,
    once, that the run store cannot be used."""
    context.store_trouble(page.store, st)
    if st.session_state.get(K("btn.train")) or st.session_state.get(K("btn.tune")):
        st.session_state[session.URL_NOTICES] = []  # the link's notices were about the link's run
    for notice in st.session_state.get(session.URL_NOTICES, []):
        st.warning(notice, icon=":material/link:")


def guided_experiments() -> None:
    """One click away, beside the title: each guided experiment's question and a link that loads and
    trains it."""
    with (
        st.popover("Guided experiments", icon=":material/science:", width="stretch"),
        st.container(key=K("experiments")),
    ):
        st.caption("A question, one click, and what to look for.")
        for exp in experiments.EXPERIMENTS:
            st.markdown(f"**{exp.title}** — {exp.question}")
            st.page_link(THIS_PAGE, label="Load and train", icon=":material/science:", query_params={"exp": exp.key})
