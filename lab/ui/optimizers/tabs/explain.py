"""The Explain tab: one step of one optimizer replayed with its real torch.optim class — the rule
with this lane's hyperparameters, torch's numbers before and after, our implementation's step
beside it, and how the step sizes evolve over the run."""

from __future__ import annotations

import inspect

import streamlit as st

from lab.app import charts, limits, steps
from lab.app.form import K
from lab.core import algorithms, cli, cost, explain
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    st.caption(
        "Replays one optimizer of this run with its real torch.optim class (same data, start and batches) "
        "and shows one step in full."
    )
    with st.container(key=K("explain_view")):  # a stable hook for browser tests
        explain_view(shown.main.config)


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
    refused = limits.check_budget(
        cost.estimate_replay(cfg, name), f"Replaying {name} over {cfg.steps:,} steps", cli_explain(cfg, name, k)
    )  # the replay runs the whole run step by step through torch.optim
    if refused is not None:
        st.warning(refused, icon=":material/timer_off:")
        return
    try:
        with st.spinner(f"Replaying {name} with torch.optim …"):
            detail, tr = steps.step(cfg, name, k), steps.trace(cfg, name)
    except ValueError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
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
    st.markdown(f"**{name}: step sizes over the run** (log–log; the dashed rule is step {k})")  # full width
    st.altair_chart(charts.step_size_chart(tr, steps.chart_steps(cfg.steps), k), width="stretch")
    if detail.effective_means:
        st.caption(
            f"Solid: each parameter's effective step size, {detail.effective_means}. Dashed: |Δθ|, the step it took."
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
    for i, algo in enumerate(algorithms.ALGORITHMS.values()):
        with cols[i % 3]:
            st.caption(f"`torch.optim.{algo.torch_class}`")
            st.code(inspect.getsource(algo.step), language="python")


def cli_explain(cfg, name: str, k: int) -> str:
    """The command that explains the same step on one's own machine."""
    return " ".join(["python -m lab explain", f"--optimizer '{name}'", f"--step {k}", *cli.flags(cfg, "explain")])
