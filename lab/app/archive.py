"""The pages' side of the run store (lab/store): one store per process, a session's history read
from it and each new run written to it, links that name a stored run, and what to say when the
store cannot be used.

A session is known by a token its browser keeps in the page's URL (``?s=``; share links never
carry it): the same token after a reload, a server restart or on another replica finds the same
history. A store that cannot be opened or written is said once per session; training, charts and
the in-memory history go on without it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

from lab import store as db
from lab.app import rooms
from lab.app.keys import SHARED
from lab.app.runs import Entry, RunStore

TOKEN_PARAM = "s"  # the query parameter holding the session's token
LINK_PARAM = "r"  # the query parameter naming a stored run
TOKEN = SHARED("store_token")  # the session's token, in the session state
RETRY_SECONDS = 30.0  # a store that could not be opened is tried again after this long
NOT_KEPT = "Training and charts work as before, but runs are kept only while this page stays open."


class _Process:
    """The process's store, opened at first use; after a failure, tried again now and then."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url: str | None = None  # None: lab.store.default_url() at open time
        self.store: db.Store | None = None
        self.failure: str | None = None
        self.failed_at = -float("inf")

    def get(self) -> tuple[db.Store | None, str | None]:
        with self.lock:
            if self.store is None and time.monotonic() - self.failed_at >= RETRY_SECONDS:
                try:
                    self.store, self.failure = db.open(self.url), None
                except db.StoreError as exc:
                    self.failure, self.failed_at = str(exc), time.monotonic()
            return self.store, self.failure

    def reset(self, url: str | None = None) -> None:
        with self.lock:
            if self.store is not None:
                self.store.close()
            self.url, self.store, self.failure, self.failed_at = url, None, None, -float("inf")


PROCESS = _Process()


def current() -> db.Store | None:
    return PROCESS.get()[0]


def reset(url: str | None = None) -> None:
    """Close the process's store; the next use opens ``url`` (default: the environment's)."""
    PROCESS.reset(url)


def said(failure: str) -> str:
    """The notice for a store that failed."""
    return f"Runs are not being saved: {failure}. {NOT_KEPT}"


@dataclasses.dataclass
class Keeper:
    """A session's link to the store (see :class:`lab.app.runs.RunStore`'s ``keeper``): ``notice``
    holds what went wrong until the page has said it."""

    token: str
    notice: str | None = None
    told: set[str] = dataclasses.field(default_factory=set)  # each failure is said once
    room: rooms.Membership | None = None  # the class room each new run is posted to (the Class page)
    room_notice: str | None = None  # why the last run was not posted, until the page has said it
    room_posted: str | None = None  # the room the last run was posted to, until the page has said it

    def _tell(self, failure: str) -> None:
        if failure not in self.told:
            self.told.add(failure)
            self.notice = said(failure)

    def keep(self, entry: Entry) -> Entry:
        store = self._store()
        if store is None:
            return entry
        try:
            short_id = self._post(store, entry)
            if short_id is None:
                short_id = store.save(entry.result, session=self.token, seq=entry.run_id, asked=entry.asked)
        except db.StoreError as exc:
            self._tell(str(exc))
            return entry
        return dataclasses.replace(entry, short_id=short_id)

    def _post(self, store: db.Store, entry: Entry) -> str | None:
        """Post ``entry`` to the session's room; None when there is none or it refused (then said)."""
        if self.room is None:
            return None
        try:
            short_id = rooms.post(store, entry.result, self.room, self.token, entry.run_id, entry.asked)
        except rooms.RoomError as err:
            self.room_notice = rooms.refused(err, self.room)
            return None
        self.room_posted = self.room.code
        return short_id

    def forget(self, entries: list[Entry]) -> None:
        store = self._store()
        ids = [e.short_id for e in entries if e.short_id is not None]
        if store is not None and ids:
            try:
                store.forget(self.token, ids)
            except db.StoreError as exc:
                self._tell(str(exc))

    def history(self, limit: int) -> list[Entry]:
        """This session's stored runs, oldest first (none when the store cannot be read)."""
        store = self._store()
        if store is None:
            return []
        try:
            return [entry_of(run) for run in store.history(self.token, limit)]
        except (db.StoreError, ValueError) as exc:
            self._tell(str(exc))
            return []

    def _store(self) -> db.Store | None:
        store, failure = PROCESS.get()
        if store is None and failure is not None:
            self._tell(failure)
        return store


def entry_of(run: db.StoredRun, source: str = "stored") -> Entry:
    """A stored run as a history entry: its number in its session, its creation in local time."""
    return Entry(
        run_id=run.seq,
        created=run.created.astimezone().replace(tzinfo=None),
        config=run.result.config,
        result=run.result,
        source=source,
        asked=run.asked,
        short_id=run.short_id,
    )


def session_store(token: str, max_runs: int) -> RunStore:
    """A session's run store, its history read back from the database (the newest ``max_runs``)."""
    keeper = Keeper(token)
    runs = RunStore(max_runs=max_runs, keeper=keeper)
    for entry in keeper.history(max_runs):
        runs.put((entry.asked or entry.config).to_json(), entry)
    return runs


def token(state: MutableMapping[str, Any], query: Mapping[str, Any]) -> str:
    """The session's token: the URL's when it is one, else the session's, else a new one."""
    asked = query.get(TOKEN_PARAM)
    if db.valid_token(asked) and state.get(TOKEN) != asked:
        state[TOKEN] = asked
    return state.setdefault(TOKEN, db.new_token())


def linked(short_id: str) -> db.StoredRun:
    """The stored run a link's ``?r=`` names; ValueError with the notice to show when there is none."""
    text = short_id.strip().lower()
    if not db.valid_short_id(text):
        raise ValueError(
            f"Ignored {LINK_PARAM}={short_id[:40]!r}: a stored run's id is {db.SHORT_LEN} letters and digits."
        )
    store, failure = PROCESS.get()
    if store is None:
        raise ValueError(f"The run {text} cannot be opened: {failure}.")
    try:
        run = store.get(text)
    except (db.StoreError, ValueError) as exc:
        raise ValueError(f"The run {text} cannot be opened: {exc}.") from None
    if run is None:
        raise ValueError(f"No stored run has the id {text}: it may be from another server. Showing the defaults.")
    return run
