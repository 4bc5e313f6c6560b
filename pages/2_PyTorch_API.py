"""PyTorch API: nn.Module, torch.optim, loss functions, train() and eval() — each one live."""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd
import streamlit as st

from lab.app import charts, keys, runs, session
from lab.lessons import api

K = keys.API
DEFAULTS = {
    "opt": "SGD + momentum",
    "lr": 0.1,
    "presses": 0,
    "pred": "2.5, 0.0, 2.1, 7.8",
    "target": "3, -0.5, 2, 8",
    "logit0": 2.0,
    "logit1": 0.5,
    "logit2": -1.0,
    "cls": 0,
    "steps": 30_000,
    "tlr": 0.001,
}
for _key, _value in DEFAULTS.items():
    st.session_state.setdefault(K(_key), _value)
seed = int(st.session_state[session.SEED])


def show_code(*objects) -> None:
    with st.expander("The code that ran", expanded=False):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python", wrap_lines=True)


def numbers(text: str, field: str) -> list[float] | None:
    """Comma-separated numbers, or an error message naming the field (and None)."""
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        st.error(f"{field}: '{text}' is not a list of numbers separated by commas.", icon=":material/error:")
        return None
    if not values or not all(np.isfinite(values)):
        st.error(f"{field}: give at least one finite number.", icon=":material/error:")
        return None
    return values


st.title("PyTorch API")
st.markdown("The pieces every PyTorch training loop is made of, run live on the tutorial's model.")

# ------------------------------------------------------------------------------ nn.Module
st.header("1. nn.Module: the Lr model")
a = api.anatomy(seed)
c1, c2 = st.columns(2)
with c1:
    st.code(inspect.getsource(api.Lr), language="python", wrap_lines=True)
    st.code(a["repr"], language="text", wrap_lines=True)
with c2:
    st.markdown("`named_parameters()` — what the optimizer will update:")
    st.dataframe(
        pd.DataFrame(a["named_parameters"], columns=["name", "shape", "value", "requires_grad"]),
        hide_index=True,
        width="stretch",
    )
    st.markdown("Calling the model runs `forward` — three ways to the same numbers for x = 0, 0.5, 1:")
    st.dataframe(
        pd.DataFrame({k: a[k] for k in ("model(x)", "model.forward(x)", "x @ w.T + b")}),
        hide_index=True,
        width="stretch",
    )
show_code(api.seeded, api.anatomy)

# ------------------------------------------------------------------------------ optimizer
st.header("2. The optimizer's step, phase by phase")
o1, o2, o3, o4 = st.columns([2, 1, 1, 1])
o1.selectbox("optimizer", ["SGD", "SGD + momentum", "Adam"], key=K("opt"))
o2.number_input("learning rate", 1e-4, 1.0, key=K("lr"), format="%g", step=0.01)
if o3.button("Step", type="primary", key=K("btn.step"), width="stretch"):
    st.session_state[K("presses")] += 1
if o4.button("Reset", key=K("btn.reset"), width="stretch"):
    st.session_state[K("presses")] = 0
presses = int(st.session_state[K("presses")])
phases = api.lifecycle(st.session_state[K("opt")], float(st.session_state[K("lr")]), presses, seed)
st.caption(
    f"Steps taken: {presses}. "
    + (
        "Press **Step**: each press runs zero_grad → forward → backward → step."
        if presses == 0
        else "The phases of the last step:"
    )
)
st.dataframe(
    pd.DataFrame([{k: v for k, v in p.items() if k != "state"} for p in phases]), hide_index=True, width="stretch"
)
state = phases[-1]["state"]
if presses == 0:
    st.markdown("The optimizer's own state (`optimizer.state`) is created at its first step: press **Step**.")
else:
    st.markdown(
        "The optimizer's own state after the step (`optimizer.state`)"
        + (": empty — plain SGD keeps none." if not state else ":")
    )
if state:
    st.json(api.readable(state), expanded=True)
st.markdown(
    "`zero_grad()` sets `.grad` to `None`; `backward()` fills it; `step()` moves w and b using it "
    "(and, for momentum or Adam, the state it carries from step to step)."
)
show_code(api.lifecycle)

# ------------------------------------------------------------------------------ losses
st.header("3. Loss functions")
l1, l2 = st.columns(2)
with l1:
    st.subheader("MSELoss (regression)")
    pred = numbers(st.text_input("predictions", key=K("pred")), "predictions")
    target = numbers(st.text_input("targets", key=K("target")), "targets")
    if pred is not None and target is not None:
        if len(pred) != len(target):
            st.error(
                f"predictions has {len(pred)} numbers and targets {len(target)}: they must pair up.",
                icon=":material/error:",
            )
        else:
            m = api.mse(pred, target)
            st.metric("nn.MSELoss()(predictions, targets)", f"{m['loss']:.6g}")
            st.caption(
                f"By hand, mean((p − t)²) = {m['by hand']:.6g}. Swapping the arguments gives "
                f"{m['swapped']:.6g}: MSE is symmetric, so the tutorial's swapped call goes unnoticed — "
                "but the convention is (input, target), and other losses are not symmetric."
            )
    show_code(api.mse)
with l2:
    st.subheader("CrossEntropyLoss (classification)")
    lc = st.columns(3)
    logits = [
        float(lc[i].number_input(f"logit of class {i}", -50.0, 50.0, key=K(f"logit{i}"), format="%g")) for i in range(3)
    ]
    target_cls = st.radio("true class", [0, 1, 2], key=K("cls"), horizontal=True)
    ce = api.cross_entropy(logits, int(target_cls))
    st.dataframe(pd.DataFrame({"class": [0, 1, 2], "softmax probability": ce["probabilities"]}), hide_index=True)
    st.metric("nn.CrossEntropyLoss()(logits, target)", f"{ce['loss']:.6g}")
    st.caption(
        f"= −log(probability of class {target_cls}) = {ce['by hand']:.6g}. The input is the raw "
        "logits (softmax happens inside), the target a class index — in that order."
    )
    show_code(api.cross_entropy)

# ------------------------------------------------------------------------------ train / eval
st.header("4. train() and eval()")
te = api.train_vs_eval(seed)
st.markdown("The same 4 inputs through the same network (Linear → BatchNorm → ReLU → Dropout → Linear):")
st.dataframe(pd.DataFrame({"sample": range(4), "net.train()": te["train"], "net.eval()": te["eval"]}), hide_index=True)
st.markdown(
    "In `train()` mode dropout zeroes a random half of the hidden units (and scales the rest ×2) and "
    "batch norm normalises with *this batch's* mean and variance; in `eval()` mode dropout is off and "
    "batch norm uses its running averages. For the tutorial's plain linear model the two modes agree."
)
show_code(api.small_net, api.train_vs_eval)

# ------------------------------------------------------------------------------ the tutorial's run
st.header("5. The tutorial's training run")
t1, t2, t3 = st.columns([1, 1, 1])
t1.number_input("steps", 1, 50_000, key=K("steps"), step=1000)
t2.number_input("learning rate", 1e-5, 1.0, key=K("tlr"), format="%g", step=0.001)
if t3.button("Run", type="primary", key=K("btn.run"), width="stretch"):
    bar = st.progress(0.0, text="Waiting for a free training slot …")
    with runs.training_slot():  # queued fairly with every other training on this server
        started = time.perf_counter()

        def report(f: float) -> None:
            bar.progress(f, text=f"Training … {f:.0%}, {time.perf_counter() - started:.0f} s so far")

        steps, lr = int(st.session_state[K("steps")]), float(st.session_state[K("tlr")])
        result = api.tutorial_training(steps, lr, seed, progress=report)
    bar.empty()
    st.session_state[K("result")] = result
    st.session_state[K("took")] = api.took(len(result["losses"]), time.perf_counter() - started)
result = st.session_state.get(K("result"))
if result is None:
    st.info(
        "Press **Run**: `nn.Linear` + `MSELoss` + `SGD` with full-batch steps — the tutorial runs 30 000 "
        "of them at lr = 1e-3. Every step is a forward, a backward and an update driven from Python, so "
        "30 000 take a couple of seconds on a fast, idle CPU and tens of seconds on a small or busy "
        "one; the page says how long they took here.",
        icon=":material/play_circle:",
    )
else:
    st.caption(st.session_state[K("took")])
    r1, r2, r3 = st.columns(3)
    r1.metric("w", f"{result['w']:.4f}")
    r2.metric("b", f"{result['b']:.4f}")
    r3.metric("final loss", f"{result['losses'][-1]:.3e}")
    p1, p2 = st.columns(2)
    with p1:
        st.altair_chart(
            charts.data_chart(
                np.array(result["x"]),
                np.array(result["y"]),
                3.0,
                0.8,
                [("model after training", result["w"], result["b"], "#4e79a7")],
            ),
            width="stretch",
        )
    with p2:
        st.altair_chart(charts.curve_chart(np.array(result["losses"])), width="stretch")
    st.caption(
        "With the tutorial's lr = 1e-3 plain gradient descent is slow: after its 30 000 steps w and b are "
        "close to 3 and 0.8 but not there. The Optimizers page shows who gets there faster."
    )
show_code(api.tutorial_training)
