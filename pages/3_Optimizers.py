"""Optimizers: every chosen optimizer trained side by side on the same data from the same start.

The page: introduction and guided experiments, then one workspace — on the left Train all / Tune
learning rates (with progress and Stop), the form (learning rates in one table, every other
hyperparameter a tab per optimizer) and the sweep; on the right the results once a run exists
(verdict, loss chart, share link, then lazy tabs: table, fit, paths, explain a step, downloads and
history). Below 1 100 px the two stack, the results first.
What it decides (cache keys, share links, the table, the verdict) lives in lab/app; this file draws.
"""

from __future__ import annotations

import contextlib
import inspect

import streamlit as st

from lab.app import charts, experiments, form, limits, runs, session, steps, tables, verdict, view
from lab.app.form import K, hp_key
from lab.app.query import PageState, to_query
from lab.app.runs import Entry
from lab.core import explain, landscapes, noise, optimizers, reproduce, schedulers, scratch, tuning
from lab.core.config import OBJECTIVES, REGRESSION
from lab.core.data import make_data

THIS_PAGE = "../pages/3_Optimizers.py"  # relative to the entrypoint, lab/Home.py
LOSS_HEIGHT = 440  # px, the legend below included: about 270 for the curves


reg = optimizers.registry()
url_state: PageState = st.session_state.get(session.URL_STATE) or PageState()
store: runs.RunStore = st.session_state.setdefault(K("store"), runs.RunStore())


def init_defaults() -> None:
    """First visit of the session (or a new experiment): the form starts from the URL's
    configuration or the defaults."""
    if st.session_state.get(K("ready")):
        return
    form.write(st.session_state, url_state)
    # A guided experiment opens on the view its text talks about.
    st.session_state[K("measure")] = experiments.get(url_state.experiment).measure if url_state.experiment else "loss"
    st.session_state.setdefault(K("keep"), runs.DEFAULT_MAX_RUNS)
    st.session_state[K("ready")] = True


def hyperparam_widget(spec: optimizers.OptimizerSpec, p: optimizers.HyperParam, disabled: bool) -> None:
    key = hp_key(spec.name, p.name)
    if p.kind != "pair":
        param_widget(key, p, spec.defaults[p.name], disabled)
        return
    cols = st.columns(2)
    for i, col in enumerate(cols):
        k = hp_key(spec.name, p.name, i)
        st.session_state.setdefault(k, spec.defaults[p.name][i])
        col.number_input(
            f"{p.name}[{i}]",
            float(p.low[i]),
            float(p.high[i]),
            key=k,
            format="%g",
            step=form.step_size(p.low[i], p.high[i], spec.defaults[p.name][i], p.log),
            help=p.help,
        )


def param_widget(key: str, p: optimizers.HyperParam, default, disabled: bool = False) -> None:
    """One number, switch or choice of an optimizer or a schedule, pre-filled with its default."""
    st.session_state.setdefault(key, default)
    if p.kind == "bool":
        st.checkbox(p.name, key=key, help=p.help)
    elif p.kind == "choice":
        st.selectbox(p.name, list(p.choices), key=key, help=p.help, format_func=str)
    elif p.kind == "int":
        st.number_input(p.name, int(p.low), int(p.high), step=1, key=key, help=p.help)
    else:
        low = max(p.low, 1e-6) if p.low_open else p.low
        st.number_input(
            p.name,
            float(low),
            float(p.high),
            key=key,
            format="%g",
            disabled=disabled,
            step=form.step_size(low, p.high, default, p.log),
            help=p.help,
        )


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


def tell_dropped(dropped: list[runs.Entry]) -> None:
    for d in dropped:
        st.toast(
            f"Run #{d.run_id} was dropped from the history (keeping the last {store.max_runs}).",
            icon=":material/delete:",
        )


def introduction() -> None:
    st.html(view.NARROW_CSS)
    st.title("Optimizers, side by side")
    st.caption(
        "Every optimizer trains the same `nn.Linear(1, 1)` on the same data (or walks the same surface) **from the "
        "same starting (w, b)** with the same batches: only the update rule differs.",
        help="GD uses all samples per step, SGD one, mini-batch SGD a few; the rest add memory (Momentum) or "
        "per-parameter step sizes (AdaGrad, RMSProp) or both (Adam).",
    )
    if st.session_state.get(K("btn.train")) or st.session_state.get(K("btn.tune")):
        st.session_state[session.URL_NOTICES] = []  # the link's notices were about the link's run
    for notice in st.session_state.get(session.URL_NOTICES, []):
        st.warning(notice, icon=":material/link:")
    training_now = (url_state.autorun and not st.session_state.get(K("autoran"))) or st.session_state.get(
        K("btn.train")
    )
    folded = bool(store.entries) or bool(training_now)  # results are coming: keep them in view
    with (
        st.expander("Guided experiments: a question, one click, and what to look for", expanded=not folded),
        st.container(key=K("experiments")),
    ):
        cols = st.columns(2)
        for i, exp in enumerate(experiments.EXPERIMENTS):
            with cols[i % 2].container(border=True):
                st.markdown(f"**{exp.title}** — {exp.question}")
                st.page_link(
                    THIS_PAGE, label="Load and train", icon=":material/science:", query_params={"exp": exp.key}
                )


def controls() -> bool:
    """The form: problem, optimizers, steps, batch size, learning rates, hyperparameters.
    Returns whether a surface (not the regression) is chosen."""
    with st.container(border=True, key=K("controls")):
        said, reset = st.columns([3, 2], vertical_alignment="center")
        if (what := form.what_it_set(url_state)) is not None and st.session_state.get(K("from_link"), True):
            said.caption(what)
        reset.button(
            "Reset to defaults",
            key=K("btn.reset"),
            on_click=reset_form,
            type="tertiary",
            icon=":material/restart_alt:",
            help="Every setting back to the tutorial's: its seven optimizers at their default rates, 1 000 steps, "
            "no schedule, generated data.",
        )
        st.selectbox(
            "Problem",
            list(OBJECTIVES),
            key=K("problem"),
            format_func=form.problem_title,
            help="The tutorial's regression, or a classic two-parameter surface where (w, b) are just coordinates. "
            + form.problem_caption(st.session_state.get(K("problem"), REGRESSION)),
        )
        on_surface = st.session_state[K("problem")] != REGRESSION
        st.multiselect(
            "Optimizers",
            reg.names(),
            key=K("selected"),
            help="The tutorial's seven are chosen by default; add any other torch.optim optimizer.",
        )
        c2, c3, c4 = st.columns(3)
        c2.number_input(
            "Steps",
            1,
            limits.LIMITS.steps,
            step=100,
            key=K("steps"),
            help=f"Optimizer steps per optimizer (at most {limits.LIMITS.steps:,} here).",
        )
        samples = session.data_config(st.session_state).samples  # the generated count, or the file's rows
        if st.session_state[K("batch")] > samples:
            st.session_state[K("batch")] = samples
        c3.number_input(
            "Mini-batch size",
            1,
            samples,
            step=1,
            key=K("batch"),
            disabled=on_surface,
            help="Samples per step for mini-batch optimizers (GD uses all, SGD one).",
        )
        c4.number_input(
            "Repeats",
            1,
            limits.LIMITS.repeats,
            step=1,
            key=K("repeats"),
            help="Train each optimizer this many times, each from a new start with a new batch order; the loss "
            f"chart shows the median and the min–max band (at most {limits.LIMITS.repeats} here).",
        )
        s1, s2 = st.columns(2)
        s1.toggle("Same learning rate for all", key=K("same_lr_on"))
        st.selectbox(
            "Precision",
            list(form.DTYPE_TITLES),
            key=K("dtype"),
            format_func=form.DTYPE_TITLES.get,
            help=form.DTYPE_HELP,
        )
        s2.number_input(
            "Learning rate for all",
            1e-6,
            10.0,
            key=K("same_lr"),
            format="%g",
            step=0.01,
            disabled=not st.session_state[K("same_lr_on")],
            label_visibility="collapsed",
        )
        schedule_row()
        hyperparameters(same_lr_on=bool(st.session_state[K("same_lr_on")]))
    return on_surface


def reset_form() -> None:
    """The Reset button's callback: runs before the widgets are drawn, so they take the defaults."""
    form.reset(st.session_state)
    st.session_state[K("from_link")] = False  # the link's settings are gone: stop saying them
    st.query_params.clear()


def lr_table(names: list[str], same_lr_on: bool) -> None:
    """Every chosen optimizer's learning rate in one editable table, the rest of its settings in words."""
    version = st.session_state.setdefault(K("hp_table_version"), 0)

    def edited(key: str) -> None:
        st.session_state[form.HP_NOTICES] = form.apply_hp_edits(st.session_state, names, st.session_state[key])
        st.session_state[K("hp_table_version")] += 1  # a fresh editor, drawn from the fields just written

    key = f"{form.HP_TABLE}.{version}"
    st.data_editor(
        form.hp_rows(st.session_state, names),
        key=key,
        on_change=edited,
        args=(key,),
        hide_index=True,
        width="stretch",
        disabled=["optimizer", form.MORE_COLUMN] + ([form.LR_COLUMN] if same_lr_on else []),
        column_config={
            "optimizer": st.column_config.TextColumn(width="small"),
            form.LR_COLUMN: st.column_config.NumberColumn(
                format="%g", min_value=0.0, help="Click to edit. Each optimizer's own rate (0 < lr ≤ 10)."
            ),
        },
    )
    for notice in st.session_state.pop(form.HP_NOTICES, []):
        st.warning(notice, icon=":material/block:")


def schedule_row() -> None:
    """One learning-rate schedule for all optimizers, or a switch to give each its own."""
    each = st.toggle(
        "A schedule per optimizer",
        key=form.EACH,
        help="Off: one schedule for every optimizer. On: each optimizer's tab under *Every hyperparameter* has "
        "its own.",
    )
    if each:
        st.caption("Learning-rate schedules: set in each optimizer's tab of *Every hyperparameter* below.")
        return
    schedule_widgets(form.ALL)


def schedule_widgets(scope: str) -> None:
    """A schedule selector and, once one is chosen, its parameters (empty: follows the run's steps)."""
    st.session_state.setdefault(form.sched_key(scope), form.CONSTANT)
    name = st.selectbox(
        "Learning-rate schedule",
        [form.CONSTANT, *schedulers.registry().names()],
        key=form.sched_key(scope),
        format_func=form.schedule_title,
        help="A torch.optim.lr_scheduler class, stepped once after every optimizer step. The learning rate "
        "each optimizer gets at each step is drawn under the loss chart.",
    )
    if name == form.CONSTANT:
        return
    spec = schedulers.get(name)
    steps_now = int(st.session_state[K("steps")])
    st.caption(f"`{name}` — {spec.description}")
    cols = st.columns(min(4, max(1, len(spec.params))))
    for i, p in enumerate(spec.params):
        key = form.sched_key(scope, name, p.name)
        with cols[i % len(cols)]:
            if p.name in spec.derived:
                auto = spec.derived[p.name](steps_now)
                st.session_state.setdefault(key, None)
                shown = ", ".join(map(str, auto)) if isinstance(auto, tuple) else f"{auto:g}"
                hint = f"{p.help} Empty: follows the run's steps ({shown} for {steps_now:,} steps)."
                if p.kind == "ints":
                    st.text_input(p.name, key=key, placeholder=f"auto: {shown}", help=hint)
                else:
                    low = max(p.low, 1e-6) if p.low_open else p.low
                    cast = int if p.kind == "int" else float
                    st.number_input(
                        p.name, cast(low), cast(p.high), value=None, key=key, placeholder=f"auto: {shown}", help=hint
                    )
            else:
                param_widget(key, p, spec.defaults[p.name])


def hyperparameters(same_lr_on: bool) -> None:
    """The learning rates in one table; every other hyperparameter (and a schedule per optimizer) in
    one folded box, a tab per optimizer; and the classes torch has that cannot train this model."""
    chosen = [reg.get(n) for n in st.session_state[K("selected")]]
    if chosen:
        lr_table([spec.name for spec in chosen], same_lr_on)
    each = bool(st.session_state.get(form.EACH))
    title = "Every hyperparameter" + (" and each optimizer's schedule" if each else "") + ", per optimizer"
    with st.expander(title, expanded=each):
        st.caption("Pre-filled with each optimizer's defaults; ranges as torch allows.")
        labels = [spec.name for spec in chosen] + ["Not available here"]
        for spec, tab in zip([*chosen, None], st.tabs(labels), strict=True):
            with tab:
                if spec is None:
                    for name, why in optimizers.unavailable().items():
                        st.markdown(f"- **{name}** — {why}")
                    continue
                st.caption(
                    f"`torch.optim.{spec.torch_class}` · batch: {form.BATCH_WORDS[spec.batch]}. {spec.description}"
                )
                for p in spec.params:
                    hyperparam_widget(spec, p, disabled=same_lr_on and p.name == "lr")
                if each:
                    schedule_widgets(spec.name)


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


def sweep_section(state: PageState | None) -> None:
    found: tuning.Sweep | None = st.session_state.get(K("sweep"))
    if found is None:
        return
    current = form.sweep_is_current(found, state)
    title = "Learning-rate sweep" + ("" if current else " — from earlier settings (press Tune again)")
    with st.expander(title, expanded=current):
        st.markdown(form.sweep_summary(found, current))
        spec = charts.spec(("sweep", found.config.to_json(), found.grid), lambda: charts.sweep_chart(found.table))
        st.vega_lite_chart(spec=spec, width="stretch")
        st.caption(form.sweep_caption(found, current))


def train(state: PageState, left, right) -> None:
    entry = None
    with working("Training", left, right) as (progress, on_wait, status):
        try:
            entry, dropped, source = runs.fetch_or_train(store, state.config, progress=progress, on_wait=on_wait)
        except ValueError as exc:
            right.error(str(exc), icon=":material/error:")
    if entry is not None:
        st.session_state[K("current")] = [entry.run_id]
        st.session_state[K("scroll")] = True  # new results: bring them into view
        st.query_params.from_dict(to_query(state))
        if (message := view.source_message(source, entry.run_id)) is not None:
            status.success(message, icon=":material/cached:")
        tell_dropped(dropped)


def before_training(on_surface: bool) -> None:
    """No run on screen yet: what will be trained on (the surface, or the data)."""
    st.info("Press **Train all** to train the chosen optimizers side by side.", icon=":material/touch_app:")
    if on_surface:
        land = landscapes.get(st.session_state[K("problem")])
        st.markdown(f"**The surface**: {land.description} Every optimizer starts at the circle {land.start}.")
        spec = charts.spec(("surface", land.name), lambda: charts.landscape_chart(land.name))
        st.vega_lite_chart(spec=spec, width="stretch")
        return
    data_cfg = session.data_config(st.session_state)
    x, y = make_data(data_cfg, int(st.session_state[session.SEED]))
    with st.container():
        st.markdown(f"**The data** — {session.data_label(st.session_state)}")
        target = "best fit" if data_cfg.dataset is not None else "true"
        chart = charts.data_chart(x.numpy(), y.numpy(), data_cfg.true_w, data_cfg.true_b, target=target)
        st.altair_chart(chart, width="stretch")


def results(shown: list[Entry], state: PageState | None) -> None:
    main = shown[0]
    st.subheader(view.results_heading(shown, state))
    if st.session_state.pop(K("scroll"), False):
        st.iframe(view.SCROLL_TO_RESULTS, height=1)
    surface = not main.config.is_regression
    st.caption(form.run_caption(main.config, main.result.device, main.result.seconds, main.source))
    st.markdown(verdict.verdict(main.result), help=verdict.HELP)
    overlaid, key = view.overlay(shown), view.chart_key(shown)
    with st.container(key=K("charts")):
        loss_chart(overlaid, key, surface)
    # The box's state is the widget's: set it to the run on screen each time (a value= argument
    # would only be read the first time the box is drawn).
    st.session_state[K("share_link")] = view.share_link(st.context.url or "", main.config, url_state)
    st.text_input(
        "Share this comparison (opens and trains the same run):", key=K("share_link"), label_visibility="collapsed"
    )
    if url_state.experiment and view.same_run(main.config, url_state.config):  # under the chart it explains
        exp = experiments.get(url_state.experiment)
        st.info(f"**{exp.title} — what to look for.** {exp.look_for}", icon=":material/science:")
    # Depth in lazy tabs: only the open one is computed and drawn.
    labels = view.tab_labels(surface)
    if st.session_state.get(K("tab")) not in labels:  # a tab the other kind of problem has
        st.session_state[K("tab")] = labels[0]
    for label, tab in zip(labels, st.tabs(labels, key=K("tab"), on_change="rerun"), strict=True):
        if tab.open:
            with tab:
                TABS[label](shown, key, surface)


def table_tab(shown: list[Entry], key: tuple, surface: bool) -> None:
    main = shown[0]
    for entry in shown:  # overlaid runs: each run's own table
        if len(shown) > 1:
            st.markdown(f"**Run #{entry.run_id}**")
        with st.container(key=K("results_table", entry.run_id)):
            st.table(tables.styled(tables.results_table(entry.result), entry.result))
    together = tables.shared_ms(main.result)
    st.caption(
        "Converged first (fewest steps to tolerance), then by final loss; diverged last. Green: the best of a "
        "column, where it beats the rest by more than the precision's rounding."
        + (f" Trained side by side in one pass: {together:.1f} ms." if together is not None else ""),
        help=f"Converged: the loss stays within {main.config.tol:g} of the best possible loss (the best-fit "
        "line's, or the surface's minimum) over at least the last tenth of the run. Hovering: it got there and "
        "left again. Not yet: it has not got there.\n\n" + tables.RANKING_NOTE,
    )


def per_run(shown: list[Entry], key: tuple):
    """(entry, its chart key, " — run #n" when several are overlaid): each run's own chart."""
    for entry, one_key in zip(shown, key, strict=True):
        yield entry, one_key, f" — run #{entry.run_id}" if len(shown) > 1 else ""


def fit_tab(shown: list[Entry], key: tuple, surface: bool) -> None:
    for entry, one_key, label in per_run(shown, key):  # overlaid runs: each run's own data and lines
        st.markdown(f"**Fit**: the data and each optimizer's final line{label}")
        spec = charts.spec(("fit", one_key), lambda e=entry: charts.fit_chart(e.result))
        st.vega_lite_chart(spec=spec, width="stretch")


def paths_tab(shown: list[Entry], key: tuple, surface: bool) -> None:
    main = shown[0]
    if surface:
        for entry, one_key, label in per_run(shown, key):
            st.markdown(f"**Paths** over the surface (darker: higher; ◆ the minimum){label}")
            paths_chart(entry, one_key)
        return
    arrows = bool(noise.eligible(main.result)) and st.toggle(
        "Gradient noise: the step each batch would take, at the slider's step",
        key=K("noise"),
        help="For plain SGD and mini-batch SGD: arrows from the point on the path for the full-data gradient's "
        "step and this batch's, a cloud of other batches', and the batch gradient's variance against batch size.",
    )
    if arrows:
        gradient_noise(main, key[0])
    else:
        paths_chart(main, key[0])
    st.caption(
        "Each line is one optimizer's (w, b) step by step, over the loss surface (darker: higher). "
        "The diamond is the best fit (w, b). Click a legend entry to highlight one path."
    )


def explain_tab(shown: list[Entry], key: tuple, surface: bool) -> None:
    """One step of one optimizer: the rule with this lane's hyperparameters, torch's numbers before
    and after, our implementation's step beside it, and how the step sizes evolve over the run."""
    st.caption(
        "Replays one optimizer of this run with its real torch.optim class (same data, start and batches) "
        "and shows one step in full."
    )
    with st.container(key=K("explain_view")):  # a stable hook for browser tests
        explain_view(shown[0].config)


def downloads_tab(shown: list[Entry], key: tuple, surface: bool) -> None:
    exports(shown[0])
    history()


def explain_view(cfg) -> None:
    names = [o.display for o in cfg.optimizers]
    if st.session_state.get(K("explain.opt")) not in names:
        st.session_state[K("explain.opt")] = "Adam" if "Adam" in names else names[0]
    st.session_state[K("explain.step")] = min(
        int(st.session_state.get(K("explain.step"), steps.default_step(cfg.steps))), cfg.steps
    )
    c1, c2, c3 = st.columns([2, 1, 3])
    name = c1.selectbox("Optimizer to explain", names, key=K("explain.opt"))
    k = int(c2.number_input("Step", 1, cfg.steps, step=1, key=K("explain.step"), help="Steps count from 1."))
    c3.caption(
        f"Step {k}'s gradient is taken at the parameters left by {k - 1} update(s); *after* is after step {k}."
        + (" The first repeat's lane." if cfg.repeats > 1 else "")
    )
    try:
        with st.spinner(f"Replaying {name} with torch.optim …"):
            detail, tr = steps.step(cfg, name, k), steps.trace(cfg, name)
    except ValueError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    left, right = st.columns([3, 2])
    with left:
        if detail.formula:
            st.latex(detail.formula)
            st.caption(detail.intuition)
        else:
            st.info(
                f"No formula is written down here for `torch.optim.{detail.torch_class}`: below are torch's own "
                "numbers, its state before and after the step.",
                icon=":material/info:",
            )
        st.table(steps.step_frame(detail))
    with right:
        st.markdown(f"**{name}: step sizes over the run** (log–log; the dashed rule is step {k})")
        st.altair_chart(charts.step_size_chart(tr, steps.chart_steps(cfg.steps), k), width="stretch")
        if detail.effective_means:
            st.caption(
                f"Solid: each parameter's effective step size, {detail.effective_means}. "
                "Dashed: |Δθ|, the step it took."
            )
    if detail.max_abs_diff is not None:
        st.markdown(
            f"**Our implementation**, from torch's state before step {k}: largest |ours − torch| after the step "
            f"= `{detail.max_abs_diff:.3g}` ({cfg.dtype}; in float32 the last bit may round differently)."
        )
        st.code(explain.source(detail.torch_class), language="python")
    side_by_side(cfg)


def side_by_side(cfg) -> None:
    """Every rule we write down on one screen, and how closely each follows torch.optim on this run."""
    if not st.toggle("Side by side: every implementation of ours, checked against torch.optim", key=K("side")):
        return
    with st.spinner("Training each implementation of ours beside torch.optim …"):
        table = steps.agreement_frame(cfg)
    if len(table):
        fmt = {"largest |ours − torch|": st.column_config.NumberColumn(format="%.2e")}
        st.dataframe(table, hide_index=True, column_config=fmt)
        st.caption(
            f"Each trained on its own (its own state, gradients at its own parameters) from the run's start and "
            f"batches, for the first {int(table['steps compared'].max()):,} steps, in {cfg.dtype}."
        )
    cols = st.columns(3)
    for i, algo in enumerate(scratch.ALGORITHMS.values()):
        with cols[i % 3]:
            st.caption(f"`torch.optim.{algo.torch_class}`")
            st.code(inspect.getsource(algo.step), language="python")


def paths_chart(entry: Entry, one_key: tuple, with_noise: bool = False) -> None:
    """The paths with their step slider (log-spaced: the early steps get room) and a Play button
    that moves the slider in the browser; ``with_noise``: the gradient-noise arrows too."""
    with st.container(key=K("paths_chart", entry.run_id)):
        if with_noise:
            arrows = lambda: charts.noise_for(one_key, entry.result)[0]  # noqa: E731
            build = lambda: charts.trajectory_chart(entry.result, noise_arrows=arrows())  # noqa: E731
        else:
            build = lambda: charts.trajectory_chart(entry.result)  # noqa: E731
        spec = charts.spec(("paths", with_noise, one_key), build)
        st.vega_lite_chart(spec=spec, width="stretch")
        st.iframe(view.play_button(K("paths_chart", entry.run_id)), height=44)


def gradient_noise(entry: Entry, one_key: tuple) -> None:
    """The paths with the gradient-noise arrows, and beside them the batch gradient's variance
    against batch size at the same step (its marker follows the paths slider)."""
    left, right = st.columns([3, 2])
    with left:
        paths_chart(entry, one_key, with_noise=True)
    with right:
        st.markdown("**Variance of the batch gradient** against batch size, at the slider's point")
        with st.container(key=K("noise_chart")):
            spread = charts.noise_for(one_key, entry.result)[1]
            spec = charts.spec(
                ("noise", one_key), lambda: charts.noise_variance_chart(spread, entry.result.config.steps)
            )
            st.vega_lite_chart(spec=spec, width="stretch")
        st.caption(
            "Exact, from the data: a batch of m of the N samples, drawn without replacement, has a gradient whose "
            "variance is the per-sample variance ÷ m × (N − m)/(N − 1) — halving with each doubling of the batch, "
            "and 0 for the full data. The dot is each optimizer's own batch size."
        )
    st.caption(
        "Arrows from each SGD path's point at the slider's step: **black** the step the full-data gradient would "
        "take, **red** the step this batch's gradient took (it ends on the path's next point), **grey** the steps "
        f"{noise.CLOUD} other batches of the same size would have taken. Each is −(learning rate × gradient): "
        "the arrow is the step. Move the slider or press Play: far from the best fit the batches agree on the "
        "direction; near it the full-data gradient shrinks to nothing and the batches' disagreement is all that "
        "is left — SGD's jitter."
    )


def loss_chart(overlaid, key: tuple, surface: bool) -> None:
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
    with st.container(key=K("loss_chart")):  # a stable hook for browser tests and benchmarks
        spec = charts.spec(
            ("loss", measure, not full, key),
            lambda: charts.loss_chart(overlaid, measure, focus=not full, height=LOSS_HEIGHT),
        )
        st.vega_lite_chart(spec=spec, width="stretch")
    if charts.scheduled(overlaid):
        st.markdown("**Learning rate** each optimizer used, step by step (its schedule; log scale)")
        with st.container(key=K("lr_chart")):
            spec = charts.spec(("lr", not full, key), lambda: charts.lr_chart(overlaid, focus=not full))
            st.vega_lite_chart(spec=spec, width="stretch")
    st.caption(
        charts.window_caption(overlaid, measure, focus=not full)
        + " Hover for step, loss, w and b; click a legend entry to highlight it; Shift+scroll zooms, "
        "double-click resets; a red cross marks a divergence; the grey band is the precision's rounding.",
        help=form.LOSS_FLOOR,
    )


def exports(main: Entry) -> None:
    """CSV downloads of this run and of every kept run, and the plain PyTorch script that retrains
    this run and compares; each file is built only when clicked."""
    every = list(store.entries.values())
    downloads = [
        ("Summary CSV", f"run{main.run_id}_summary.csv", lambda: runs.csv_bytes(runs.export_summary([main]))),
        ("Curves CSV", f"run{main.run_id}_curves.csv", lambda: runs.csv_bytes(runs.export_curves([main]))),
        ("All runs: summary CSV", "all_runs_summary.csv", lambda: runs.csv_bytes(runs.export_summary(every))),
        ("All runs: curves CSV", "all_runs_curves.csv", lambda: runs.csv_bytes(runs.export_curves(every))),
        ("PyTorch script", f"run{main.run_id}_reproduce.py", lambda: reproduce.script(main.result).encode()),
    ]
    cols = st.columns(2)  # two a row: each label whole
    for i, (label, file_name, make) in enumerate(downloads):
        col = cols[i % 2]
        col.download_button(
            label,
            make,
            file_name,
            "text/x-python" if file_name.endswith(".py") else "text/csv",
            key=K("dl", file_name.split("_", 1)[-1]),
            on_click="ignore",
            width="stretch",
        )


def history() -> None:
    with st.expander(f"Run history ({len(store.entries)} kept)", expanded=False):
        h1, _ = st.columns([1, 3])
        keep = h1.number_input(
            "Keep the last",
            1,
            limits.LIMITS.runs_kept,
            key=K("keep"),
            help=f"Runs kept in this session; oldest dropped (at most {limits.LIMITS.runs_kept} here).",
        )
        if keep != store.max_runs:
            store.max_runs = int(keep)
            tell_dropped(store.trim())
        st.dataframe(store.history(), hide_index=True, width="stretch")
        labels = view.history_labels(store)
        st.session_state[K("picked")] = [i for i in st.session_state.get(K("picked"), []) if i in labels]
        ids = st.multiselect(
            "Runs",
            list(reversed(labels)),
            key=K("picked"),
            format_func=labels.get,
            placeholder="choose one run to show, two to overlay, any to delete",
        )
        b1, b2, b3 = st.columns(3)
        if b1.button("Show", key=K("btn.show"), disabled=len(ids) != 1, width="stretch"):
            st.session_state[K("current")] = ids
            st.rerun()
        if b2.button("Overlay two", key=K("btn.overlay"), disabled=len(ids) != 2, width="stretch"):
            st.session_state[K("current")] = sorted(ids)
            st.rerun()
        if b3.button("Delete", key=K("btn.delete"), disabled=not ids, width="stretch"):
            store.delete(ids)  # the choice is pruned to existing runs at the top of the next run
            st.rerun()
        st.caption(
            f"This session trained {store.trained} run(s) and answered {store.hits} request(s) from its history."
        )


TABS = {
    view.TABLE: table_tab,
    view.FIT: fit_tab,
    view.PATHS: paths_tab,
    view.EXPLAIN: explain_tab,
    view.DOWNLOADS: downloads_tab,
}


# ---------------------------------------------------------------------------------------- the page
init_defaults()
form.apply_tuned_lrs(st.session_state)
introduction()
# One workspace: the controls and Train in a column beside the results.
with st.container(key=K("workspace")):
    work_left, work_right = st.columns([2, 3], gap="medium")
results_slot = work_right.container()
autorun = url_state.autorun and not st.session_state.get(K("autoran"))
trained = drawn = False
with work_left:
    actions_slot = st.container()  # Train all and its progress, above the form it trains
if st.session_state.get(K("btn.train")) or autorun:
    # Train all (or a shared link) trains, and draws its results, before the form is drawn: the
    # form's values are already in the session, and drawing the form's widgets first would only
    # keep the learner waiting. (Settings the form cannot read are refused below, as always.)
    early, _ = form.read(st.session_state)
    if early is not None:
        st.session_state[K("autoran")] = trained = True
        with actions_slot:
            early_left, early_right = st.container(), st.container()  # Stop, then progress and notices
        train(early, early_left, early_right)
        if shown := view.shown_entries(store, st.session_state.get(K("current"), [])):
            with results_slot:
                results(shown, early)
            drawn = True
with work_left:
    on_surface = controls()
state, error = form.read(st.session_state)
with actions_slot:
    pressed_train, pressed_tune, left, right = actions(state, error)
if state is not None and pressed_tune:
    tune_learning_rates(state, left, right)
with work_left:
    sweep_section(state)
if state is not None and (pressed_train or autorun) and not trained:
    st.session_state[K("autoran")] = True
    train(state, left, right)
shown = view.shown_entries(store, st.session_state.get(K("current"), []))
if shown and not drawn:
    with results_slot:
        results(shown, state)
elif not shown:
    with results_slot:
        before_training(on_surface)
        history()
