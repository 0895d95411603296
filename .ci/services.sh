#!/usr/bin/env bash
# Installs the servers the e2e tests start for themselves: redis-server and mariadb-server
# (test/e2e/databases.test.mjs) and prometheus (test/e2e/runtime-metrics.test.mjs) from Debian
# packages, and chromium, the headless browser test/e2e/viewer-browser.test.mjs drives (installed
# in a step of its own: it is the largest). PostgreSQL 15's server is expected in the machine
# image at /usr/lib/postgresql/15/bin (installed from Debian's postgresql-15 if missing).
#
# Idempotent: does nothing when everything is already there. Never starts or enables a service:
# the tests run private server instances on 127.0.0.1 in temp dirs. Exits non-zero on any failure.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
{ command -v mariadbd >/dev/null 2>&1 && command -v mariadb-install-db >/dev/null 2>&1; } || need+=(mariadb-server)
{ [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ]; } || need+=(postgresql-15)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ "${#need[@]}" -eq 0 ]; then
  echo "services.sh: redis-server, mariadb-server, postgresql-15, prometheus and chromium already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "services.sh: must run as root (or have sudo)" >&2; exit 1; }
  SUDO=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Run a step quietly; on failure print its output and stop.
run() {
  if ! timeout "${STEP_TIMEOUT:-100}" "$@" >"$log" 2>&1; then
    echo "services.sh: FAILED: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

echo "services.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 keeps the packages' maintainer scripts from starting the daemons
# (harmless without systemd, and avoids a stray redis/mariadb on the default ports).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  made_policy=1
fi
cleanup() {
  rm -f "$log"
  [ "$made_policy" -eq 1 ] && "${SUDO[@]}" rm -f "$policy"
  return 0
}
trap cleanup EXIT

run "${SUDO[@]}" apt-get update -q
services=()
for p in "${need[@]}"; do [ "$p" = chromium ] || services+=("$p"); done
[ "${#services[@]}" -eq 0 ] || run "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${services[@]}"
# Chromium and its libraries are over 100 MB to fetch on a new machine.
[ "${#services[@]}" -eq "${#need[@]}" ] || STEP_TIMEOUT=600 run "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium

# Verify, so a half-done install fails here rather than as skipped tests.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadbd)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-install-db)
[ -x "$PG_BIN/postgres" ] || missing+=("$PG_BIN/postgres")
[ -x /usr/bin/prometheus ] || missing+=(/usr/bin/prometheus)
[ -x /usr/bin/chromium ] || missing+=(/usr/bin/chromium)
if [ "${#missing[@]}" -ne 0 ]; then
  echo "services.sh: still missing after install: ${missing[*]}" >&2
  exit 1
fi
echo "services.sh: ok (redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(mariadbd --version | awk '{print $3}'), postgres $("$PG_BIN/postgres" --version | awk '{print $3}'), prometheus $(/usr/bin/prometheus --version 2>&1 | awk 'NR==1{print $3}'), $(/usr/bin/chromium --version 2>/dev/null | awk '{print $1, $2}'))"
