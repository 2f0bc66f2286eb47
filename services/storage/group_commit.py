"""Small writes from many threads, committed together.

A web process answers many requests at once, and each writes a row or two (the task it sent as
`pending`, its audit line) that must be committed before it answers. Committed one by one, every
request waits for a commit of its own (and for a pooled connection to make it on). Here a write is
queued; one thread at a time commits every queued write in one transaction, and each caller returns
once the commit that holds its write is done. While one commit runs the next batch gathers, so the
commits a second stay few however many requests there are.

A batch the database refuses is written again one write at a time, so one bad write fails only its
own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from services.storage.db import SessionFactory

Write = Callable[["Session"], None]


@dataclass(eq=False)
class _Queued:
    write: Write
    done: bool = False
    error: Exception | None = None


class GroupWriter:
    """Commits the writes of every thread calling `write` in shared transactions."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self._commit_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued: list[_Queued] = []

    def write(self, write: Write) -> None:
        """Run `write(session)` in a transaction shared with other callers; returns once committed
        (raises what the write raised, alone, if it cannot be committed)."""
        mine = _Queued(write)
        with self._queue_lock:
            self._queued.append(mine)
        with self._commit_lock:
            if not mine.done:  # else the commit before this one took it along
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch)
        if mine.error is not None:
            raise mine.error

    def _commit(self, batch: list[_Queued]) -> None:
        try:
            with self.sessions() as session:
                for queued in batch:
                    queued.write(session)
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                for queued in batch:
                    self._commit_alone(queued)
        for queued in batch:
            queued.done = True

    def _commit_alone(self, queued: _Queued) -> None:
        try:
            with self.sessions() as session:
                queued.write(session)
        except Exception as error:
            queued.error = error
