"""The console's sessions, CSRF tokens and scopes, over HTTP against `tickwork api`."""

from __future__ import annotations

import re

import pytest
import requests
from fastapi.testclient import TestClient
from sqlmodel import select

from services.api.app import create_app
from services.api.tokens import create_token, revoke_token
from services.settings import Settings
from services.storage.db import session_scope
from services.storage.models import AuditEntry, BotState, Order
from services.trading.kill_switch import halted_reason
from tests.support.console import http_session, seed_trading

pytestmark = [pytest.mark.rabbitmq]


def login_form(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/console/login", timeout=10)
    return re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)


def test_without_a_session_every_page_sends_to_the_login_page(api):
    for path in ("/console/", "/console/tasks?state=failed", "/console/schedules", "/console/trading"):
        reply = requests.get(f"{api.url}{path}", allow_redirects=False, timeout=10)
        assert reply.status_code == 303
        assert reply.headers["location"].startswith("/console/login?next=")
    # A script's request gets 401 rather than a redirect, and an action is refused
    live = requests.get(f"{api.url}/console/tasks/live", headers={"Accept": "application/json"}, timeout=10)
    assert live.status_code == 401
    assert requests.post(f"{api.url}/console/dead-letters/purge", data={"all": "1"}, timeout=10).status_code == 401


def test_the_session_cookie_is_httponly_strict_and_not_secure_over_plain_http(api):
    # Given a login over plain HTTP that claims to be behind TLS (no trusted proxy is configured)
    session = requests.Session()
    nonce = login_form(session, api.url)
    reply = session.post(
        f"{api.url}/console/login",
        data={"nonce": nonce, "token": api.token("read"), "next": "//evil.example/"},
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )
    # Then the cookie is HttpOnly, SameSite=Strict, scoped to /console, and not Secure
    assert reply.status_code == 303 and reply.headers["location"] == "/console/"  # never another site
    cookie = next(c for c in reply.raw.headers.getlist("set-cookie") if c.startswith("tw_console="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags


def test_behind_a_trusted_proxy_the_cookie_is_secure(database_url):
    # Given a token, and the API configured behind a TLS-terminating proxy
    with session_scope(database_url) as db:
        _, token = create_token(session=db, name="proxy", scopes=["read"])
    settings = Settings(database_url=database_url, tickwork_api_trusted_proxy=True)
    browser = TestClient(create_app(settings), base_url="http://console.internal")
    form = browser.get("/console/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)
    # When the proxy forwards an HTTPS login
    reply = browser.post(
        "/console/login",
        data={"nonce": nonce, "token": token},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    # Then the cookie is Secure
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith("tw_console="))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_an_action_without_the_csrf_token_is_refused_and_audited(api, database_url):
    # Given an admin's session
    session, csrf = http_session(api.url, api.token("admin", name="ops"))
    url = f"{api.url}/console/schedules/job-monitor/pause"
    # When it posts an action with no CSRF token, or another session's
    missing = session.post(url, data={}, allow_redirects=False, timeout=10)
    _, other = http_session(api.url, api.token("admin", name="other"))
    wrong = session.post(url, data={"csrf_token": other}, allow_redirects=False, timeout=10)
    # Then both are refused, and the audit log names who tried
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "CSRF" in missing.text
    with session_scope(database_url) as db:
        entries = db.exec(select(AuditEntry).where(AuditEntry.status == 403)).all()
    assert len(entries) == 2
    assert all("(ops)" in e.who and e.action == "console POST /console/schedules/{job}/{verb}" for e in entries)
    # And with its own token it reaches the job (which does not exist here: 404, not 403)
    assert session.post(url, data={"csrf_token": csrf}, allow_redirects=False, timeout=10).status_code == 404


def test_trading_actions_without_the_csrf_token_change_nothing(api, database_url):
    # Given a portfolio with a working order and a bot, and an admin's session
    seed = seed_trading(database_url)
    session, csrf = http_session(api.url, api.token("admin", name="ops"))
    halt = f"{api.url}/console/trading/portfolios/{seed.portfolio_id}/halt"
    actions = (
        f"{api.url}/console/trading/orders/{seed.working_order_id}/cancel",
        halt,
        f"{api.url}/console/trading/kill-switch/halt",
        f"{api.url}/console/trading/bots/{seed.bot_id}/pause",
    )
    # When each action is posted without the CSRF token
    replies = [session.post(url, data={"reason": "forged"}, allow_redirects=False, timeout=10) for url in actions]
    # Then each is refused and audited, and nothing changed
    assert [reply.status_code for reply in replies] == [403] * len(actions)
    with session_scope(database_url) as db:
        assert db.get(Order, seed.working_order_id).state == "working"
        assert halted_reason(session=db, portfolio_id=seed.portfolio_id) is None
        assert db.get(BotState, seed.bot_id).state != "paused"
        assert len(db.exec(select(AuditEntry).where(AuditEntry.status == 403)).all()) == len(actions)
    # And a halt with the token but no printable reason is refused too: the risk events keep why
    reply = session.post(halt, data={"csrf_token": csrf, "reason": " \x00\t "}, allow_redirects=False, timeout=10)
    assert reply.status_code == 400 and "reason" in reply.text


def test_a_login_without_its_form_nonce_is_refused(api):
    reply = requests.post(f"{api.url}/console/login", data={"token": api.token("admin")}, timeout=10)
    assert reply.status_code == 403


def test_revoking_a_token_ends_its_console_sessions(api, database_url):
    token = api.token("read", name="leaver")
    session, _ = http_session(api.url, token)
    assert session.get(f"{api.url}/console/tasks", allow_redirects=False, timeout=10).status_code == 200
    with session_scope(database_url) as db:
        revoke_token(session=db, token_id=token.split("_")[1])
    assert session.get(f"{api.url}/console/tasks", allow_redirects=False, timeout=10).status_code == 303
