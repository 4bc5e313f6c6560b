"""The Paths tab: each optimizer's (w, b) step by step over the loss surface, with a step slider and
Play; for SGD and mini-batch SGD, the gradient noise of the batches at the slider's step."""

from __future__ import annotations

import streamlit as st

from lab.app import charts, view
from lab.app.form import K
from lab.app.runs import Entry
from lab.core import noise
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    main = shown.main
    if shown.surface:
        for entry, one_key, label in shown.per_run():
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
        gradient_noise(main, shown.key[0])
    else:
        paths_chart(main, shown.key[0])
    st.caption(
        "Each line is one optimizer's (w, b) step by step, over the loss surface (darker: higher). "
        "The diamond is the best fit (w, b). Click a legend entry to highlight one path."
    )


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
