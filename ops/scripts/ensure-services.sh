#!/usr/bin/env bash
# Make sure RabbitMQ and PostgreSQL answer on this machine: start a local server that is installed
# but stopped, otherwise fail with one line saying what to do. Used by `make`, .ci/run and the tests.
set -euo pipefail

RABBIT_HOST=${RABBIT_HOST:-127.0.0.1}; RABBIT_PORT=${RABBIT_PORT:-5672}
PG_HOST=${PG_HOST:-127.0.0.1}; PG_PORT=${PG_PORT:-5432}

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # name host port seconds
  for _ in $(seq "$4"); do listening "$2" "$3" && return 0; sleep 1; done
  return 1
}

if ! listening "$RABBIT_HOST" "$RABBIT_PORT"; then
  if command -v rabbitmq-server >/dev/null; then
    echo "ensure-services: RabbitMQ is down, starting it (rabbitmq-server -detached)" >&2
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  if ! wait_for rabbitmq "$RABBIT_HOST" "$RABBIT_PORT" 60; then
    echo "ensure-services: RabbitMQ is not reachable on $RABBIT_HOST:$RABBIT_PORT and could not be started here; install it (apt-get install rabbitmq-server) or set RABBITMQ_URL to a running server" >&2
    exit 1
  fi
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if ! listening "$PG_HOST" "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "ensure-services: PostgreSQL is down, starting it (pg_ctlcluster)" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  fi
  if ! wait_for postgresql "$PG_HOST" "$PG_PORT" 60; then
    echo "ensure-services: PostgreSQL is not reachable on $PG_HOST:$PG_PORT and could not be started here; install it (apt-get install postgresql) or set TEST_DATABASE_URL to a running server" >&2
    exit 1
  fi
fi

# The live monitoring test scrapes RabbitMQ's own Prometheus endpoint (15692), as the compose stack
# does (ops/rabbitmq/enabled_plugins): enable the plugin on a local broker that lacks it.
if [ "$RABBIT_HOST" = 127.0.0.1 ] && command -v rabbitmq-plugins >/dev/null && ! listening 127.0.0.1 15692; then
  echo "ensure-services: enabling rabbitmq_prometheus (port 15692)" >&2
  rabbitmq-plugins enable --online rabbitmq_prometheus >/dev/null 2>&1 \
    || echo "ensure-services: could not enable rabbitmq_prometheus; the live monitoring test will fail" >&2
  wait_for rabbitmq_prometheus 127.0.0.1 15692 30 || true
fi
