"""Optimizers: every chosen optimizer trained side by side on the same data from the same start.

The page, as its outline: the title and the guided experiments, then one workspace — on the left
Train all / Tune learning rates (progress and Stop beside them) and the form; on the right the
results (verdict, loss chart, share link, then lazy tabs). The workspace is a fragment: an edit, a
tab or a chart control reruns only it, and with Live on a short run retrains on every edit. In
present mode the results come first, full width, and the form under them.
The Streamlit layer lives in lab/ui/optimizers; what it decides (cache keys, links, the table, the
verdict, what is short enough to retrain live) in lab/app.
"""

from __future__ import annotations

import streamlit as st

from lab.app import form, view
from lab.app.form import K
from lab.ui.classroom import student
from lab.ui.optimizers import context, controls, intro, reconnect, results, training
from lab.ui.optimizers.context import Page


def main() -> None:
    page = context.load()
    intro.init_defaults(page)
    form.apply_tuned_lrs(st.session_state)
    intro.introduction(page)
    student.posting_line()  # "Posting to room K7MQ as Ada" when this session joined a class (the Class page)
    form_column, results_column = layout(page)
    stop = form_column.empty()  # outside the workspace's fragment: a click here interrupts a training
    training.stop_button(page, stop)
    workspace(page, form_column, results_column)
    stop.empty()  # whatever this run trained is done (or was refused)
    st.session_state.pop(training.NOW, None)
    reconnect.watch()  # after a lost server, the browser reruns this page: its session found again by its URL


def layout(page: Page):
    """(the form's column, the results' column): side by side, or in present mode the results
    above the form, both full width."""
    with st.container(key=K("workspace")):
        if page.present:
            right = st.container()
            return st.container(), right
        return st.columns([2, 3], gap="medium")


@st.fragment
def workspace(page: Page, form_column, results_column) -> None:
    """Actions and form beside the results, in the columns the page made. A press of Train all, a
    link's first open, or (Live) an edit that leads to a short run trains first: the form's values
    are already in the session, and drawing its widgets first would only keep the learner waiting."""
    training.full_rerun_if_asked()  # the Present switch and Reset change what lies outside the fragment
    with form_column:
        intro.link_notices(page)
        actions_slot = st.container()  # Train all and its progress, above the form it trains
    early, _ = form.read(st.session_state)
    drawn = False
    if (why := training.why_train(page, early)) is not None:
        st.session_state[K("autoran")] = True
        with actions_slot:
            progress_slot = st.container()
        training.train(page, early, progress_slot, scroll=why != "live", wait=why != "live")
        drawn = show(page, results_column, early)
    with form_column:
        on_surface = controls.controls(page)
    state, error = form.read(st.session_state)
    with actions_slot:
        pressed_train, pressed_tune, right = training.actions(state, error)
    if state is not None and pressed_tune:
        training.escalate("tune")  # a sweep is long: a full run does it, with Stop
    if state is not None and training.tune_now():
        training.tune_learning_rates(state, right)
    if why is None and state is not None and pressed_train:  # settings only the drawn form made valid
        training.train(page, state, right)
    if not drawn and not show(page, results_column, state):
        with results_column:
            results.before_training(page, on_surface, state)


def show(page: Page, column, state) -> bool:
    """The results of the runs on screen in ``column``; False when there are none."""
    entries = view.shown_entries(page.store, st.session_state.get(K("current"), []))
    if entries:
        with column:
            results.results(page, entries, state)
    return bool(entries)


main()
