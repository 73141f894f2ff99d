#!/usr/bin/env bash
# The other Unix targets, after the native steps (never beside them: the
# machine has 2 cores). Uses the recipe in ../shared/cross/ (Debian's Rust
# with its standard-library source, -Zbuild-std; see its README), which
# installs what it needs itself:
#   1. the libraries with Rust 1.85, the rust-version in Cargo.toml;
#   2. the whole workspace (tests, examples, benches) for macOS x86_64 and
#      FreeBSD, the libraries for every other target in the README's
#      platform table;
#   3. the test suite on i686 glibc and x86_64 musl Linux.
# Any error or compiler warning fails the step.
set -euo pipefail
cd "$(dirname "$0")/.."
cross=../shared/cross
tdir=${CROSS_TARGET_DIR:-${TMPDIR:-/tmp}/sockpoll-cross-target}
export CROSS_TARGET_DIR=$tdir

sub() { printf -- '--- %s\n' "$*"; }

# The test suite's dev-dependencies need Rust 1.88; apt's lists may predate
# Debian's newer rustc-web (bookworm-security): refresh them once if so.
newest=$(apt-cache madison rustc-web 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -Vr | head -1)
if [ -z "$newest" ] || [ "$(printf '%s\n' 1.88 "$newest" | sort -V | head -1)" != 1.88 ]; then
  sub "apt's lists offer rustc-web '${newest:-none}' (< 1.88): apt-get update"
  timeout 600 apt-get update -q >/dev/null
fi

# Fails if a log holds a compiler warning about the project's own files.
no_warnings() {
  local found
  found=$(grep -hE '^(src|tests|examples|benches|conformance|echo|build\.rs)[^:]*:[0-9]+:[0-9]+: warning|^warning: unused|^ *--> (src|tests|examples|benches|conformance|echo)/' "$@" || true)
  if [ -n "$found" ]; then
    printf '%s\n' "$found" >&2
    echo "warnings in: $*" >&2
    return 1
  fi
}

sub "rust-version: the libraries with Rust 1.85 ($cross/msrv.sh)"
bash "$cross/msrv.sh" 1.85

sub "every target of the workspace for x86_64 macOS and FreeBSD"
bash "$cross/check.sh" --all-targets x86_64-apple-darwin x86_64-unknown-freebsd
no_warnings "$tdir"/cross-logs/check-x86_64-apple-darwin-all.log \
  "$tdir"/cross-logs/check-x86_64-unknown-freebsd-all.log

others=(aarch64-apple-darwin x86_64-unknown-netbsd x86_64-unknown-openbsd
  x86_64-unknown-dragonfly x86_64-unknown-illumos armv7-unknown-linux-gnueabihf
  aarch64-unknown-linux-gnu)
sub "the libraries for ${others[*]}"
bash "$cross/check.sh" "${others[@]}"
for t in "${others[@]}"; do
  no_warnings "$tdir/cross-logs/check-$t.log"
done

for t in i686-unknown-linux-gnu x86_64-unknown-linux-musl; do
  sub "cargo test on $t"
  bash "$cross/test.sh" "$t"
  no_warnings "$tdir/cross-logs/test-$t.log"
done
