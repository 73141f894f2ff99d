//! Timeouts for the readiness calls, one converter per unit: a `timespec`
//! (nanoseconds, exact) for `ppoll`/`pselect`/`epoll_pwait2`, and whole
//! milliseconds rounded up for `poll`/`epoll_wait`.
//!
//! Both take `Option<Duration>`, `None` meaning forever, and never shorten a
//! timeout except where it must be clamped to fit the kernel's type: seconds
//! stop at [`MAX_SECS`] (68 years), milliseconds at `c_int::MAX` (24.8
//! days). A clamped wait ends early only in the sense that the caller's
//! deadline loop (the event layer's `wait_with_deadline`) has to go round
//! again.

use std::time::Duration;

/// The largest `tv_sec` a timeout is given: `i32::MAX` seconds (68 years),
/// which every `time_t` holds (32-bit ones too) and no kernel refuses.
pub(crate) const MAX_SECS: u64 = i32::MAX.unsigned_abs() as u64;

/// A timeout as whole seconds and nanoseconds, exact, with the seconds
/// clamped to [`MAX_SECS`] (and the nanoseconds then dropped, as the
/// `timeval` conversion of the event layer does).
pub(crate) fn secs_nanos(t: Duration) -> (u64, u32) {
    let secs = t.as_secs();
    if secs >= MAX_SECS {
        (MAX_SECS, 0)
    } else {
        (secs, t.subsec_nanos())
    }
}

/// A timeout as a `timespec` for `ppoll(2)`/`pselect(2)`: `None` (forever)
/// stays `None`, which the wrappers pass as NULL; nanoseconds are exact, so
/// the kernel is never asked for less than `t`; seconds are clamped to
/// [`MAX_SECS`].
pub(crate) fn timeout_timespec(timeout: Option<Duration>) -> Option<libc::timespec> {
    let (secs, nanos) = secs_nanos(timeout?);
    // time_t and c_long are i64 on most targets, i32 on some. (musl marks
    // time_t deprecated to announce its move to 64 bits; either fits.)
    #[allow(clippy::unnecessary_fallible_conversions, deprecated)]
    Some(libc::timespec {
        // Both fit every target: secs <= i32::MAX, nanos < 1_000_000_000.
        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::try_from(nanos).unwrap_or(0),
    })
}

/// A timeout in whole milliseconds for `poll(2)`/`epoll_wait(2)`: rounded
/// up (1 ns is 1 ms), clamped to `c_int::MAX`, `None` → `-1` (forever).
///
/// This duplicates the event layer's `timeout_ms` (sys may not name the
/// layers above it); that one goes away once the event layer calls the
/// timespec wrappers, and this one is then the only millisecond rounding,
/// used where the kernel has nothing finer (the `epoll_wait` fallback of
/// `epoll_pwait2`, `poll` where there is no `ppoll`).
pub(crate) fn timeout_ms_up(timeout: Option<Duration>) -> libc::c_int {
    let Some(t) = timeout else { return -1 };
    let ms = t
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(t.subsec_nanos().div_ceil(1_000_000)));
    libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
}

/// What every wrapper's tests check, over a `wait` closure making one call
/// with a given timeout on fds of which the test controls one (readable
/// once a byte is written to `peer`).
#[cfg(test)]
pub(crate) mod suite {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::error::Result;

    /// The generous upper bound of every "returned in time" check: only a
    /// hang fails it, never a slow machine.
    pub(crate) const LATE: Duration = Duration::from_secs(1);

    /// Timeouts that catch truncation to µs or ms as well as rounding down.
    pub(crate) const TIMEOUTS: [Duration; 5] = [
        Duration::from_nanos(1),
        Duration::from_micros(100),
        Duration::from_nanos(999_999),
        Duration::from_micros(1_500),
        Duration::from_micros(3_100),
    ];

    /// A socket pair, both ends non-blocking: (watched end, peer).
    pub(crate) fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// Reads whatever is queued on the watched end.
    pub(crate) fn drain(mut a: &UnixStream) {
        let mut buf = [0u8; 64];
        while matches!(a.read(&mut buf), Ok(n) if n > 0) {}
    }

    /// With nothing ready, each timeout is waited out in full (never early)
    /// and the call returns 0 within [`LATE`] of it. Returns the shortest
    /// time a 100 µs wait took, of `tries`.
    pub(crate) fn never_early(
        mut wait: impl FnMut(Option<Duration>) -> Result<usize>,
        tries: usize,
    ) -> Duration {
        for t in TIMEOUTS {
            let start = Instant::now();
            let n = wait(Some(t)).unwrap();
            let took = start.elapsed();
            assert_eq!(n, 0, "nothing is ready ({t:?})");
            assert!(took >= t, "asked {t:?}, returned after {took:?}");
            assert!(took < t + LATE, "asked {t:?}, returned after {took:?}");
        }
        let t = Duration::from_micros(100);
        let mut shortest = Duration::MAX;
        for _ in 0..tries {
            let start = Instant::now();
            assert_eq!(wait(Some(t)).unwrap(), 0);
            let took = start.elapsed();
            assert!(took >= t, "asked {t:?}, returned after {took:?}");
            shortest = shortest.min(took);
        }
        shortest
    }

    /// A zero timeout is a poll: it returns 0 at once.
    pub(crate) fn zero_polls(mut wait: impl FnMut(Option<Duration>) -> Result<usize>) {
        let start = Instant::now();
        assert_eq!(wait(Some(Duration::ZERO)).unwrap(), 0);
        assert!(start.elapsed() < LATE);
    }

    /// With the fd ready, a long timeout returns 1 at once, and so does
    /// `None`.
    pub(crate) fn ready_returns_at_once(
        mut wait: impl FnMut(Option<Duration>) -> Result<usize>,
        a: &UnixStream,
        mut peer: &UnixStream,
    ) {
        peer.write_all(b"x").unwrap();
        for t in [Some(Duration::from_secs(5)), Some(Duration::ZERO), None] {
            let start = Instant::now();
            assert_eq!(wait(t).unwrap(), 1, "ready, timeout {t:?}");
            assert!(start.elapsed() < LATE, "{t:?}: {:?}", start.elapsed());
        }
        drain(a);
    }

    /// `None` waits until the fd becomes ready, from another thread 50 ms
    /// later, and no longer.
    pub(crate) fn forever_waits_for_readiness(
        mut wait: impl FnMut(Option<Duration>) -> Result<usize>,
        a: &UnixStream,
        peer: &UnixStream,
    ) {
        let delay = Duration::from_millis(50);
        let start = Instant::now();
        std::thread::scope(|s| {
            s.spawn(move || {
                std::thread::sleep(delay);
                let mut peer = peer;
                peer.write_all(b"x").unwrap();
            });
            assert_eq!(wait(None).unwrap(), 1);
        });
        let took = start.elapsed();
        assert!(took >= delay, "returned after {took:?}, before the write");
        assert!(took < delay + LATE, "returned after {took:?}");
        drain(a);
    }

    /// A signal caught while the call blocks makes it fail with
    /// `Interrupted` (the caller retries with the remaining time), not
    /// restart or wait the timeout out.
    pub(crate) fn signal_interrupts(mut wait: impl FnMut(Option<Duration>) -> Result<usize>) {
        use nix::sys::pthread::{pthread_kill, pthread_self};
        use nix::sys::signal::Signal;
        let caught = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&caught)).unwrap();
        // As an integer: pthread_t is a pointer on musl, not Sync.
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        let me = pthread_self() as usize;
        let done = AtomicBool::new(false);
        let start = Instant::now();
        let res = std::thread::scope(|s| {
            s.spawn(|| {
                // Until the call has failed: a signal that lands before the
                // call blocks interrupts nothing.
                for _ in 0..100 {
                    std::thread::sleep(Duration::from_millis(10));
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    #[allow(clippy::unnecessary_cast)]
                    pthread_kill(me as nix::sys::pthread::Pthread, Signal::SIGUSR1).unwrap();
                }
            });
            let res = wait(Some(Duration::from_secs(5)));
            done.store(true, Ordering::SeqCst);
            res
        });
        let err = res.expect_err("a caught signal ends the call");
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "{err}");
        assert!(caught.load(Ordering::SeqCst));
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tv_sec, tv_nsec) widened, whatever the target's types are.
    #[allow(clippy::unnecessary_cast)]
    fn ts(t: Duration) -> (i64, i64) {
        let ts = timeout_timespec(Some(t)).unwrap();
        (ts.tv_sec as i64, ts.tv_nsec as i64)
    }

    #[test]
    fn timespec_is_exact_and_clamps_seconds() {
        assert!(timeout_timespec(None).is_none(), "forever is NULL");
        assert_eq!(ts(Duration::ZERO), (0, 0));
        assert_eq!(ts(Duration::from_nanos(1)), (0, 1));
        assert_eq!(ts(Duration::from_nanos(999_999_999)), (0, 999_999_999));
        assert_eq!(ts(Duration::from_micros(100)), (0, 100_000));
        assert_eq!(ts(Duration::new(1, 999_999_999)), (1, 999_999_999));
        let max = i64::from(i32::MAX);
        assert_eq!(ts(Duration::new(MAX_SECS - 1, 7)), (max - 1, 7));
        assert_eq!(ts(Duration::from_secs(MAX_SECS)), (max, 0));
        assert_eq!(ts(Duration::new(u64::MAX, 999_999_999)), (max, 0));
        assert_eq!(ts(Duration::MAX), (max, 0));
    }

    #[test]
    fn ms_rounds_up_and_clamps() {
        assert_eq!(timeout_ms_up(None), -1);
        assert_eq!(timeout_ms_up(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms_up(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms_up(Some(Duration::from_micros(100))), 1);
        assert_eq!(timeout_ms_up(Some(Duration::from_nanos(999_999))), 1);
        assert_eq!(timeout_ms_up(Some(Duration::from_millis(1))), 1);
        assert_eq!(timeout_ms_up(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms_up(Some(Duration::from_micros(3100))), 4);
        assert_eq!(timeout_ms_up(Some(Duration::new(1, 999_999_999))), 2000);
        assert_eq!(timeout_ms_up(Some(Duration::MAX)), libc::c_int::MAX);
        let just_over = Duration::from_millis(libc::c_int::MAX as u64 + 1);
        assert_eq!(timeout_ms_up(Some(just_over)), libc::c_int::MAX);
    }
}
