"""Alertmanager's webhook body becomes one send_alert per alert, keyed so a repeat is sent once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.contract import CONTRACT
from services.notifications.alertmanager import AlertmanagerWebhook, alerts_to_send

# The shape of Alertmanager 0.25's webhook_config payload (version 4), as it posts a group.
GROUP = {
    "version": "4",
    "groupKey": '{}:{alertname="TickworkDeadLettered"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "tickwork",
    "groupLabels": {"alertname": "TickworkDeadLettered"},
    "commonLabels": {"alertname": "TickworkDeadLettered", "severity": "warning"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "TickworkDeadLettered", "severity": "warning", "queue": "refresh"},
            "annotations": {"summary": "Messages of refresh went to refresh.XQ", "description": "2 in 15 minutes"},
            "startsAt": "2026-12-02T06:40:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "TickworkWorkerDown", "severity": "critical", "job": "workers-orders"},
            "annotations": {"summary": "Worker group workers-orders is down"},
            "startsAt": "2026-12-02T05:00:00Z",
            "endsAt": "2026-12-02T05:10:00Z",
            "generatorURL": "",
            "fingerprint": "ffff000011112222",
        },
    ],
}


def test_each_alert_of_a_group_becomes_a_valid_send_alert():
    sends = alerts_to_send(AlertmanagerWebhook.model_validate(GROUP))
    assert [s.actor for s in sends] == ["send_alert", "send_alert"]
    firing, resolved = sends
    assert firing.kwargs["title"] == "[FIRING] Messages of refresh went to refresh.XQ"
    assert firing.kwargs["severity"] == "warning"
    assert "queue: refresh" in firing.kwargs["message"] and "2 in 15 minutes" in firing.kwargs["message"]
    assert resolved.kwargs["title"] == "[RESOLVED] Worker group workers-orders is down"
    assert "to 2026-12-02T05:10:00+00:00" in resolved.kwargs["message"]
    for send in sends:
        CONTRACT.get("send_alert").validate(send.kwargs)  # what the worker will accept


def test_a_repeated_group_keeps_its_message_ids_and_a_new_firing_gets_a_new_one():
    first = alerts_to_send(AlertmanagerWebhook.model_validate(GROUP))
    again = alerts_to_send(AlertmanagerWebhook.model_validate(GROUP))
    assert [s.message_id for s in first] == [s.message_id for s in again]
    refired = {**GROUP, "alerts": [{**GROUP["alerts"][0], "startsAt": "2026-12-02T07:40:00Z"}]}
    assert alerts_to_send(AlertmanagerWebhook.model_validate(refired))[0].message_id != first[0].message_id
    assert first[0].message_id != first[1].message_id


def test_an_unknown_severity_is_sent_as_a_warning():
    group = {**GROUP, "alerts": [{**GROUP["alerts"][0], "labels": {"alertname": "X", "severity": "page"}}]}
    assert alerts_to_send(AlertmanagerWebhook.model_validate(group))[0].kwargs["severity"] == "warning"


def test_a_body_that_is_not_alertmanager_s_is_refused():
    with pytest.raises(ValidationError):
        AlertmanagerWebhook.model_validate({"version": "4", "status": "firing", "alerts": [{"labels": {}}]})
