//! `poll(2)` and `ppoll(2)`.

use std::time::Duration;

use super::check;
use super::time;
use crate::error::{Result, Subject};

/// One `poll(fds, nfds, timeout_ms)`. `EINTR` is returned as an error: the
/// caller retries with the remaining time. [`ppoll`] makes it when the
/// timeout needs no more than milliseconds, and where there is no `ppoll`;
/// `Socket::connect` waits on it for a connect to complete.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> Result<usize> {
    let nfds = nfds(fds);
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()`
    // pollfd structures (nfds never exceeds it); the kernel writes only
    // `revents` within it.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
    let n = check(ret, "poll", || Subject::Nfds(fds.len()))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// `fds.len()` as an `nfds_t`, clamped (never more than the slice holds).
fn nfds(fds: &[libc::pollfd]) -> libc::nfds_t {
    libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX)
}

/// The granularity [`ppoll`] rounds timeouts up to: 1 ns where the system
/// has `ppoll(2)`, 1 ms where [`ppoll`] falls back to `poll(2)`.
pub(crate) const PPOLL_RESOLUTION: Duration = if HAVE_PPOLL {
    Duration::from_nanos(1)
} else {
    Duration::from_millis(1)
};

/// Whether this target has `ppoll(2)` (the BSDs and Linux do; Apple's
/// systems and some others do not).
const HAVE_PPOLL: bool = cfg!(has_ppoll);

/// One `ppoll(fds, nfds, timeout, NULL)`: the timeout is exact to the
/// nanosecond (`None` = NULL = forever; seconds clamped as
/// [`timeout_timespec`](time::timeout_timespec) says), and the signal mask
/// is left alone. `EINTR` is returned as an error: the caller retries with
/// the remaining time.
///
/// Where the system has no `ppoll` (see [`PPOLL_RESOLUTION`]) this is one
/// `poll` with the timeout rounded up to whole milliseconds: as long or
/// longer, never shorter.
pub(crate) fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize> {
    // Forever, a poll, or whole milliseconds: `poll` says exactly the same
    // and costs less (measured: the `wait` bench's wait(0)).
    if !matches!(timeout, Some(t) if t.subsec_nanos() % 1_000_000 != 0) {
        return poll(fds, time::timeout_ms_up(timeout));
    }
    #[cfg(has_ppoll)]
    {
        let nfds = nfds(fds);
        let ts = time::timeout_timespec(timeout);
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `fds` is a valid, exclusively borrowed array of
        // `fds.len()` pollfd structures (nfds never exceeds it), of which
        // the kernel writes only `revents`; `ts_ptr` is NULL or points to
        // the live local `ts`, which is only read; a NULL sigmask leaves
        // the thread's mask as it is.
        let ret = unsafe { libc::ppoll(fds.as_mut_ptr(), nfds, ts_ptr, std::ptr::null()) };
        let n = check(ret, "ppoll", || Subject::Nfds(fds.len()))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
    #[cfg(not(has_ppoll))]
    {
        poll(fds, time::timeout_ms_up(timeout))
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use super::time::suite;
    use super::*;

    fn pollfd(a: &UnixStream) -> libc::pollfd {
        libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }
    }

    /// One `ppoll` on `a` for readability.
    fn ppoll_on(a: &UnixStream) -> impl FnMut(Option<Duration>) -> Result<usize> + '_ {
        move |t| {
            let mut fds = [pollfd(a)];
            let n = ppoll(&mut fds, t)?;
            assert_eq!(n != 0, fds[0].revents & libc::POLLIN != 0);
            Ok(n)
        }
    }

    #[test]
    fn ppoll_never_returns_early() {
        let (a, _peer) = suite::pair();
        let shortest = suite::never_early(ppoll_on(&a), 10);
        if PPOLL_RESOLUTION < Duration::from_millis(1) {
            // Rounded up to 1 ms, every one would take at least that.
            assert!(
                shortest < Duration::from_millis(1),
                "100 µs waits took {shortest:?} at best: rounded to ms?"
            );
        }
        suite::zero_polls(ppoll_on(&a));
    }

    #[test]
    fn ppoll_returns_at_once_when_ready() {
        let (a, peer) = suite::pair();
        suite::ready_returns_at_once(ppoll_on(&a), &a, &peer);
    }

    #[test]
    fn ppoll_forever_waits_for_readiness() {
        let (a, peer) = suite::pair();
        suite::forever_waits_for_readiness(ppoll_on(&a), &a, &peer);
    }

    #[test]
    fn ppoll_interrupted_by_a_signal() {
        let (a, _peer) = suite::pair();
        suite::signal_interrupts(ppoll_on(&a));
    }

    /// The millisecond `poll` (the fallback where there is no `ppoll`)
    /// never returns early either, and takes at least the whole ms.
    #[test]
    fn poll_rounded_up_never_returns_early() {
        let (a, _peer) = suite::pair();
        let shortest = suite::never_early(|t| poll(&mut [pollfd(&a)], time::timeout_ms_up(t)), 10);
        assert!(shortest >= Duration::from_millis(1), "{shortest:?}");
    }

    #[test]
    fn ppoll_on_no_fds_just_sleeps() {
        let t = Duration::from_micros(300);
        let start = std::time::Instant::now();
        assert_eq!(ppoll(&mut [], Some(t)).unwrap(), 0);
        assert!(start.elapsed() >= t);
    }
}
