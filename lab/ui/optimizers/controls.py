"""The form: problem, optimizers and their learning rates (one editable table), steps, batch size,
repeats, precision, schedules, and every other hyperparameter a tab per optimizer."""

from __future__ import annotations

import streamlit as st

from lab.app import form, limits, session
from lab.app.form import K, hp_key
from lab.core import optimizers, schedulers
from lab.core.config import OBJECTIVES, REGRESSION
from lab.ui.optimizers import context, present
from lab.ui.optimizers.context import Page


def controls(page: Page) -> bool:
    """The form: problem, optimizers, steps, batch size, learning rates, hyperparameters.
    Returns whether a surface (not the regression) is chosen."""
    with st.container(border=True, key=K("controls")):
        said, reset = st.columns([3, 2], vertical_alignment="center")
        if (what := form.what_it_set(page.url_state)) is not None and st.session_state.get(K("from_link"), True):
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
            page.registry.names(),
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
        s1, s2, s3 = st.columns(3, vertical_alignment="bottom")
        s1.toggle("Same learning rate for all", key=K("same_lr_on"))
        s3.selectbox(
            "Precision",
            list(form.DTYPE_TITLES),
            key=K("dtype"),
            help=" ".join(f"**{t}**." for t in form.DTYPE_TITLES.values()) + " " + form.DTYPE_HELP,
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
        hyperparameters(page.registry, same_lr_on=bool(st.session_state[K("same_lr_on")]))
    return on_surface


def reset_form() -> None:
    """The Reset button's callback: runs before the widgets are drawn, so they take the defaults."""
    form.reset(st.session_state)
    st.session_state[K("from_link")] = False  # the link's settings are gone: stop saying them
    st.session_state[K("full_rerun")] = True  # the sidebar's seed and data are reset too: redraw it
    st.query_params.clear()
    present.keep_in_url()
    context.keep_token()


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
    st.caption("Double-click a learning rate (or select it and press Enter) to type a new one.")
    for notice in st.session_state.pop(form.HP_NOTICES, []):
        st.warning(notice, icon=":material/block:")


def schedule_row() -> None:
    """One learning-rate schedule for all optimizers, or beside it a switch to give each its own."""
    chooser, switch = st.columns([3, 2], vertical_alignment="bottom")
    each = switch.toggle(
        "One per optimizer",
        key=form.EACH,
        help="Off: one schedule for every optimizer. On: each optimizer's tab under *Every hyperparameter* has "
        "its own.",
    )
    if each:
        chooser.caption("Learning-rate schedules: set in each optimizer's tab of *Every hyperparameter* below.")
        return
    schedule_widgets(form.ALL, chooser)


def schedule_widgets(scope: str, chooser=None) -> None:
    """A schedule selector (in ``chooser``, if given) and, once one is chosen, its parameters below
    (empty: follows the run's steps)."""
    st.session_state.setdefault(form.sched_key(scope), form.CONSTANT)
    name = (chooser or st).selectbox(
        "Learning-rate schedule",
        [form.CONSTANT, *schedulers.registry().names()],
        key=form.sched_key(scope),
        format_func=form.schedule_title,
        help="A torch.optim.lr_scheduler class, stepped once after every optimizer step. The learning rate "
        "each optimizer gets at each step is drawn in the results' Schedule tab.",
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


def hyperparameters(reg: optimizers.Registry, same_lr_on: bool) -> None:
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
