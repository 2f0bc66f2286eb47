"""Import-time rules that a refactoring could silently break."""

from __future__ import annotations

import subprocess
import sys

from tests.support.workers import ROOT


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_import_actors_leaves_prometheus_client_for_the_worker_to_load():
    # prometheus_client chooses in-memory or multiprocess storage when first imported; a worker
    # sets its folder at boot, so an earlier import would make every worker's metrics vanish.
    assert "prometheus_client" not in imported_after("import actors")


def test_services_do_not_import_dramatiq_or_periodiq():
    modules = imported_after(
        "import services.engine.client, services.scheduling.scheduler, services.scheduling.control, services.cli.main"
    )
    assert not {"dramatiq", "periodiq", "actors"} & modules
