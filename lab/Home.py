"""Optimizer Lab's entrypoint: ``streamlit run lab/Home.py``.

Defines the navigation over ``pages/`` (addressed by absolute path, one page per tutorial
section), the Home page, and the sidebar every page shares: device, seed and data.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lab.app import experiments, limits, runs, session
from lab.app.limits import LIMITS
from lab.core import devices

PAGES = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="Optimizer Lab", layout="wide")  # default favicon: served locally
runs.configure_process()

SECTIONS = [
    (
        "1_Autograd.py",
        "Autograd",
        ":material/functions:",
        "autograd",
        "Watch torch record a computation, run backward, and fill `.grad` — then fit y = 3x + 0.8 by hand.",
    ),
    (
        "2_PyTorch_API.py",
        "PyTorch API",
        ":material/view_in_ar:",
        "pytorch-api",
        "`nn.Module`, `torch.optim`, MSELoss and CrossEntropyLoss, `train()` and `eval()` — each one live.",
    ),
    (
        "3_Optimizers.py",
        "Optimizers",
        ":material/speed:",
        "optimizers",
        "GD, SGD, mini-batch, Momentum, AdaGrad, RMSProp, Adam and every other torch.optim optimizer, "
        "trained side by side on the tutorial's regression or on a classic surface (Rosenbrock, Beale, a "
        "saddle): loss curves, fitted lines, paths through (w, b), a results table — and a learning-rate "
        "sweep that puts each one at its best.",
    ),
    (
        "4_GPU.py",
        "GPU",
        ":material/memory:",
        "gpu",
        "Move model and data to a device, bring results back, and measure what an accelerator really buys.",
    ),
]


def home() -> None:
    st.title("Optimizer Lab")
    st.markdown(
        "Train a real PyTorch model with **every optimizer side by side** and see, on one screen, how they "
        "differ. The model is the tutorial's one-input linear regression, `y = w·x + b`, fitted to "
        "data drawn from y = 3x + 0.8; every number on these pages is computed by torch as the page runs."
    )
    st.markdown("The sidebar's **device**, **seed** and **data** hold on every page.")
    for page, (_, title, icon, _, blurb) in zip(PAGE_OBJECTS[1:], SECTIONS, strict=True):
        with st.container(border=True):
            st.page_link(page, label=f"**{title}**", icon=icon)
            st.markdown(blurb)
    st.subheader("Start with a guided experiment")
    st.markdown("Each opens the Optimizers page, trains a comparison, and says what to look for.")
    for exp in experiments.EXPERIMENTS:
        st.page_link(
            PAGES / "3_Optimizers.py",
            label=f"**{exp.title}** — {exp.question}",
            icon=":material/science:",
            query_params={"exp": exp.key},
        )


PAGE_OBJECTS = [st.Page(home, title="Home", icon=":material/home:", default=True)] + [
    st.Page(PAGES / file, title=title, icon=icon, url_path=url) for file, title, icon, url, _ in SECTIONS
]


def sidebar() -> None:
    session.init_from_url(st.session_state, st.query_params.to_dict())
    session.keep_inputs(st.session_state)  # every page's inputs, whichever page is on screen
    with st.sidebar:
        names = devices.device_names()
        infos = {d.name: d.description for d in devices.available_devices()}
        st.selectbox(
            "Device",
            names,
            key=session.DEVICE,
            format_func=lambda n: f"{n} — {infos[n]}",
            help="Where tensors live and training runs. Only the devices this machine has are listed.",
        )
        st.number_input(
            "Seed",
            0,
            2**31 - 1,
            step=1,
            key=session.SEED,
            help="Seeds the data, the starting (w, b) and the batch order: same seed, same run.",
        )
        with st.expander("Data: y = w·x + b + noise", expanded=False):
            st.number_input(
                "Samples",
                2,
                LIMITS.samples,
                step=10,
                key=session.SAMPLES,
                help=f"At most {LIMITS.samples:,} on this server ({limits.variable('samples')}).",
            )
            st.number_input("Noise (std)", 0.0, 100.0, step=0.05, format="%g", key=session.NOISE)
            st.number_input("True w", -100.0, 100.0, step=0.5, format="%g", key=session.TRUE_W)
            st.number_input("True b", -100.0, 100.0, step=0.1, format="%g", key=session.TRUE_B)
        st.caption("x is uniform in [0, 1). The tutorial uses 50 samples of y = 3x + 0.8, no noise.")


nav = st.navigation(PAGE_OBJECTS)
sidebar()
nav.run()
