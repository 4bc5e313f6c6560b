"""Optimizer Lab's entrypoint: ``streamlit run lab/Home.py``.

Defines the navigation over ``pages/`` (addressed by absolute path, one page per tutorial
section), the Home page, and the sidebar every page shares: device, seed and data.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lab.app import archive, experiments, limits, runs, session
from lab.app.limits import LIMITS
from lab.core import datasets, devices

PAGES = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="Optimizer Lab", layout="wide")  # default favicon: served locally
runs.configure_process()
runs.freeze_loaded()  # once a process, now that the server and the lab are loaded (lab.serve: before its start)

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
    (
        "5_Class.py",
        "Class",
        ":material/groups:",
        "class",
        "Teach with it: open a room, students join with its code, and every run they train lands on one board — "
        "a leaderboard, every loss curve, and the class's own learning-rate sweep.",
    ),
]


# A guided experiment's link is a whole question: let it wrap instead of cutting it mid-word.
WRAP_LINKS = "<style>[data-testid='stPageLink'] span p { white-space: normal !important; }</style>"


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
    st.html(WRAP_LINKS)
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


def samples_bound() -> tuple[str, str, int]:
    """The device chosen, its limit on samples (an accelerator may take more than the CPU) and
    that limit's value here."""
    device = str(st.session_state.get(session.DEVICE, "cpu"))
    name = limits.samples_limit(device)
    return device, name, getattr(LIMITS, name)


def fit_samples_to_device() -> None:
    """More samples than the device chosen takes (back on the CPU from a GPU): its most, said so."""
    device, _, top = samples_bound()
    if st.session_state.get(session.SAMPLES, 0) > top:
        st.session_state[session.SAMPLES] = top
        st.caption(f"Samples brought to {top:,}: the most {device} takes on this server.")


def generated_data(disabled: bool) -> None:
    device, name, top = samples_bound()
    st.number_input(
        "Samples",
        2,
        top,
        step=10,
        key=session.SAMPLES,
        disabled=disabled,
        help=f"At most {top:,} on {device} on this server ({limits.variable(name)}).",
    )
    st.number_input("Noise (std)", 0.0, 100.0, step=0.05, format="%g", key=session.NOISE, disabled=disabled)
    st.number_input("True w", -100.0, 100.0, step=0.5, format="%g", key=session.TRUE_W, disabled=disabled)
    st.number_input("True b", -100.0, 100.0, step=0.1, format="%g", key=session.TRUE_B, disabled=disabled)
    st.caption("x is uniform in [0, 1). The tutorial uses 50 samples of y = 3x + 0.8, no noise.")


def upload_bounds() -> tuple[int, int]:
    """(bytes, rows) an uploaded file may have here: a data set's rows are its samples, too."""
    return LIMITS.upload_kb * 1024, min(LIMITS.upload_rows, LIMITS.samples)


def own_data() -> None:
    """Upload a CSV (columns x and y, or two numeric columns to choose); every check's failure
    says why and keeps the data in use."""
    state = st.session_state
    max_bytes, rows = upload_bounds()
    st.file_uploader(
        "Your own data (CSV with columns x and y)",
        type=["csv", "txt"],
        key=session.upload_key(state),  # a new, empty box after a refused file
        help=f"At most {LIMITS.upload_kb:,} KB and {rows:,} rows here ({limits.variable('upload_kb')}, "
        f"{limits.variable('upload_rows')}). Links do not carry files: a shared link asks for the file again.",
    )
    if (error := state.get(session.UPLOAD_ERROR)) is not None:
        st.error(f"{error}. The data in use is unchanged.", icon=":material/error:")
    if (pending := state.get(session.UPLOAD_PENDING)) is not None:
        name, raw = pending
        numeric = datasets.numeric_columns(raw, name)
        st.info(f"{name} has no x and y columns: choose two of its numeric columns.", icon=":material/table:")
        c1, c2 = st.columns(2)
        x_col = c1.selectbox("x", numeric, index=0, key=session.SHARED("pick_x"))
        y_col = c2.selectbox("y", numeric, index=1, key=session.SHARED("pick_y"))
        if st.button("Use these columns", key=session.SHARED("btn.pick"), width="stretch"):
            try:
                session.use_dataset(state, datasets.parse_csv(raw, name, x_col, y_col, max_bytes, rows))
            except ValueError as exc:
                state[session.UPLOAD_ERROR] = str(exc)
            st.rerun()
    if state.get(session.DATASET) is not None and st.button(
        "Use the generated data", key=session.SHARED("btn.generated"), icon=":material/restart_alt:", width="stretch"
    ):
        session.use_generated(state)
        st.rerun()


def sidebar() -> None:
    session.init_from_url(st.session_state, st.query_params.to_dict(), archive.linked)
    archive.token(st.session_state, st.query_params.to_dict())  # a ?s= the page was opened with
    session.keep_inputs(st.session_state)  # every page's inputs, whichever page is on screen
    session.keep_data(st.session_state)
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
        fit_samples_to_device()  # before anything shows the data in use
        st.number_input(
            "Seed",
            0,
            2**31 - 1,
            step=1,
            key=session.SEED,
            help="Seeds the data, the starting (w, b) and the batch order: same seed, same run.",
        )
        # A new file is read before anything says which data is in use (the widget's value is in
        # the state from the start of the run).
        if (up := st.session_state.get(session.upload_key(st.session_state))) is not None:
            session.take_upload(st.session_state, up.file_id, up.name, up.getvalue(), *upload_bounds())
        else:  # the file was removed from the box (or refused, the box emptied): its message goes on the
            # next rerun (the data in use stays)
            session.forget_upload(st.session_state)
        own = st.session_state.get(session.DATASET) is not None
        st.caption(f"**Data in use** — {session.data_label(st.session_state)}")
        with st.expander("Data: generated, or your own CSV", expanded=own):
            generated_data(disabled=own)
            own_data()


nav = st.navigation(PAGE_OBJECTS)
sidebar()
nav.run()
