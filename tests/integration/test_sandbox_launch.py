"""What the main job does about market data: use a running sandbox, start one, or go live."""

from __future__ import annotations

from services.sandbox.launch import plan_sandbox
from tests.support.ports import free_port
from tests.support.sandbox import SandboxServer


def test_a_running_sandbox_is_used_as_is(sandbox: SandboxServer) -> None:
    plan = plan_sandbox("sandbox", sandbox.url, tickwork="tickwork")
    assert plan.command is None and sandbox.url in plan.line and "TICKWORK_MARKET_DATA=live" in plan.line


def test_a_local_sandbox_that_does_not_answer_is_started() -> None:
    port = free_port()
    plan = plan_sandbox("sandbox", f"http://127.0.0.1:{port}", tickwork="/bin/tickwork")
    assert plan.command == ["/bin/tickwork", "sandbox", "--host", "127.0.0.1", "--port", str(port)]
    assert plan.line.startswith("market data: simulated by the sandbox market")


def test_a_remote_sandbox_is_not_started_here() -> None:
    plan = plan_sandbox("sandbox", "http://sandbox.invalid:8100", tickwork="tickwork")
    assert plan.command is None and "not answering" in plan.line


def test_live_market_data_needs_no_sandbox() -> None:
    plan = plan_sandbox("live", "http://127.0.0.1:8100", tickwork="tickwork")
    assert plan.command is None and plan.line.startswith("market data: live providers")
