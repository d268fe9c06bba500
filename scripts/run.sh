#!/usr/bin/env bash
# Runs TriggerX locally (`triggerx up`): installs the pinned npm tools if needed, builds, and starts two
# chains, the API, registrar, health, dispatcher and 3 keepers in one process. Extra arguments go to
# `triggerx up` (see `triggerx up --help`). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/node-tools.sh
ensure_node_tools
exec cargo run --release -p triggerx -- up "$@"
