"""What one rerun of the Optimizers page knows, passed to the functions that draw it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lab.app import runs, session
from lab.app.form import K
from lab.app.query import PageState
from lab.core import optimizers

THIS_PAGE = "../pages/3_Optimizers.py"  # relative to the entrypoint, lab/Home.py
PRESENT = "present"  # the query parameter (and the session key's last part) of present mode


@dataclass(frozen=True)
class Page:
    url_state: PageState  # what the URL asked for when the session opened it
    store: runs.RunStore  # this session's runs
    present: bool  # drawn for a projector

    @property
    def registry(self) -> optimizers.Registry:
        return optimizers.registry()


def load() -> Page:
    """The page's context from the session; present mode from the URL (its switch keeps the URL
    in step, so a reload or a teacher's ``?present=1`` link in an open session says what is on)."""
    st.session_state[K(PRESENT)] = st.query_params.get(PRESENT) == "1"
    return Page(
        url_state=st.session_state.get(session.URL_STATE) or PageState(),
        store=st.session_state.setdefault(K("store"), runs.RunStore()),
        present=bool(st.session_state[K(PRESENT)]),
    )
