"""What a request shares with its neighbours: checked tokens (for a second) and the commits of its rows."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from services.api.tokens import Caller, InvalidToken, TokenCache
from services.storage.group_commit import GroupWriter

ALICE = Caller("t1", "alice", frozenset({"read"}))


def test_a_checked_token_is_kept_for_its_ttl_and_then_looked_up_again():
    now = [100.0]
    cache = TokenCache(ttl_s=1.0, clock=lambda: now[0])
    looked_up: list[str] = []

    def look_up(token: str) -> Caller:
        looked_up.append(token)
        return ALICE

    assert cache.caller("tw_t1_secret", look_up) == ALICE
    now[0] += 0.9
    assert cache.caller("tw_t1_secret", look_up) == ALICE
    assert looked_up == ["tw_t1_secret"]
    now[0] += 0.2  # past the second: a revocation made meanwhile is seen now

    def revoked(token: str) -> Caller:
        looked_up.append(token)
        raise InvalidToken("invalid or revoked token")

    with pytest.raises(InvalidToken):
        cache.caller("tw_t1_secret", revoked)
    assert len(looked_up) == 2


def test_an_invalid_token_is_never_kept():
    cache = TokenCache(ttl_s=60)
    calls = []

    def refuse(token: str) -> Caller:
        calls.append(token)
        raise InvalidToken("invalid or revoked token")

    for _ in range(3):
        with pytest.raises(InvalidToken):
            cache.caller("tw_x_bad", refuse)
    assert len(calls) == 3


class CountingSessions:
    """A session factory whose commits take 20 ms and are counted; `refuse` fails a whole batch holding it."""

    def __init__(self, refuse: object = None) -> None:
        self.commits: list[list[object]] = []
        self.refuse = refuse

    @contextmanager
    def __call__(self):
        written: list[object] = []
        yield written
        time.sleep(0.02)
        if self.refuse in written:
            raise ValueError(f"refused {self.refuse}")
        self.commits.append(written)


def test_concurrent_writes_share_commits_and_each_returns_once_committed():
    sessions = CountingSessions()
    writer = GroupWriter(sessions)  # type: ignore[arg-type]
    returned: list[int] = []

    def request(n: int) -> None:
        writer.write(lambda session: session.append(n))
        assert any(n in commit for commit in sessions.commits)  # committed before write() returned
        returned.append(n)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(returned) == list(range(32))
    assert sorted(n for commit in sessions.commits for n in commit) == list(range(32))  # each once
    assert len(sessions.commits) < 16  # one commit per write would be 32


def test_a_refused_write_fails_only_its_own_caller():
    sessions = CountingSessions(refuse="bad")
    writer = GroupWriter(sessions)  # type: ignore[arg-type]
    errors: dict[object, Exception] = {}

    def request(item: object) -> None:
        try:
            writer.write(lambda session: session.append(item))
        except ValueError as error:
            errors[item] = error

    threads = [threading.Thread(target=request, args=(item,)) for item in [1, 2, "bad", 3, 4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert list(errors) == ["bad"]
    assert sorted(n for commit in sessions.commits for n in commit if n != "bad") == [1, 2, 3, 4]
