"""Training from the page: Train all, Tune learning rates, live retraining after an edit, and the
progress bar and Stop button beside them."""

from __future__ import annotations

import contextlib
import time
import uuid

import streamlit as st

from lab.app import fairqueue, form, limits, live, runs, view
from lab.app.form import K
from lab.app.query import PageState, to_query
from lab.core import cost, tuning
from lab.ui.optimizers import context, present
from lab.ui.optimizers.context import Page

LIVE_SEEN = K("live.seen")  # the form's run as last seen: an edit is a change of it


PENDING = K("pending")  # a long training asked for in a workspace rerun: it runs in the next full run
NOW = K("train_now")  # what this full run trains: "train", "tune" or "link" (set before the workspace)


def stop_button(page: Page, slot) -> None:
    """Before the workspace, outside its fragment: when this run trains something long — Train all or
    Tune pressed in the workspace (which asks for a full run for it), or a link's first open — the
    Stop button in ``slot``. A click on a widget inside a fragment never interrupts a running script
    (Streamlit queues it), one outside does: the rerun it starts stops the work at its next progress
    report, and nothing of it is kept."""
    now = st.session_state.pop(PENDING, None)
    if now is None and page.url_state.autorun and not st.session_state.get(K("autoran")):
        now = "link"
    if now is not None:
        st.session_state[NOW] = now
        slot.button("Stop", key=K("btn.stop"), width="stretch", icon=":material/stop_circle:")


FULL_RERUN = K("full_rerun")  # set by a callback whose change reaches outside the workspace


def full_rerun_if_asked() -> None:
    """A full rerun when a callback asked for one: a widget in the fragment reruns only the fragment,
    and st.rerun() does nothing inside a callback."""
    if st.session_state.pop(FULL_RERUN, False):
        st.rerun()


def escalate(what: str) -> None:
    """Ask for a full run that trains ``what`` with a Stop button beside it (see :func:`stop_button`)."""
    st.session_state[PENDING] = what
    st.rerun()


@contextlib.contextmanager
def working(what: str, right):
    """A progress bar while ``what`` runs; yields (progress callback, on_wait callback, status
    placeholder)."""
    status = right.empty()
    bar = right.progress(0.0, text=f"{what} …")
    shown, since = [None, 0], time.monotonic()

    def queued(place: int) -> None:
        """Called while waiting for a slot: the place and the seconds waited, once a second (each write
        is also where a closed tab's waiting request ends: Streamlit stops it there)."""
        waited = int(time.monotonic() - since)
        if [place, waited] != shown:
            shown[:] = [place, waited]
            ahead = "yours starts next" if place == 1 else f"yours is number {place} in the queue"
            status.info(
                f"Other trainings are using this server; {ahead} (waiting {waited} s) …",
                icon=":material/hourglass_top:",
            )

    try:
        yield view.throttled(lambda f: bar.progress(min(1.0, f), text=f"{what} … {f:.0%}")), queued, status
    finally:
        bar.empty()
        status.empty()


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
    """Why this rerun trains before drawing the form: "button", "link", "live" or None. A press of
    Train all for a run too long for Live asks for a full run that trains it (with Stop)."""
    if state is None:
        return None
    changed = edited(state)
    if st.session_state.get(NOW) in ("train", "link"):
        return "button" if st.session_state.pop(NOW) == "train" else "link"
    if st.session_state.get(K("btn.train")):
        if not live.is_short(state.config):
            escalate("train")
        return "button"
    if page.url_state.autorun and not st.session_state.get(K("autoran")):
        return "link"
    if changed and st.session_state.get(K("live"), True) and live.is_short(state.config):
        return "live"
    return None


def actions(state: PageState | None, error: str | None):
    """Train all and Tune learning rates; returns (train pressed, tune pressed, the container under
    them for progress and notices)."""
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
    return train, tune, right


def tune_now() -> bool:
    """Whether this full run tunes (asked for by a press of Tune in the workspace)."""
    if st.session_state.get(NOW) != "tune":
        return False
    del st.session_state[NOW]
    return True


def tune_learning_rates(state: PageState, right) -> None:
    found = None
    if (refused := limits.check_sweep(len(tuning.lanes(state.config)))) is not None:
        right.error(f"Cannot tune: {refused}", icon=":material/error:")
        return
    with working("Sweeping learning rates", right) as (progress, on_wait, _):
        try:
            found, _ = runs.fetch_or_sweep(state.config, progress=progress, on_wait=on_wait, session=session_id())
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
    if state is None:
        return
    estimate = cost.estimate(state.config)
    budget = limits.LIMITS.seconds
    allowed = f" (this server allows {budget} s)" if budget else ""
    about = limits.duration(estimate)
    if limits.over_budget(estimate):
        st.caption(f":red[{about} to train here: over this server's budget of {budget} s.]")
    elif on and not live.short(estimate):
        st.caption(f"{about} to train here{allowed}: press **Train all**.")
    else:
        st.caption(f"{about} to train here{allowed}.")


def train(page: Page, state: PageState, right, scroll: bool = True, wait: bool = True) -> None:
    """Train (or fetch) the form's run; ``wait=False`` (a live edit): when every slot is in use, say
    so and leave it to Train all rather than freeze the workspace in the queue."""
    entry = None
    with working("Training", right) as (progress, on_wait, status):
        try:
            entry, dropped, source = runs.fetch_or_train(
                page.store, state.config, progress=progress, on_wait=on_wait, session=session_id(), wait=wait
            )
        except fairqueue.Busy:
            right.info("The server is busy: this edit was not retrained. Press **Train all** to queue it.")
        except ValueError as exc:
            right.error(str(exc), icon=":material/error:")
    context.store_trouble(page.store, right)
    if entry is not None:
        st.session_state[K("current")] = [entry.run_id]
        st.session_state[K("scroll")] = scroll  # new results from a press or a link: bring them into view
        st.query_params.from_dict(to_query(state))
        present.keep_in_url()
        context.keep_token()
        if entry.result.stopped is not None:
            status.warning(view.stopped_message(entry.result), icon=":material/timer_off:")
        elif (message := view.source_message(source, entry.run_id)) is not None and not page.present:
            st.toast(message, icon=":material/cached:")  # said, without pushing the form down
        tell_dropped(page, dropped)


def session_id() -> str:
    """This browser session's id, for the fair queue (one training per session at a time)."""
    return st.session_state.setdefault(K("session_id"), uuid.uuid4().hex)
