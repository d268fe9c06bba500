#!/usr/bin/env bash
# Compiles the contracts with forge (solc-js via scripts/solc) and writes their ABI and bytecode to
# contracts/artifacts/<Name>.json, which are committed so Rust builds need neither Node nor solc.
#   scripts/build-contracts.sh           refresh the committed artifacts
#   scripts/build-contracts.sh --check   fail if the committed artifacts are stale
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

CONTRACTS=(JobRegistry TriggerGasRegistry TaskExecutionHub KeeperRegistry AttestationCenter Counter EventEmitter GuardedCounter LegacyTaskExecutionHub)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
forge build --quiet --out "$out/forge" >/dev/null

target=contracts/artifacts
if [ "${1:-}" = "--check" ]; then target="$out/artifacts"; fi
mkdir -p "$target"
node - "$out/forge" "$target" "${CONTRACTS[@]}" <<'JS'
const fs = require('fs');
const path = require('path');
const [forgeOut, target, ...names] = process.argv.slice(2);
for (const name of names) {
  const built = JSON.parse(fs.readFileSync(path.join(forgeOut, `${name}.sol`, `${name}.json`), 'utf8'));
  const artifact = {
    contractName: name,
    abi: built.abi,
    bytecode: built.bytecode.object,
    deployedBytecode: built.deployedBytecode.object,
  };
  fs.writeFileSync(path.join(target, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
}
JS

if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q "$target" contracts/artifacts; then
    echo "contracts/artifacts is stale: run scripts/build-contracts.sh and commit the result" >&2
    exit 1
  fi
  echo "contract artifacts are up to date"
fi
