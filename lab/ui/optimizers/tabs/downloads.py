"""The Downloads & history tab: CSVs and the reproducing script of the run on screen, and the
session's run history (show one, overlay two, delete)."""

from __future__ import annotations

import streamlit as st

from lab.app import limits, runs, view
from lab.app.form import K
from lab.app.runs import Entry
from lab.core import reproduce
from lab.ui.optimizers import training
from lab.ui.optimizers.context import Page
from lab.ui.optimizers.tabs import Shown


def draw(shown: Shown) -> None:
    exports(shown.page, shown.main)
    if shown.main.short_id is not None:  # kept in the run store (lab/store): a link to it as it is
        st.caption(
            "A link to this very run as this server keeps it (it opens without training): "
            f"`{view.stored_link(st.context.url or '', shown.main.short_id)}`"
        )
    history(shown.page)


def exports(page: Page, main: Entry) -> None:
    """CSV downloads of this run and of every kept run, and the plain PyTorch script that retrains
    this run and compares; each file is built only when clicked."""
    every = list(page.store.entries.values())
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


def history(page: Page) -> None:
    store = page.store
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
            training.tell_dropped(page, store.trim())
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
