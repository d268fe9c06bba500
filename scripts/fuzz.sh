#!/usr/bin/env bash
# Fuzzes every parser that reads a stranger's input (fuzz/fuzz_targets: event filters, decimals, value
# routes, ABIs and arguments, logs, job bodies, P2P messages, schedules) with cargo-fuzz, for a bounded
# time each. Not part of the test command: it needs a nightly toolchain (or stable with
# RUSTC_BOOTSTRAP=1) and takes minutes.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 600             # every target, 10 minutes each
#   scripts/fuzz.sh 120 decimal     # one target
#
# A crash stops the run with the failing input in fuzz/artifacts/<target>/ (replay it with
# `cargo fuzz run <target> <file>`). The corpus grows in fuzz/corpus/<target>/ (ignored by git), starting
# from the committed seeds in fuzz/seeds/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(event_filter decimal value_route abi_arguments decode_log job_body p2p_message schedule)
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  log "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

summary=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target"/ 2>/dev/null || true
  log "fuzzing $target for ${seconds} s"
  out=$(mktemp)
  # -s none: no AddressSanitizer (every target is safe Rust); panics and overflow checks still crash.
  cargo "${toolchain[@]}" fuzz run -s none --debug-assertions "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tee "$out" | grep -E "^(#[0-9]+.*(pulse|DONE)|==|stat::number_of_executed_units|stat::peak_rss_mb)" || true
  if grep -q "^==.*ERROR\|panicked at\|deadly signal" "$out"; then
    log "$target FAILED: see fuzz/artifacts/$target/"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$out" | tail -n 1 | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  summary+=("$(printf '%-14s %10s runs in %ss, coverage %s, corpus %s inputs, no crash' "$target" "$runs" "$seconds" "$cov" "$corpus")")
  rm -f "$out"
done
log "summary"
printf '%s\n' "${summary[@]}"
