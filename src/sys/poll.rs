//! `poll(2)`.

use super::check;
use crate::error::{Result, Subject};

/// One `poll(fds, nfds, timeout_ms)`. `EINTR` is returned as an error: the
/// caller retries with the remaining time.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> Result<usize> {
    let nfds = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()`
    // pollfd structures (nfds never exceeds it); the kernel writes only
    // `revents` within it.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
    let n = check(ret, "poll", || Subject::Nfds(fds.len()))?;
    Ok(usize::try_from(n).unwrap_or(0))
}
