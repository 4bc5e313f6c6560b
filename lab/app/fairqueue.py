"""Fair queueing of the trainings on one server: a few run at once, the rest wait their turn.

- at most ``slots`` trainings at a time (one per core by default: more would only slow each down);
- at most one training per session: its next request waits until its last one is done, and a new
  request from a session replaces the one it still has waiting (the learner changed their mind);
- sessions are served first come, first served, and a waiting request is told its place;
- short work (a training estimated to take no longer than a live edit) has one slot of its own, so a
  student's default link never queues behind a classmate's long training.

Pure threading: the page passes a session id and a callback that shows the place in the queue (in
Streamlit that callback is also where a closed tab's waiting request ends: the write raises).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class Replaced(ValueError):
    """Raised in a waiting request when a newer request of the same session takes its place."""


class Busy(ValueError):
    """Raised at once for a request that would not wait (a live edit) when no slot is free."""


@dataclass(eq=False)
class _Ticket:
    session: str
    short: bool
    replaced: bool = False


class FairQueue:
    def __init__(self, slots: int, short_slots: int = 1):
        self.slots, self.short_slots = slots, short_slots
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._running: list[_Ticket] = []

    def _free(self, ticket: _Ticket) -> bool:
        """Whether ``ticket`` may start now: first among those it may pass, a slot free, and its
        session not training already."""
        training = {t.session for t in self._running}
        if ticket.session in training:
            return False
        long_running = sum(not t.short for t in self._running)
        short_running = sum(t.short for t in self._running)
        in_general = long_running + max(0, short_running - self.short_slots)  # the general slots in use
        if ticket.short:
            ahead = [t for t in self._waiting if t.short]
            room = short_running < self.short_slots or in_general < self.slots
        else:
            ahead = [t for t in self._waiting if not t.short]
            room = in_general < self.slots
        first = next((t for t in ahead if t.session not in training), None)
        return room and first is ticket

    def place(self, ticket: _Ticket) -> int:
        """1 for the next to start, 2 for the one after, …"""
        return [t for t in self._waiting if t.short == ticket.short].index(ticket) + 1

    @contextlib.contextmanager
    def slot(
        self,
        session: str,
        short: bool = False,
        on_wait: Callable[[int], None] | None = None,
        poll: float = 0.1,
        wait: bool = True,
    ) -> Iterator[None]:
        """Hold a training slot for ``session``. While waiting, ``on_wait(place)`` is called every
        ``poll`` seconds (outside the lock; an exception from it ends the wait); :class:`Replaced`
        when the session asks again meanwhile. ``wait=False``: :class:`Busy` at once rather than
        queueing."""
        ticket = _Ticket(session, short)
        with self._cond:
            for t in self._waiting:
                if t.session == session:
                    t.replaced = True
            self._waiting = [t for t in self._waiting if t.session != session]
            self._waiting.append(ticket)
            self._cond.notify_all()
        try:
            while True:
                with self._cond:
                    if ticket.replaced:
                        raise Replaced(f"a newer request of session {session} took this one's place")
                    if self._free(ticket):
                        self._waiting.remove(ticket)
                        self._running.append(ticket)
                        break
                    if not wait:
                        raise Busy("every training slot of this server is in use")
                    place = self.place(ticket)
                if on_wait is not None:
                    on_wait(place)
                with self._cond:
                    if not ticket.replaced and not self._free(ticket):
                        self._cond.wait(poll)
        except BaseException:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._running.remove(ticket)
                self._cond.notify_all()

    def snapshot(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._cond:
            return len(self._running), len(self._waiting)
