"""The Table tab: each run's results table, ranked, with what its colours and statuses mean."""

from __future__ import annotations

import streamlit as st

from lab.app import tables
from lab.app.form import K
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    main = shown.main
    for entry in shown.entries:  # overlaid runs: each run's own table
        if len(shown.entries) > 1:
            st.markdown(f"**Run #{entry.run_id}**")
        with st.container(key=K("results_table", entry.run_id)):
            st.table(tables.styled(tables.results_table(entry.result), entry.result))
    together = tables.shared_ms(main.result)
    st.caption(
        "Converged first, then by final loss. Green: a column's best, by more than the precision's rounding."
        + (f" Trained side by side in one pass: {together:.1f} ms." if together is not None else ""),
        help="Ranked: converged first (fewest steps to tolerance), then by final loss; diverged last.\n\n"
        f"Converged: the loss stays within {main.config.tol:g} of the best possible loss (the best-fit "
        "line's, or the surface's minimum) over at least the last tenth of the run. Hovering: it got there and "
        "left again. Not yet: it has not got there.\n\n" + tables.RANKING_NOTE,
    )
