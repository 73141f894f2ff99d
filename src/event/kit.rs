//! What the backends share, crate-private: the [`Backend`] trait and the
//! `Selector` methods written once from it, the wait loop with its fixed
//! deadline and `EINTR` policy, the lock helper, the selector's own
//! [`Notifier`], the registry's errors, and the translation between a
//! registration and a `pollfd` that `poll`, `select` and `uring` use.
//! Nothing here is public; a backend is one file in `event/` built from
//! these, `types`, `registry` and `sys`.

use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use super::registry::{Entry, Registry};
use super::{flags, Interest, LoopMeter, Mode, Selector, Waker};
use crate::error::{Error, Result, Subject};

/// What the [`Selector`] methods every backend shares need from a backend;
/// see `shared_selector_methods!`.
pub(crate) trait Backend: Selector {
    /// What the backend keeps per registration beside the shared fields
    /// (see `registry`).
    type Extra: Copy;

    /// [`Selector::name`].
    const NAME: &'static str;

    /// Whether the backend has [`Mode::Edge`] and [`Mode::EdgeOneshot`].
    /// [`Mode::Level`] and [`Mode::Oneshot`] work on every backend.
    const EDGE: bool;

    /// Whether the backend has [`Interest::EXCLUSIVE`] (`EPOLLEXCLUSIVE`:
    /// epoll, and io_uring's poll requests).
    const EXCLUSIVE: bool;

    /// Runs `f` on the backend's registry, under the backend's lock.
    fn with_registry<R>(&self, f: impl FnOnce(&Registry<Self::Extra>) -> R) -> R;

    /// The backend's own wake-up, in its kernel set.
    fn notifier(&self) -> &Notifier;

    /// The counters [`Selector::metrics`] reads; [`wait_with_deadline`]
    /// keeps them.
    fn meter(&self) -> &LoopMeter;

    /// The check `register` and `reregister` start with: `Ok` for a mode
    /// [`supports`](Selector::supports) accepts and an interest the backend
    /// can honour, else [`Error::Unsupported`] naming `call` and what was
    /// refused.
    fn check_mode(&self, call: &'static str, mode: Mode, interest: Interest) -> Result<()> {
        let refused = if !self.supports(mode) {
            Some(mode.name())
        } else if interest.is_exclusive() && !Self::EXCLUSIVE {
            Some("Interest::EXCLUSIVE")
        } else if interest.is_exclusive() && mode.is_oneshot() {
            Some("Interest::EXCLUSIVE with a oneshot mode")
        } else if interest.is_exclusive() && interest.is_priority() {
            Some("Interest::EXCLUSIVE with Interest::PRIORITY")
        } else if interest.is_exclusive() && interest.is_none() {
            // "Nothing, exclusively": the kernel refuses it (epoll adds
            // EPOLLONESHOT for NONE, which EPOLLEXCLUSIVE excludes).
            Some("Interest::EXCLUSIVE without READABLE or WRITABLE")
        } else {
            None
        };
        match refused {
            None => Ok(()),
            Some(what) => Err(Error::Unsupported {
                call,
                backend: Self::NAME,
                what,
            }),
        }
    }
}

/// The [`Selector`] methods that are the same on every backend, written
/// once: `next_event`, `notify`, `name`, `metrics` and `supports`, from the backend's
/// [`Backend`] impl. Invoke it in the backend's `impl Selector`, after
/// `wait` (the trait's order).
///
/// A macro because nothing else makes one copy at no cost: a provided
/// method of `Selector` cannot reach a backend's registry (the trait is
/// public and object safe, and other crates implement it), and a blanket
/// `impl<B: Backend> Selector for B` is refused as overlapping
/// `impl Selector for Box<S>` (E0119), besides taking the place of the
/// backends' own documented methods. The expansion is the code each
/// backend spelled out before.
macro_rules! shared_selector_methods {
    () => {
        fn next_event(
            &self,
            events: &mut $crate::event::Events,
        ) -> ::std::option::Option<$crate::event::Event> {
            $crate::event::Backend::with_registry(self, |reg| {
                events.next_current(|fd, generation| reg.is_current(fd, generation))
            })
        }

        fn notify(&self) -> $crate::error::Result<()> {
            $crate::event::Backend::notifier(self).notify()
        }

        fn name(&self) -> &'static str {
            <Self as $crate::event::Backend>::NAME
        }

        fn metrics(&self) -> $crate::event::LoopMetrics {
            $crate::event::Backend::meter(self).read()
        }

        fn supports(&self, mode: $crate::event::Mode) -> bool {
            <Self as $crate::event::Backend>::EDGE || !mode.is_edge()
        }
    };
}
pub(crate) use shared_selector_methods;

/// The wait loop every backend shares: a fixed deadline, `EINTR` retried
/// with the remaining time, and no early return when nothing was delivered.
///
/// `once(remaining)` makes one system call (`None` = forever) and says what
/// came of it: `Ok(Some(n))` ends the wait with `n` events (0 only when the
/// selector was notified), `Ok(None)` means "nothing for the caller": the
/// kernel timed out, every event it reported was filtered (stale, or for
/// nothing the registration asked for), or another thread changed the
/// registrations and the sets must be rebuilt. Then the wait goes on with
/// the remaining time — forever for `None` — and only `Some(Duration::ZERO)`
/// returns 0 after one call.
///
/// The clock is read only where the answer depends on it: never for `None`
/// or `Some(0)` (the hot `wait(0)` of a busy loop), and for other timeouts
/// once to fix the deadline, then again only after an `EINTR` or an empty
/// return (two clock reads per call are a measurable part of an epoll
/// `wait(0)`: BENCHMARKS.md).
///
/// Every wait is counted in `meter` (the selector's
/// [`LoopMetrics`](super::LoopMetrics)): one wait, the events it returns,
/// and the time each system call took unless the timeout is zero.
pub(crate) fn wait_with_deadline(
    meter: &LoopMeter,
    timeout: Option<Duration>,
    on_signal: OnSignal,
    mut once: impl FnMut(Option<Duration>) -> Result<Option<usize>>,
) -> Result<usize> {
    let result = deadline_loop(timeout, on_signal, |t| meter.blocked(t, || once(t)));
    // Waits run one at a time (each backend holds its waiter's lock).
    meter.record_as_sole_writer(*result.as_ref().unwrap_or(&0));
    result
}

/// [`wait_with_deadline`] without the counting.
fn deadline_loop(
    timeout: Option<Duration>,
    on_signal: OnSignal,
    mut once: impl FnMut(Option<Duration>) -> Result<Option<usize>>,
) -> Result<usize> {
    // EINTR goes round again, unless the caller asked for it
    // (`Selector::wait_interruptible`): then it ends the wait as an error.
    let interrupted =
        |e: &Error| on_signal == OnSignal::Restart && e.kind() == std::io::ErrorKind::Interrupted;
    let Some(t) = timeout else {
        // Forever: the timeout never changes, so EINTR and an empty (all
        // filtered) batch just go round again.
        loop {
            match once(None) {
                Ok(Some(n)) => return Ok(n),
                Ok(None) => {}
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(e),
            }
        }
    };
    if t.is_zero() {
        // A poll: one look, repeated only when a signal cut it short.
        loop {
            match once(timeout) {
                Ok(n) => return Ok(n.unwrap_or(0)),
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    // `None`: too far away to represent; wait in clamped steps forever.
    let deadline = Instant::now().checked_add(t);
    let mut remaining = t;
    loop {
        match once(Some(remaining)) {
            Ok(Some(n)) => return Ok(n),
            Ok(None) => {}
            Err(e) if interrupted(&e) => {}
            Err(e) => return Err(e),
        }
        // A signal, a batch with nothing to deliver, or a kernel timer that
        // fired a hair before our clock says so: go round again for the
        // rest, so a wait is never short.
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            remaining = deadline - now;
        }
    }
}

/// What a signal that interrupts the system call of a `wait` does: the
/// default restarts it with the remaining time; `wait_interruptible` ends
/// the wait with the `EINTR` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSignal {
    Restart,
    Return,
}

/// A mutex guard even if a thread panicked while holding it: the state
/// under these locks is kept consistent at every step, so a panic elsewhere
/// (in a caller's code, never in ours) does not make it unusable.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The selector's own wake-up, in its kernel set: written by [`Selector::notify`]
/// and by a registration change that a blocked wait must see (poll and
/// select rebuild their sets; epoll replaces its instance). `notified`
/// tells the two apart, so that only `notify` ends the wait.
#[derive(Debug)]
pub(crate) struct Notifier {
    waker: Waker,
    notified: std::sync::atomic::AtomicBool,
}

impl Notifier {
    pub(crate) fn new() -> Result<Notifier> {
        Ok(Notifier {
            waker: Waker::new()?,
            notified: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The descriptor the backend watches for readability.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.waker.as_fd()
    }

    /// Wakes the waiter so that it looks at the registrations again.
    pub(crate) fn wake(&self) -> Result<()> {
        self.waker.wake()
    }

    /// Wakes the waiter when `blocked` says one is in (or entering) its
    /// system call with sets built before the change just made.
    pub(crate) fn wake_if(&self, blocked: bool) -> Result<()> {
        if blocked {
            self.wake()?;
        }
        Ok(())
    }

    /// [`Selector::notify`]: wakes the waiter and ends its wait.
    pub(crate) fn notify(&self) -> Result<()> {
        self.notified
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.waker.wake()
    }

    /// After the fd was seen readable: drains it, and says whether a
    /// `notify` (rather than a registration change) was among the wakes.
    pub(crate) fn take(&self) -> Result<bool> {
        self.waker.reset()?;
        Ok(self
            .notified
            .swap(false, std::sync::atomic::Ordering::SeqCst))
    }
}

/// The `EEXIST`/`ENOENT` errors shared by every backend's registry.
pub(crate) fn registry_error(call: &'static str, fd: RawFd, errno: i32) -> Error {
    Error::errno(call, Subject::Fd(fd), errno)
}

/// `POLLRDHUP` where the kernel has it (a peer's shutdown of its write
/// side), else nothing: read-closed then comes from `POLLHUP` only.
#[cfg(linux_like)]
pub(crate) const POLLRDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(linux_like))]
pub(crate) const POLLRDHUP: libc::c_short = 0;

/// The `pollfd` of registration `e` of number `fd` (`poll`'s array, and
/// `uring`'s level probe): its interest as `POLL*` bits, or `fd` -1 when
/// the registration is disarmed or asks for nothing.
pub(crate) fn pollfd(fd: libc::c_int, e: &Entry) -> libc::pollfd {
    let mut events = 0;
    if e.interest.is_readable() {
        events |= libc::POLLIN | POLLRDHUP;
    }
    if e.interest.is_writable() {
        events |= libc::POLLOUT;
    }
    if e.interest.is_priority() {
        events |= libc::POLLPRI;
    }
    libc::pollfd {
        // NONE is left out, like a disarmed fd: poll reports hang-ups and
        // errors unasked, and NONE delivers nothing.
        fd: if e.armed && !e.interest.is_none() {
            fd
        } else {
            -1
        },
        events,
        revents: 0,
    }
}

/// `revents` as event flags, for a registration asking `interest` (the
/// io_uring backend reads the same bits from its poll completions).
/// Nothing for [`Interest::NONE`], which delivers nothing, not even the
/// hang-ups and errors `poll` reports unasked.
pub(crate) fn to_flags(revents: libc::c_short, interest: Interest) -> u8 {
    if interest.is_none() {
        return 0;
    }
    let has = |bits: libc::c_short| revents & bits != 0;
    let mut f = 0;
    if interest.is_readable() && has(libc::POLLIN | libc::POLLHUP | libc::POLLERR | POLLRDHUP) {
        f |= flags::READABLE;
    }
    if interest.is_writable() && has(libc::POLLOUT | libc::POLLERR | libc::POLLHUP) {
        f |= flags::WRITABLE;
    }
    if interest.is_priority() && has(libc::POLLPRI) {
        f |= flags::PRIORITY;
    }
    if has(libc::POLLERR) {
        f |= flags::ERROR;
    }
    if has(libc::POLLHUP | POLLRDHUP) {
        f |= flags::READ_CLOSED;
    }
    if has(libc::POLLHUP) {
        f |= flags::WRITE_CLOSED;
    }
    if has(libc::POLLNVAL) {
        f |= flags::INVALID;
    }
    f
}

/// Whether the file at number `fd` is still the registered one (one
/// `fstat` per delivered event: the price of never reporting a reused
/// number's new file under the old registration).
pub(crate) fn same_file(fd: libc::c_int, registered: Option<crate::sys::fd::FileId>) -> bool {
    registered.is_none() || crate::sys::fd::identity_of_number(fd) == registered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Subject;

    #[test]
    fn wait_loop_passes_zero_and_forever_through_and_shrinks_the_rest() {
        // Some(0): one call with a zero timeout (an EINTR repeats it as is).
        let mut seen = Vec::new();
        let n = deadline_loop(Some(Duration::ZERO), OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() == 1 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(None)
            }
        })
        .unwrap();
        assert_eq!((n, seen), (0, vec![Some(Duration::ZERO); 2]));
        // None: forever, unchanged across EINTR.
        let mut seen = Vec::new();
        let n = deadline_loop(None, OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() < 3 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(Some(1))
            }
        })
        .unwrap();
        assert_eq!((n, seen), (1, vec![None; 3]));
        // A finite timeout: the first call gets all of it, a retry only the rest.
        let mut seen = Vec::new();
        let n = deadline_loop(Some(Duration::from_secs(60)), OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() == 1 {
                std::thread::sleep(Duration::from_millis(5));
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(Some(2))
            }
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(seen[0], Some(Duration::from_secs(60)));
        assert!(
            seen[1].is_some_and(|rest| rest <= Duration::from_secs(60) - Duration::from_millis(5))
        );
    }

    /// `wait(None)` returned `Ok(0)` as soon as one kernel batch had nothing
    /// to deliver (every event filtered as stale): an event loop calling it
    /// spun. Forever means until something is delivered.
    #[test]
    fn wait_forever_goes_on_after_an_empty_batch() {
        let mut calls = 0;
        let n = deadline_loop(None, OnSignal::Restart, |t| {
            assert_eq!(t, None);
            calls += 1;
            Ok(if calls < 4 { None } else { Some(2) })
        })
        .unwrap();
        assert_eq!((n, calls), (2, 4));
        // A finite timeout goes on too (with the rest of the time), and a
        // poll does not.
        let mut calls = 0;
        let n = deadline_loop(Some(Duration::from_secs(60)), OnSignal::Restart, |_| {
            calls += 1;
            Ok(if calls < 3 { None } else { Some(1) })
        })
        .unwrap();
        assert_eq!((n, calls), (1, 3));
        let mut calls = 0;
        let n = deadline_loop(Some(Duration::ZERO), OnSignal::Restart, |_| {
            calls += 1;
            Ok(None)
        })
        .unwrap();
        assert_eq!((n, calls), (0, 1));
    }

    #[test]
    fn wait_loop_retries_eintr_and_never_returns_early() {
        let mut calls = 0;
        let start = Instant::now();
        let n = deadline_loop(Some(Duration::from_millis(20)), OnSignal::Restart, |_| {
            calls += 1;
            if calls < 3 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(None)
            }
        })
        .unwrap();
        assert_eq!(n, 0);
        assert!(calls >= 3);
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Other errors end the wait.
        let err = deadline_loop(None, OnSignal::Restart, |_| {
            Err(Error::errno("poll", Subject::None, libc::ENOMEM))
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOMEM));
    }
}
