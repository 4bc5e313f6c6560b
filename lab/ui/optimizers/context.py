"""What one rerun of the Optimizers page knows, passed to the functions that draw it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

from lab.app import archive, rooms, runs, session
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
    keep_token()
    store = st.session_state.get(K("store"))
    if store is None:  # the session's first visit: its history from the run store
        token = st.session_state[archive.TOKEN]
        store = archive.session_store(token, int(st.session_state.get(K("keep"), runs.DEFAULT_MAX_RUNS)))
        st.session_state[K("store")] = store
    if store.keeper is not None:  # the class room new runs are posted to (the Class page), if any
        store.keeper.room = rooms.restore(st.session_state, archive.current(), st.session_state[archive.TOKEN])
    open_linked(store)
    return Page(
        url_state=st.session_state.get(session.URL_STATE) or PageState(),
        store=store,
        present=bool(st.session_state[K(PRESENT)]),
    )


def keep_token() -> None:
    """The session's token in the URL (``?s=``), so a reload finds its history; every change of the
    URL's settings calls this after."""
    token = archive.token(st.session_state, st.query_params.to_dict())
    if st.query_params.get(archive.TOKEN_PARAM) != token:
        st.query_params[archive.TOKEN_PARAM] = token


def open_linked(store: runs.RunStore) -> None:
    """A stored run a link named (``?r=``): on screen, without training (in this session's memory,
    under the session's next number)."""
    run = st.session_state.pop(session.LINKED, None)
    if run is None:
        return
    key = (run.asked or run.result.config).to_json()
    entry = store.entries.get(key)
    if entry is None:
        entry = dataclasses.replace(archive.entry_of(run, source="link"), run_id=store.next_id)
        store.put(key, entry)
    st.session_state[K("current")] = [entry.run_id]
    st.session_state[K("autoran")] = True  # nothing to train: the link's run is here


def store_trouble(store: runs.RunStore, where) -> None:
    """Say in ``where``, once, that the run store could not be used (runs are still trained and shown),
    or that the class room refused the run; a toast when it took it (Live posts every retrained edit:
    the student sees what the board gets)."""
    keeper = store.keeper
    if keeper is not None and keeper.notice is not None:
        where.warning(keeper.notice, icon=":material/database:")
        keeper.notice = None
    if keeper is not None and keeper.room_notice is not None:  # a run the class room refused
        where.warning(keeper.room_notice, icon=":material/groups:")
        keeper.room_notice = None
    if keeper is not None and keeper.room_posted is not None:
        st.toast(f"Posted to room {keeper.room_posted}: it is on the board.", icon=":material/groups:")
        keeper.room_posted = None
