import pytest

from services.errors import SettingsError
from services.settings import load_settings


def test_defaults_follow_design_md(monkeypatch):
    for name in ("RABBITMQ_URL", "DATABASE_URL", "METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.rabbitmq_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert settings.database_url == "sqlite:///tickwork.db"
    assert settings.metrics_port == 9191


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("METRICS_PORT", "abc", "METRICS_PORT='abc'"),
        ("METRICS_PORT", "70000", "less than or equal to 65535"),
        ("RABBITMQ_URL", "http://x", "amqp://"),
        ("DATABASE_URL", "mysql://x", "sqlite:// or postgresql://"),
        ("TICKWORK_DELAY_HOLD_SECONDS", "0", "TICKWORK_DELAY_HOLD_SECONDS"),
    ],
)
def test_bad_value_is_reported_in_one_line_naming_the_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert says in str(error.value)
    assert "\n" not in str(error.value)
