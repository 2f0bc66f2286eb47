"""POST /api/v1/notifications/alertmanager: Alertmanager's webhook, turned into send_alert messages,
for a token with the `notify` scope only."""

from __future__ import annotations

import pytest

from tests.support.api_in_process import InProcessApi
from tests.support.fakes import ConfirmingSender
from tests.unit.test_alertmanager_webhook import GROUP

pytestmark = pytest.mark.both_databases
RECEIVER = "/api/v1/notifications/alertmanager"


@pytest.fixture
def api(database_url):
    api = InProcessApi(database_url)
    api.app.state.client = ConfirmingSender()
    return api


def test_a_group_becomes_one_send_alert_per_alert(api):
    reply = api.call("POST", RECEIVER, api.token("notify"), json=GROUP)
    assert reply.status_code == 202, reply.text
    sent = api.app.state.client.sent
    assert [s.actor for s in sent] == ["send_alert", "send_alert"]
    assert reply.json() == {"alerts": 2, "task_ids": [s.message_id for s in sent]}
    assert sent[0].kwargs["title"] == "[FIRING] Messages of refresh went to refresh.XQ"
    assert sent[1].kwargs["severity"] == "critical" and sent[1].kwargs["title"].startswith("[RESOLVED]")


def test_only_a_notify_token_may_post_and_a_bad_body_is_refused(api):
    assert api.call("POST", RECEIVER, None, json=GROUP).status_code == 401
    assert api.call("POST", RECEIVER, api.token("read", "create"), json=GROUP).status_code == 403
    reply = api.call("POST", RECEIVER, api.token("notify"), json={"version": "4", "status": "firing"})
    assert reply.status_code == 422 and "alerts" in reply.json()["error"]
    assert api.app.state.client.sent == []
