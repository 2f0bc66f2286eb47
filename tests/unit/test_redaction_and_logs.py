from services.engine.ledger.batch import LogLimits
from services.engine.ledger.redaction import redact


def test_secret_looking_keys_are_redacted_at_any_depth():
    args = {
        "symbol": "AAPL",
        "api_key": "k",
        "smtp": {"password": "p", "host": "h"},
        "hooks": [{"secret": "s", "url": "u"}],
        "Authorization": "Bearer x",
    }
    assert redact(args) == {
        "symbol": "AAPL",
        "api_key": "***",
        "smtp": {"password": "***", "host": "h"},
        "hooks": [{"secret": "***", "url": "u"}],
        "Authorization": "***",
    }


def test_log_tail_keeps_the_last_lines_within_both_limits():
    limits = LogLimits(max_lines=3, max_bytes=12)
    assert limits.tail("a\nb\nc\nd") == "b\nc\nd"
    assert limits.tail("aaaa\nbbbb\ncccc") == "bbbb\ncccc"


def test_a_redacted_ipv6_url_keeps_its_brackets():
    from services.notifications.redaction import redact_url

    shown = redact_url("https://[2001:db8::1]:8443/hooks/secret?token=1")
    assert shown.startswith("https://[2001:db8::1]:8443/…#") and "secret" not in shown
    assert redact_url("http://[::1]/x").startswith("http://[::1]/…#")
    assert redact_url("https://hooks.example.com/x").startswith("https://hooks.example.com/…#")
