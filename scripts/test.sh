#!/usr/bin/env bash
# Runs every test: the contracts' Foundry tests and the Rust workspace's tests. Brings up what the tests
# need first: PostgreSQL and Redis (used if running, started if installed, installed with apt-get if
# missing) and the pinned npm tools (anvil, forge, cast, solc-js) installed into the project.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=127.0.0.1
PG_PORT=5432
export TRIGGERX_TEST_POSTGRES_URL="${TRIGGERX_TEST_POSTGRES_URL:-postgres://postgres@${PG_HOST}:${PG_PORT}/postgres}"
export TRIGGERX_TEST_REDIS_URL="${TRIGGERX_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

. scripts/lib/node-tools.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_install() {
  log "installing $*"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    log "PostgreSQL is running"
  else
    if ! command -v pg_ctlcluster >/dev/null; then
      apt_install postgresql
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    # Local trust authentication for the test role, as on the developer machines.
    local hba="/etc/postgresql/${version}/main/pg_hba.conf"
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    log "starting PostgreSQL ${version}"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
    for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
    pg_isready -h "$PG_HOST" -p "$PG_PORT"
  fi
  # Drop databases left by earlier runs (each test creates its own).
  psql "$TRIGGERX_TEST_POSTGRES_URL" -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'triggerx\_test\_%'" 2>/dev/null |
    while read -r db; do psql "$TRIGGERX_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
}

ensure_redis() {
  if command -v redis-cli >/dev/null && redis-cli -u "$TRIGGERX_TEST_REDIS_URL" ping 2>/dev/null | grep -q PONG; then
    log "Redis is running"
    return
  fi
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server
  fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/triggerx-redis.log
  for _ in $(seq 1 30); do redis-cli ping 2>/dev/null | grep -q PONG && break; sleep 0.5; done
  redis-cli ping
}

ensure_postgres
ensure_redis
ensure_node_tools
log "using $(forge --version | head -n 1), $(anvil --version | head -n 1)"

log "running the contracts' Foundry tests"
forge test
log "checking that the committed contract artifacts are up to date"
./scripts/build-contracts.sh --check

log "running the workspace tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
