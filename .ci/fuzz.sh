#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS (default 20) each, from
# a scratch copy of its corpus (fuzz/corpus stays as committed). Installs
# cargo-fuzz first if it is missing. A crash fails the script; its input is
# left in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build --fuzz-dir fuzz
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sockpoll-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list --fuzz-dir fuzz); do
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  if ! cargo fuzz run --fuzz-dir fuzz "$target" "$scratch/$target" "fuzz/corpus/$target" \
      -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $target: a crash (the input is in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  echo "fuzz $target: $(grep -E '^Done' "$log" || echo 'ran')"
done
