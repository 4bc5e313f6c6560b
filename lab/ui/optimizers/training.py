"""Training from the page: Train all, Tune learning rates, live retraining after an edit, and the
progress bar and Stop button beside them."""

from __future__ import annotations

import contextlib

import streamlit as st

from lab.app import form, limits, live, runs, view
from lab.app.form import K
from lab.app.query import PageState, to_query
from lab.core import tuning
from lab.ui.optimizers import present
from lab.ui.optimizers.context import Page

LIVE_SEEN = K("live.seen")  # the form's run as last seen: an edit is a change of it


@contextlib.contextmanager
def working(what: str, left, right):
    """A progress bar and a Stop button while ``what`` runs; yields (progress callback, on_wait
    callback, status placeholder). Stop works through Streamlit: the rerun it triggers interrupts
    the work inside the progress callback, and nothing of it is kept."""
    status = right.empty()
    bar = right.progress(0.0, text=f"{what} …")
    stop = left.empty()
    stop.button("Stop", key=K("btn.stop"), width="stretch")
    try:
        yield (
            view.throttled(lambda f: bar.progress(min(1.0, f), text=f"{what} … {f:.0%}")),
            lambda: status.info("Another training is using this server; yours starts next …"),
            status,
        )
    finally:
        bar.empty()
        status.empty()
        stop.empty()


def tell_dropped(page: Page, dropped: list[runs.Entry]) -> None:
    for d in dropped:
        st.toast(
            f"Run #{d.run_id} was dropped from the history (keeping the last {page.store.max_runs}).",
            icon=":material/delete:",
        )


def edited(state: PageState | None) -> bool:
    """Whether the form's run differs from the one it had at the last rerun (an edit), noting it."""
    if state is None:
        return False
    now = state.config.to_json()
    before = st.session_state.get(LIVE_SEEN)
    st.session_state[LIVE_SEEN] = now
    return before is not None and before != now


def why_train(page: Page, state: PageState | None) -> str | None:
    """Why this rerun trains before drawing the form: "button", "link", "live" or None."""
    if state is None:
        return None
    changed = edited(state)
    if st.session_state.get(K("btn.train")):
        return "button"
    if page.url_state.autorun and not st.session_state.get(K("autoran")):
        return "link"
    if changed and st.session_state.get(K("live"), True) and live.is_short(state.config):
        return "live"
    return None


def actions(state: PageState | None, error: str | None):
    """Train all and Tune learning rates; returns (train pressed, tune pressed, left, right)."""
    with st.container(key=K("actions")):
        left, middle = st.columns(2)
        right = st.container()
    train = left.button("Train all", type="primary", key=K("btn.train"), disabled=state is None, width="stretch")
    tune = middle.button(
        "Tune learning rates",
        key=K("btn.tune"),
        disabled=state is None,
        width="stretch",
        help=f"Train each chosen optimizer at {len(tuning.GRID)} learning rates from {tuning.GRID[0]:g} to "
        f"{tuning.GRID[-1]:g} (and at its current one) with these settings, then set each to its best: "
        "the one that gets within tolerance soonest, or else lowest.",
    )
    live_row(state)
    if error:
        right.error(f"Cannot train with these settings: {error}", icon=":material/error:")
    if st.session_state.get(K("btn.stop")):
        right.info(
            "Training stopped. Nothing from the stopped run was kept; earlier runs are still here.",
            icon=":material/stop_circle:",
        )
    return train, tune, left, right


def tune_learning_rates(state: PageState, left, right) -> None:
    found = None
    if (refused := limits.check_sweep(len(tuning.lanes(state.config)))) is not None:
        right.error(f"Cannot tune: {refused}", icon=":material/error:")
        return
    with working("Sweeping learning rates", left, right) as (progress, on_wait, _):
        try:
            found, _ = runs.fetch_or_sweep(state.config, progress=progress, on_wait=on_wait)
        except ValueError as exc:
            right.error(f"Cannot tune: {exc}", icon=":material/error:")
    if found is not None:
        st.session_state[K("sweep")] = found
        st.session_state[form.TUNED] = found.best
        st.rerun()  # the learning-rate widgets take their new values before they are drawn


def live_row(state: PageState | None) -> None:
    """The live switch, and what an edit will do with the form's run as it stands."""
    st.session_state.setdefault(K("live"), True)
    live_switch, present_switch = st.columns([3, 2])
    with present_switch:
        present.switch()
    on = live_switch.toggle(
        "Live: retrain on every edit",
        key=K("live"),
        help=f"Runs estimated to train in at most {live.LIVE_SECONDS:g} s retrain and redraw by themselves when "
        "you change a learning rate, the steps or the optimizers; longer ones wait for Train all.",
    )
    if on and state is not None and not live.is_short(state.config):
        st.caption(
            f"This run is long (about {live.estimate_seconds(state.config):.1f} s to train): press **Train all**."
        )


def train(page: Page, state: PageState, left, right, scroll: bool = True) -> None:
    entry = None
    with working("Training", left, right) as (progress, on_wait, status):
        try:
            entry, dropped, source = runs.fetch_or_train(page.store, state.config, progress=progress, on_wait=on_wait)
        except ValueError as exc:
            right.error(str(exc), icon=":material/error:")
    if entry is not None:
        st.session_state[K("current")] = [entry.run_id]
        st.session_state[K("scroll")] = scroll  # new results from a press or a link: bring them into view
        st.query_params.from_dict(to_query(state))
        present.keep_in_url()
        if (message := view.source_message(source, entry.run_id)) is not None:
            status.success(message, icon=":material/cached:")
        tell_dropped(page, dropped)
