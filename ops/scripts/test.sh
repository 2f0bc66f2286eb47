#!/usr/bin/env bash
# Everything CI checks: set up, make sure the servers answer, lint, type-check, run the tests.
# Extra arguments go to pytest (e.g. -m "not slow" for a quick run, -n 0 for one process).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ops/scripts/setup.sh
bash ops/scripts/test-packages.sh
bash ops/scripts/ensure-services.sh
.venv/bin/ruff check actors services tests bench ops
.venv/bin/ruff format --check actors services tests bench ops
.venv/bin/mypy
# Tests run in three processes (pytest-xdist; most wait on workers and servers, not the CPU), each
# with its own RabbitMQ vhost and databases; tests marked xdist_group share one process (a costly fixture).
exec .venv/bin/pytest -n "${TICKWORK_TEST_PROCESSES:-3}" --dist loadgroup "$@"
