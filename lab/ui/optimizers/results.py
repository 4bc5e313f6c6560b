"""The results side of the workspace: before a run, what will be trained on; after one, the verdict,
the loss chart, the share link, and the lazy tabs."""

from __future__ import annotations

import streamlit as st

from lab.app import charts, experiments, form, present, runs, session, verdict, view
from lab.app.form import K
from lab.app.query import PageState
from lab.app.runs import Entry
from lab.core import landscapes
from lab.core.data import make_data
from lab.ui.optimizers import present as present_ui
from lab.ui.optimizers.context import Page
from lab.ui.optimizers.tabs import Shown, downloads, sweep, tabs

LOSS_HEIGHT = 400  # px, the legend below included: about 250 for the curves
PRESENT_HEIGHT = 310  # px in present mode, the legend beside: the chart and its legend in a 576 px screen


def before_training(page: Page, on_surface: bool, state: PageState | None) -> None:
    """No run on screen yet: what will be trained on (the surface, or the data), a sweep if one was
    made, and the history (runs can be shown from it)."""
    over = None if state is None else runs.budget_refusal(state.config)
    if over is not None:  # say it before Train all is pressed, where the learner looks first
        st.warning(over, icon=":material/timer_off:")
    else:
        st.info("Press **Train all** to train the chosen optimizers side by side.", icon=":material/touch_app:")
    if on_surface:
        land = landscapes.get(st.session_state[K("problem")])
        st.markdown(f"**The surface**: {land.description} Every optimizer starts at the circle {land.start}.")
        spec = charts.spec(("surface", land.name), lambda: charts.landscape_chart(land.name))
        st.vega_lite_chart(spec=spec, width="stretch")
    else:
        data_cfg = session.data_config(st.session_state)
        x, y = make_data(data_cfg, int(st.session_state[session.SEED]))
        st.markdown(f"**The data** — {session.data_label(st.session_state)}")
        target = "best fit" if data_cfg.dataset is not None else "true"
        chart = charts.data_chart(x.numpy(), y.numpy(), data_cfg.true_w, data_cfg.true_b, target=target)
        st.altair_chart(chart, width="stretch")
    if st.session_state.get(K("sweep")) is not None:
        st.markdown("**Learning-rate sweep**")
        sweep.sweep_view(state)
    if page.store.entries:  # runs can be shown from it
        downloads.history(page)


def results(page: Page, entries: list[Entry], state: PageState | None) -> None:
    main = entries[0]
    st.subheader(view.results_heading(entries, state))
    if st.session_state.pop(K("scroll"), False) and not page.present:
        st.iframe(view.SCROLL_TO_RESULTS, height=1)
    surface = not main.config.is_regression
    st.markdown(verdict.verdict(main.result), help=verdict.HELP)
    overlaid, key = view.overlay(entries), view.chart_key(entries)
    with st.container(key=K("charts")):
        measure, focus = loss_chart(overlaid, key, surface, page.present)
    st.caption(  # what was trained, then what the chart shows of it
        form.run_caption(main.config, main.result.device, main.result.seconds, main.source)
        + ". "
        + charts.window_caption(overlaid, measure, focus=focus)
        + " Grey band: the precision's rounding.",
        help="Hover for step, loss, w and b; click a legend entry to highlight it; Shift+scroll zooms, "
        "double-click resets; a red cross marks a divergence.\n\n" + form.LOSS_FLOOR,
    )
    share(page, main)
    if page.url_state.experiment and view.same_run(main.config, page.url_state.config):  # under its chart
        exp = experiments.get(page.url_state.experiment)
        st.info(f"**{exp.title} — what to look for.** {exp.look_for}", icon=":material/science:")
    shown = Shown(page=page, entries=entries, key=key, surface=surface, form_state=state)
    # Depth in lazy tabs: only the open one is computed and drawn.
    labels = view.tab_labels(
        surface, schedule=charts.scheduled(overlaid), sweep=st.session_state.get(K("sweep")) is not None
    )
    if st.session_state.get(K("tab")) not in labels:  # a tab the other kind of problem has
        st.session_state[K("tab")] = labels[0]
    draw = tabs()
    for label, tab in zip(labels, st.tabs(labels, key=K("tab"), on_change="rerun"), strict=True):
        if tab.open:
            with tab:
                draw[label](shown)


def share(page: Page, main: Entry) -> None:
    """The link that opens and trains the run on screen; in present mode its QR code and short form."""
    link = view.share_link(st.context.url or "", main.config, page.url_state)
    # The box's state is the widget's: set it to the run on screen each time (a value= argument
    # would only be read the first time the box is drawn).
    st.session_state[K("share_link")] = link
    st.text_input(
        "Share this comparison (opens and trains the same run):", key=K("share_link"), label_visibility="collapsed"
    )
    if (warning := runs.share_warning(main.config)) is not None:
        st.caption(warning)
    if page.present:
        experiment = page.url_state.experiment if view.same_run(main.config, page.url_state.config) else None
        state = view.share_state(main.config, page.url_state)
        base = st.context.url or ""
        scheme = base.split("://")[0] if "://" in base else "http"
        present_ui.share_panel(scheme, present.short_link(base, state, experiment))


def loss_chart(overlaid, key: tuple, surface: bool, presenting: bool) -> tuple[str, bool]:
    """The loss chart with its two controls; returns what it plots and whether it is focused."""
    if surface:  # the height above the minimum: the saddle's minimum is below 0, off a log scale
        measure = "excess"
        st.markdown("**Loss above the minimum**, step by step")
    else:
        plot, toggle = st.columns([3, 2], vertical_alignment="center")
        measure = plot.radio(
            "Plot",
            ["loss", "excess"],
            key=K("measure"),
            horizontal=True,
            format_func=lambda m: "loss" if m == "loss" else "loss − best possible loss",
            help="With noisy data the loss cannot reach 0; the excess shows how close each gets.",
            label_visibility="collapsed",
        )
    full = (toggle if not surface else st).toggle(
        "Full range",
        key=K("full_range"),
        help="Every step, and the loss down to its smallest value. Off: the steps where the learning happens, "
        "and the axis down to just below the precision's rounding (the grey band).",
    )
    height = PRESENT_HEIGHT if presenting else LOSS_HEIGHT
    with st.container(key=K("loss_chart")):  # a stable hook for browser tests and benchmarks
        spec = charts.spec(
            ("loss", measure, not full, height, key),
            lambda: charts.loss_chart(overlaid, measure, focus=not full, height=height),
        )
        st.vega_lite_chart(spec=present.presentable(spec) if presenting else spec, width="stretch")
    return measure, not full
