# Sourced by scripts/*.sh: installs the pinned npm tools (anvil, forge, cast, solc-js) into the project's
# node_modules when missing or outdated, and puts them on PATH.
ensure_node_tools() {
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -x node_modules/.bin/forge ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    printf '\033[1m==> %s\033[0m\n' "installing the pinned npm tools (anvil, forge, cast, solc)"
    # `npm install`, not `npm ci`: npm leaves other platforms' optional binaries out of the lock, which
    # `npm ci` then refuses; `npm install` still installs the locked versions.
    npm install --no-audit --no-fund --loglevel=error
  fi
  export PATH="$PWD/node_modules/.bin:$PATH"
}
