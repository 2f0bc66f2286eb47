"""Shared fixtures: real RabbitMQ (a throw-away vhost per session), worker groups, the client."""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from services.storage.db import session_factory
from services.storage.migrate import upgrade
from tests.support.databases import throwaway_database
from tests.support.ports import free_port
from tests.support.rabbit import Rabbit, create_vhost, delete_vhost, have_rabbitmqctl
from tests.support.workers import ROOT, WorkerGroup

ENSURE_SERVICES = ROOT / "ops" / "scripts" / "ensure-services.sh"


@pytest.fixture(scope="session")
def services_up() -> None:
    """RabbitMQ and PostgreSQL answer (started if installed but stopped), or the run stops here."""
    result = subprocess.run(["bash", str(ENSURE_SERVICES)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.exit(result.stderr.strip() or "RabbitMQ/PostgreSQL unavailable", returncode=3)


# Tests run in parallel processes (pytest-xdist) on one RabbitMQ: a test that restarts the broker holds
# BROKER_LOCK exclusively, every other test that uses the broker holds it shared. The exclusive holder
# first closes GATE, so that new shared holders queue behind it instead of starving it.
BROKER_LOCK = Path(tempfile.gettempdir()) / "tickwork-tests-broker.lock"
GATE = Path(tempfile.gettempdir()) / "tickwork-tests-broker.gate"


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _shared_broker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before any other fixture, torn down after all: no connection outlives the lock."""
    if "rabbit_url" not in request.fixturenames or request.node.get_closest_marker("restarts_broker"):
        yield
        return
    with ExitStack() as held:
        with _flock(GATE, fcntl.LOCK_SH):  # passed at once unless a restart waits
            held.enter_context(_flock(BROKER_LOCK, fcntl.LOCK_SH))
        yield


@pytest.fixture
def broker_to_itself() -> Iterator[None]:
    """For a test marked `restarts_broker`: no other test uses RabbitMQ meanwhile."""
    with _flock(GATE, fcntl.LOCK_EX), _flock(BROKER_LOCK, fcntl.LOCK_EX):
        yield


@pytest.fixture(scope="session")
def rabbit_url(services_up: None) -> Iterator[str]:
    if not have_rabbitmqctl():
        yield os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
        return
    vhost, url = create_vhost()
    yield url
    delete_vhost(vhost)


@pytest.fixture
def rabbit(rabbit_url: str) -> Iterator[Rabbit]:
    """A connection to the test vhost; every queue starts empty."""
    connection = Rabbit(rabbit_url)
    connection.purge_all()
    yield connection
    connection.close()


@pytest.fixture
def probe_log(tmp_path: Path) -> Path:
    return tmp_path / "probe.jsonl"


# What `@pytest.mark.both_databases` (on a test, or as a module's pytestmark) runs a test on.
BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.hookimpl(trylast=True)  # after the parametrize marks, so that test ids keep their order
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test marked `both_databases` once on SQLite and once on PostgreSQL (marked postgres)."""
    if metafunc.definition.get_closest_marker("both_databases") is None:
        return
    if "database_url" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} is marked both_databases but uses no database_url")
    metafunc.parametrize("database_url", BOTH_DATABASES, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, services_up: None) -> Iterator[str]:
    """A migrated, empty database: SQLite unless a test is parametrized with "postgresql" (see
    `both_databases` above)."""
    with throwaway_database(getattr(request, "param", "sqlite"), tmp_path) as url:
        upgrade(url)
        yield url


@pytest.fixture
def worker_env(rabbit_url: str, tmp_path: Path, probe_log: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKWORK_", "PROMETHEUS_"))}
    env.update(
        RABBITMQ_URL=rabbit_url,
        DATABASE_URL=database_url,
        TICKWORK_ENV="test",
        TICKWORK_METRICS_DIR=str(tmp_path / "metrics"),
        PROBE_LOG=str(probe_log),
        TICKWORK_CONTRACT_MODULES="tests.support.probe_contract",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture
def start_workers(worker_env: dict[str, str], tmp_path: Path, rabbit: Rabbit) -> Iterator[Callable[..., WorkerGroup]]:
    """Start `dramatiq actors tests.support.probe_actors` groups; all are stopped after the test."""
    groups: list[WorkerGroup] = []

    def start(
        *, queues: list[str] | None = None, processes: int = 1, threads: int = 2, **extra_env: str
    ) -> WorkerGroup:
        env = {**worker_env, "METRICS_PORT": str(free_port()), **extra_env}
        group = WorkerGroup(
            env, queues=queues, processes=processes, threads=threads, log_path=tmp_path / f"workers-{len(groups)}.log"
        )
        groups.append(group)
        return group

    yield start
    for group in groups:
        group.stop()


@pytest.fixture
def client(rabbit_url: str, rabbit: Rabbit, database_url: str) -> Iterator[object]:
    """The client as the API and CLI use it: it records each sent task as `pending`."""
    import tests.support.probe_contract  # noqa: F401  (registers the probe actors in the contract)
    from services.engine.client import TickworkClient
    from services.settings import Settings

    settings = Settings(rabbitmq_url=rabbit_url, database_url=database_url)
    with TickworkClient(settings=settings, url=rabbit_url, ledger=session_factory(database_url)) as tickwork:
        yield tickwork


@pytest.fixture
def api(worker_env: dict[str, str], tmp_path: Path, rabbit: Rabbit) -> Iterator[object]:
    """`tickwork api` against the test vhost and database (PostgreSQL when the test asks for it)."""
    from tests.support.api import ApiServer

    server = ApiServer(worker_env, tmp_path / "api.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[object]:
    """One sandbox market per test session, in this process on a free port (tests/support/sandbox.py)."""
    from tests.support.sandbox import SandboxServer

    server = SandboxServer()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: object) -> object:
    """The sandbox market, reset for this test: start-up config, no faults, no stats, fresh rate windows."""
    sandbox_server.reset()  # type: ignore[attr-defined]
    return sandbox_server
