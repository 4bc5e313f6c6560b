"""Autograd: torch records a computation and differentiates it — each value here computed live."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import streamlit as st

from lab.app import charts, keys, session
from lab.app.limits import LIMITS
from lab.lessons import autograd as ag

K = keys.AUTOGRAD


for _key, _value in {"times": 2, "lr": 0.01, "steps": 3_000, "forget": False}.items():
    st.session_state.setdefault(K(_key), _value)  # defaults set once; widgets take no value= then


def show_code(*functions) -> None:
    with st.expander("The code that ran", expanded=False):
        for fn in functions:
            st.code(inspect.getsource(fn), language="python", wrap_lines=True)


st.title("Autograd")
st.markdown(
    "A tensor created with `requires_grad=True` makes torch **record every operation** done with it. "
    "`backward()` walks that record from the result back to the inputs and leaves each input's "
    "derivative in `.grad`. Everything below is computed by torch as the page runs."
)

# ------------------------------------------------------------------------------ the chain
st.header("1. A computation, recorded")
st.markdown("x → y = x + 2 → z = 3·y² → out = mean(z). Type your own x:")
cols = st.columns(4)
x_values = []
for i, col in enumerate(cols):
    key = K(f"x{i}")
    st.session_state.setdefault(key, 1.0)
    x_values.append(float(col.number_input(f"x[{i // 2}][{i % 2}]", -100.0, 100.0, key=key, format="%g")))
res = ag.chain(x_values)
st.dataframe(
    pd.DataFrame([{"tensor": name, **ag.describe(t)} for name, t in res.items() if name != "x.grad"]),
    hide_index=True,
    width="stretch",
)
grad = res["x.grad"].flatten().tolist()
by_hand = ag.expected_grad(x_values)
g1, g2 = st.columns(2)
g1.metric("x.grad (from out.backward())", ", ".join(f"{v:g}" for v in grad))
g2.metric("1.5·(x + 2), worked out by hand", ", ".join(f"{v:g}" for v in by_hand))
st.latex(
    r"\text{out} = \tfrac14 \sum_{ij} 3\,(x_{ij}+2)^2 \quad\Rightarrow\quad "
    r"\frac{\partial\,\text{out}}{\partial x_{ij}} = \tfrac{6}{4}(x_{ij}+2) = 1.5\,(x_{ij}+2)"
)
if np.allclose(grad, by_hand, rtol=1e-6):
    st.success("torch's gradient equals the formula for every entry.", icon=":material/check_circle:")
else:
    st.error("torch's gradient differs from the formula.", icon=":material/error:")
show_code(ag.chain, ag.expected_grad)

st.header("2. The graph autograd built")
st.markdown(
    "Read from the bottom: each box is a backward function torch recorded (`grad_fn`), linked "
    "through `grad_fn.next_functions`; green boxes write a leaf's `.grad`."
)
c1, c2 = st.columns(2)
with c1:
    st.caption("out = mean(3·(x + 2)²)")
    st.graphviz_chart(ag.graph_dot(res["out"], {id(res["x"]): "x", id(res["out"]): "out"}))
with c2:
    st.caption("the regression's loss = mean((x·w + b − y)²)")
    st.graphviz_chart(ag.regression_loss_graph(int(st.session_state[session.SEED])))
show_code(ag.graph_dot, ag.regression_loss_graph)

# ------------------------------------------------------------------------------ on and off
st.header("3. Switching tracking on and off")
sw = ag.switching(int(st.session_state[session.SEED]))
rows = [{"tensor": name, **ag.describe(t)} for name, t in sw.items() if name != "a.requires_grad before"]
st.markdown(
    f"`a` is made from plain tensors, so `a.requires_grad` is **{sw['a.requires_grad before']}**; "
    "`a.requires_grad_(True)` switches it on in place. Then:"
)
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.markdown(
    "`b` and `c` hold the same number, but only `b` remembers how it was made. Wrap evaluation in "
    "`torch.no_grad()` (or `.detach()` a result) when you will not call backward: nothing is "
    "recorded, which saves memory and time."
)
show_code(ag.switching)

# ------------------------------------------------------------------------------ accumulation
st.header("4. Gradients add up")
times = st.slider("backward() calls without zeroing", 1, 5, key=K("times"))
grads = ag.accumulate(x_values, times)
st.dataframe(
    pd.DataFrame({"call": range(1, times + 1), "x.grad": [", ".join(f"{v:g}" for v in g) for g in grads]}),
    hide_index=True,
)
st.markdown(
    f"Each `backward()` **adds** to `.grad`: after {times} calls every entry is {times}× the "
    "gradient. That is why training loops zero the gradients before each backward."
)
show_code(ag.accumulate)

# ------------------------------------------------------------------------------ by hand
st.header("5. Fitting y = w·x + b by hand")
data = session.data_config(st.session_state)
h1, h2, h3 = st.columns(3)
lr = h1.number_input("learning rate", 1e-5, 2.0, key=K("lr"), format="%g", step=0.005)
steps = h2.number_input("steps", 1, 20_000, key=K("steps"), step=500)
forget = h3.toggle("forget to zero the gradients", key=K("forget"))
samples = min(data.samples, LIMITS.samples)  # this page trains on the CPU, whatever the device chosen
if samples < data.samples:
    st.caption(f"This page trains on the CPU: {samples:,} samples, the most the CPU takes on this server.")
fit = ag.fit_by_hand(
    float(lr),
    int(steps),
    zero_grad=not forget,
    seed=int(st.session_state[session.SEED]),
    true_w=data.true_w,
    true_b=data.true_b,
    samples=samples,
    noise=data.noise,
    data=None if (own := st.session_state.get(session.DATASET)) is None else (own.x, own.y),
)
for col, (label, value, change) in zip(st.columns(3), fit.metrics(data.true_w, data.true_b), strict=True):
    col.metric(label, value, change, delta_color="off")
f1, f2 = st.columns(2)
with f1:
    st.altair_chart(
        charts.data_chart(
            np.array(fit.x),
            np.array(fit.y),
            data.true_w,
            data.true_b,
            [("fitted", fit.w[-1], fit.b[-1], "#4e79a7")] if np.isfinite(fit.w[-1]) else [],
            target="best fit" if data.dataset is not None else "true",
        ),
        width="stretch",
    )
with f2:
    st.altair_chart(charts.curve_chart(np.array(fit.loss)), width="stretch")
if forget:
    st.warning(
        "Without zeroing, each step's gradient is added to all the earlier ones, so the update uses the "
        "*sum* of every gradient so far. The steps keep growing in the old direction, overshoot, swing "
        "back slowly — the loss bounces instead of settling, or blows up with a larger learning rate. "
        "Summing every gradient so far is exactly SGD with momentum 1: a ball rolling with no friction "
        "(Momentum on the Optimizers page keeps only a fraction, 0.9, of the old sum at each step).",
        icon=":material/warning:",
    )
show_code(ag.fit_by_hand)
