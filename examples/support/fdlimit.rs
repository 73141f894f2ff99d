//! Raising the process's descriptor limit: written once for the examples,
//! the tests and the benches, each of which pulls this file in with
//! `#[path = ".../examples/support/fdlimit.rs"] mod fdlimit;`.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft `RLIMIT_NOFILE` to `want`, capped at the hard limit and
/// never lowered; returns the soft limit now in force. `u64::MAX` asks for
/// the hard limit.
///
/// Never fails: if raising is refused the old limit stays and is returned;
/// if the limits cannot be read at all (they always can on Linux), 1024,
/// the usual default soft limit, is assumed.
pub fn raise_fd_limit(want: u64) -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let target = want.min(hard).max(soft);
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_err() {
        return soft;
    }
    target
}
