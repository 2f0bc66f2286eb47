#!/usr/bin/env bash
# The main job: set up, make sure RabbitMQ and PostgreSQL answer, migrate, run every worker group.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash ops/scripts/setup.sh
bash ops/scripts/ensure-services.sh
exec .venv/bin/tickwork run "$@"
