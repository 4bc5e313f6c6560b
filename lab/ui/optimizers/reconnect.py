"""A rerun of the whole page after its server went away (a replica killed, or restarted).

Streamlit's frontend reconnects by itself, but on reconnecting it reruns the script only when
the last run was cut short or was a fragment's, or when the page holds a fragment that reruns
itself (``run_every``). Otherwise the page keeps what the lost session drew while the session on
the new server is empty: nothing shows that the history was found again, and a click inside the
workspace (a fragment) is dropped, since Streamlit ignores a rerun of a fragment the new session
never ran. The fragment here reruns itself every :data:`EVERY` seconds and draws nothing; being
there is its whole job: a reconnect reruns the page, which rebuilds the session from its URL (the
``?s=`` token: the stored history; ``run=1``: the run found there, not trained again).
"""

from __future__ import annotations

import streamlit as st

EVERY = 60.0  # seconds between two reruns of the (empty) fragment: only its being there counts


@st.fragment(run_every=EVERY)
def watch() -> None:
    """Nothing to draw (see the module's docstring)."""
