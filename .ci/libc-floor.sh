#!/usr/bin/env bash
# Builds the library against the oldest libc its manifest allows and runs
# the one test that needs no dev-dependency (tests/net_msg_fds.rs: every
# received descriptor owned and closed, the control-message walk included).
# The dev-dependencies need a newer libc (mio), so they are left out of a
# scratch copy; the real tree and its Cargo.lock are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(sed -n 's/^libc = "\(0\.2\.[0-9]*\)"$/\1/p' Cargo.toml)
[ -n "$floor" ] || { echo "libc requirement not found in Cargo.toml" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sockpoll-libc-floor.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r build.rs src "$work"/
mkdir -p "$work/tests"
cp tests/net_msg_fds.rs "$work/tests/"
cp README.md "$work/"
# The manifest up to [dev-dependencies], without the workspace and with
# only this test target.
awk '/^\[workspace\]/{skip=1} /^\[dependencies\]/{skip=0} /^\[dev-dependencies\]/{exit} !skip' Cargo.toml >"$work/Cargo.toml"
# and the lints (the check-cfg of `cfg(fuzzing)` among them).
awk '/^\[lints/{p=1} /^\[\[/{p=0} p' Cargo.toml >>"$work/Cargo.toml"
cat >>"$work/Cargo.toml" <<'TOML'

[[test]]
name = "net_msg_fds"
harness = false
TOML
cd "$work"
cargo generate-lockfile --quiet
# With the newest nix 0.31 that accepts the floor (nix raises its own
# libc requirement from release to release).
until cargo update --quiet -p libc --precise "$floor" 2>/dev/null; do
  nix=$(sed -n '/^name = "nix"/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
  [ "${nix##*.}" -gt 0 ] || { echo "no nix 0.31 accepts libc $floor" >&2; exit 1; }
  cargo update --quiet -p nix --precise "${nix%.*}.$((${nix##*.} - 1))"
done
echo "libc $(sed -n '/^name = "libc"/{n;s/version = //p}' Cargo.lock | tr -d '"'), nix $(sed -n '/^name = "nix"/{n;s/version = //p}' Cargo.lock | tr -d '"')"
CARGO_TARGET_DIR="${LIBC_FLOOR_TARGET:-$work/target}" cargo test --quiet --test net_msg_fds
