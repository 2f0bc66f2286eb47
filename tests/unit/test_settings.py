import pytest
from pydantic import SecretStr

from services.errors import SettingsError
from services.settings import SECRET_FIELDS, load_settings


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


SECRET = "hunter2-do-not-print-me"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # a placeholder-like secret that the validator refuses: the line names the variable, not the value
        ("TICKWORK_WEBHOOK_SECRET", "changeme"),
        ("TICKWORK_OPERATOR_SLACK_URL", f"ftp://hooks.slack.com/services/{SECRET}"),
        # a password inside a URL setting that fails validation
        ("RABBITMQ_URL", f"http://guest:{SECRET}@127.0.0.1:5672/"),
        ("DATABASE_URL", f"mysql://tickwork:{SECRET}@db/tickwork"),
    ],
)
def test_the_settings_error_never_echoes_a_secret(monkeypatch, name, value):
    # Given a secret (or a URL with a password) that fails validation
    monkeypatch.setenv("TICKWORK_ENV", "production")
    monkeypatch.setenv(name, value)

    # When the settings are read
    with pytest.raises(SettingsError) as error:
        load_settings()

    # Then the one line names the variable and hides the secret
    line = str(error.value)
    assert name in line
    assert "\n" not in line
    assert SECRET not in line
    assert value not in line


def test_secrets_are_secret_str_and_hidden_from_repr(monkeypatch):
    # Given every secret set
    secrets = {
        "TICKWORK_COINGECKO_API_KEY": f"CG-{SECRET}",
        "TICKWORK_SMTP_PASSWORD": SECRET,
        "TICKWORK_WEBHOOK_SECRET": f"webhook-{SECRET}",
        "TICKWORK_OPERATOR_SLACK_URL": f"https://hooks.slack.com/services/{SECRET}",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)

    # When the settings are read and printed
    settings = load_settings()

    # Then each is a SecretStr: hidden when printed, its value read on purpose
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    for name, value in secrets.items():
        field = getattr(settings, name.lower())
        assert isinstance(field, SecretStr)
        assert field.get_secret_value() == value
    assert {name.lower() for name in secrets} == SECRET_FIELDS
