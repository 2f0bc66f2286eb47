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


def test_no_module_over_400_lines_without_a_reason_at_its_top():
    # A file past ~400 lines usually holds two concerns (STYLE.md): split it, or say why not.
    import ast

    long = []
    for path in sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "actors").rglob("*.py")]):
        text = path.read_text()
        if "migrations" in path.parts or text.count("\n") <= 400:
            continue
        if "Over 400 lines because" not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not long, f"split these, or say 'Over 400 lines because ...' in the module docstring: {long}"
