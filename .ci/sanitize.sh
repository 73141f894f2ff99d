#!/usr/bin/env bash
# AddressSanitizer (with LeakSanitizer) over the tests that exercise
# src/sys/: message I/O and batches, sockets and addresses, io_uring, epoll,
# nesting, and the conformance suite on every backend. The toolchain's own
# compiler does it (RUSTC_BOOTSTRAP=1 lets stable take -Zsanitizer); --target
# keeps the flags off build scripts and proc-macros. A finding aborts the
# test binary, which fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CARGO_TARGET_DIR="${SANITIZE_TARGET_DIR:-target/asan}"
cargo test --locked --target "$host" --lib \
  --test net_msg --test net_mmsg --test net_msg_fds --test net_mmsg_alloc \
  --test net_socket --test net_addr --test net_udp --test net_unix \
  --test event_uring --test event_epoll --test event_nesting --test conformance
