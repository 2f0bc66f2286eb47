#!/usr/bin/env bash
# Debian packages that tests need beside Python's, installed when missing. Used by ops/scripts/test.sh.
set -euo pipefail

# need_debian installs a package when its command is missing; `apt-get update` first, since a new
# machine has no package lists.
need_debian() {  # command package
  command -v "$1" >/dev/null && return 0
  if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "setup: $1 is missing; install the Debian package $2 (apt-get install $2)" >&2; exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    echo "setup: apt-get update" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || { echo "setup: apt-get update failed" >&2; exit 1; }
    APT_UPDATED=1
  fi
  echo "setup: installing $2 (for $1)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2 \
    || { echo "setup: apt-get install $2 failed; install it by hand" >&2; exit 1; }
}
# promtool checks the Prometheus config and unit-tests the alert rules.
need_debian promtool prometheus
# Alertmanager (and amtool, which checks its config) for the live monitoring test.
need_debian amtool prometheus-alertmanager
# The console's browser tests drive Debian's chromium through Playwright (no browser download).
need_debian chromium chromium
