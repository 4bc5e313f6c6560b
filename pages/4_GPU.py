"""GPU: choose a device, move model and data there, bring results back — and measure what it buys."""

from __future__ import annotations

import inspect

import pandas as pd
import streamlit as st
import torch

from lab.app import charts, keys, limits, session
from lab.app.limits import LIMITS
from lab.core import devices
from lab.lessons import gpu


def show_code(*objects) -> None:
    with st.expander("The code that ran", expanded=False):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")


COUNTS = ("samples", "steps")  # the index columns that are counts (shown with thousands separators)


def device_table(table: pd.DataFrame, index: list[str], value: str, unit: str) -> None:
    """A measurement as one row per ``index`` and a column of ``value`` per device; the cells not
    run, and why, below it."""
    wide = table.pivot(index=index, columns="device", values=value)  # the rows measured, in order
    st.dataframe(
        wide.reset_index().rename_axis(columns=None),
        hide_index=True,
        width="stretch",
        column_config={k: st.column_config.NumberColumn(format="localized") for k in index if k in COUNTS}
        | {d: st.column_config.NumberColumn(f"{d} ({unit})", format="%.3f") for d in wide.columns},
    )
    skipped = [
        ", ".join([r["device"], *(f"{r[k]:,} {k}" if k in COUNTS else str(r[k]) for k in index)]) + f" — {r['note']}"
        for _, r in table[table["note"] != ""].iterrows()
    ]
    if skipped:
        st.caption("Cells showing None were not run: " + "; ".join(skipped))


st.title("GPU")
infos = devices.available_devices()
accelerators = [d for d in infos if d.name != "cpu"]
st.markdown(
    "Training on a GPU takes three changes: pick a `torch.device`, move the model and the data "
    "there with `.to(device)`, and bring results back with `.cpu()` before NumPy or plotting."
)

st.header("1. The devices this machine has")
st.dataframe(
    pd.DataFrame(
        [
            {
                "device": d.name,
                "what": d.description,
                "memory (GiB)": None if d.memory_gib is None else round(d.memory_gib, 1),
            }
            for d in infos
        ]
    ),
    hide_index=True,
)
st.markdown(
    f"`torch.cuda.is_available()` → **{torch.cuda.is_available()}**, "
    f"`torch.cuda.device_count()` → **{torch.cuda.device_count() if torch.cuda.is_available() else 0}**."
)
if not accelerators:
    st.info(
        "No accelerator on this machine: everything below runs on the CPU, and the measurement shows the "
        "CPU's figures. On a machine with a GPU the sidebar lists it and each table gains its column.",
        icon=":material/info:",
    )

st.header("2. There and back again")
device = str(st.session_state.get(session.DEVICE, "cpu"))
st.markdown(f"With the sidebar's device, **`{device}`**:")
st.dataframe(
    pd.DataFrame(gpu.roundtrip(device, int(st.session_state[session.SEED]))).fillna("").astype(str),
    hide_index=True,
    width="stretch",
)
st.caption(
    "A tensor's `.device` says where it lives; an operation runs where its inputs are (mixing devices is "
    "an error). NumPy only knows CPU memory, hence `.cpu()` before `.numpy()`, and `.detach()` to leave "
    "the autograd graph."
)
show_code(gpu.roundtrip)

st.header("3. What the device buys, measured")
st.markdown(
    "Milliseconds per training step (forward, loss, backward, SGD step) for growing batches, for the "
    "tutorial's model and for a wider one. Accelerator timings wait for the device to finish "
    "(`torch.cuda.synchronize`), otherwise they would time only the queueing of the work."
)
names = tuple(d.name for d in infos)
again = st.button("Measure again", key=keys.GPU("btn", "again"), help="Measured once an hour for everyone otherwise.")
bar = st.empty()
table = gpu.measured(names, refresh=again, progress=lambda f: bar.progress(f, text=f"Measuring … {f:.0%}"))
bar.empty()
st.altair_chart(charts.timing_chart(table), width="stretch")
device_table(table, ["model", "samples"], "ms_per_step", "ms/step")
st.markdown(gpu.verdict(table))
show_code(gpu.step_time, gpu.measure, gpu.crossover)

st.header("4. The lab's own engine on each device")
st.markdown(
    "The Optimizers page trains with the lab's engine, not with the loop above: every optimizer side "
    "by side, compiled on the CPU, on a CUDA device a chunk of steps replayed as one CUDA graph. Here "
    "it trains the seven presets on the tutorial's data, then on large data sets (on this server an accelerator "
    f"takes up to {LIMITS.accelerator_samples:,} samples, the CPU {LIMITS.samples:,})."
)


@st.fragment
def engine_timings() -> None:
    asked = keys.GPU("engine", "asked")
    if st.button("Time the engine", key=keys.GPU("btn", "engine"), help="Seconds of work; once an hour for everyone."):
        st.session_state[asked] = True
    if not st.session_state.get(asked):
        return
    bar = st.empty()
    caps = tuple(getattr(LIMITS, limits.samples_limit(d)) for d in names)  # this server's limits
    table = gpu.measured(
        names, what=gpu.measure_engine, caps=caps, progress=lambda f: bar.progress(f, text=f"Training … {f:.0%}")
    )
    bar.empty()
    device_table(table, ["samples", "steps"], "seconds", "s")
    st.markdown(gpu.engine_verdict(table))


engine_timings()
show_code(gpu.engine_time)
