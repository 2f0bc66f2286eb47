"""Templates escape what they are given, and the webhook secret must be real outside development."""

from __future__ import annotations

import pytest

from services.errors import NotificationInvalid, SettingsError
from services.notifications.templates import SafeHtml, render
from services.settings import load_settings, revealed


def test_templates_escape_html_values_but_not_safe_fragments_and_keep_text_as_is():
    body = render("message", {"body": "<script>alert(1)</script> & more"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body.html
    assert "<script>" not in body.html and "<script>alert(1)</script> & more" in body.text
    assert "<b>kept</b>" in render("message", {"body": SafeHtml("<b>kept</b>")}).html


@pytest.mark.parametrize(
    ("name", "context", "problem"),
    [
        ("message", {}, "needs a value for 'body'"),
        ("no_such_template", {"body": "x"}, "no template"),
        ("../message", {"body": "x"}, "bad template name"),
    ],
)
def test_a_template_that_cannot_be_filled_is_refused(name, context, problem):
    with pytest.raises(NotificationInvalid, match=problem):
        render(name, context)


@pytest.mark.parametrize("env", ["test", "production"])
@pytest.mark.parametrize("secret", ["changeme", "secret", "short-secret"])
def test_a_placeholder_webhook_secret_is_refused_outside_development(monkeypatch, env, secret):
    monkeypatch.setenv("TICKWORK_ENV", env)
    monkeypatch.setenv("TICKWORK_WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError, match="TICKWORK_WEBHOOK_SECRET"):
        load_settings()


def test_a_real_secret_anywhere_and_a_placeholder_in_development_are_accepted(monkeypatch):
    monkeypatch.setenv("TICKWORK_ENV", "production")
    monkeypatch.setenv("TICKWORK_WEBHOOK_SECRET", "b9f0c1d2e3a4f5a6b7c8d9e0")
    assert revealed(load_settings().tickwork_webhook_secret) == "b9f0c1d2e3a4f5a6b7c8d9e0"
    monkeypatch.setenv("TICKWORK_ENV", "development")
    monkeypatch.setenv("TICKWORK_WEBHOOK_SECRET", "changeme")
    assert revealed(load_settings().tickwork_webhook_secret) == "changeme"
