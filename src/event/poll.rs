//! The `poll(2)` backend.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use super::kit::{pollfd, same_file, to_flags};
use super::registry::Registry;
use super::{
    flags, lock, shared_selector_methods, wait_with_deadline, Backend, Event, Events, Interest,
    LoopMeter, Mode, Notifier, OnSignal, Selector, Token,
};
use crate::error::Result;

/// Readiness with [`poll(2)`](https://man7.org/linux/man-pages/man2/poll.2.html).
///
/// Keeps one `pollfd` array, rebuilt only when fds are added or removed, and
/// passes all of it on every `wait`: cost grows with the number of
/// registered fds. No fd-number limit. Modes: [`Mode::Level`] and
/// [`Mode::Oneshot`] (emulated: after one event the fd's slot is set to
/// `-1`, which `poll` skips, until `reregister`). [`Mode::Edge`] is
/// [`Unsupported`](crate::error::Error::Unsupported). The wait is `ppoll(2)`:
/// timeouts exact to the nanosecond (where a system has no `ppoll`, `poll`
/// with timeouts rounded up to whole milliseconds).
///
/// A registered fd that gets closed is reported once with
/// [`is_invalid`](Event::is_invalid) (`POLLNVAL`) and then left out of the
/// array; the number stays registered until it is deregistered or
/// registered for another file. `poll` knows only the number: a number
/// closed and reused before a `wait` saw it closed is watched, under the
/// old registration, as whatever file now holds it, until then (see
/// [Closing, dup and fork](Selector#closing-dup-and-fork)).
///
/// # Threads
///
/// The `pollfd` array belongs to the waiting thread (its lock is the
/// one-waiter-at-a-time rule); the registry has a lock of its own. A change
/// made while no thread waits updates the array in place, as before; a
/// change made while a thread is blocked in `poll` marks the array for a
/// rebuild and wakes the waiter through an eventfd (a pipe elsewhere) kept
/// in slot 0 of the array, which rebuilds and polls again for the remaining
/// time. [`notify`](Selector::notify) writes to the same eventfd.
#[doc(alias = "poll")]
#[derive(Debug)]
pub struct PollSelector {
    shared: Mutex<Shared>,
    waiter: Mutex<Waiter>,
    notifier: Notifier,
    /// [`Selector::metrics`].
    meter: LoopMeter,
}

/// What registration calls and the waiter share, under one lock.
#[derive(Debug, Default)]
struct Shared {
    reg: Registry,
    /// fds were added or removed, or changed while a thread waited: the
    /// waiter's array needs a rebuild.
    dirty: bool,
    /// A thread is in (or about to enter) `poll` with the array as it was
    /// when it last looked: a change must wake it.
    blocked: bool,
}

/// The waiting thread's own state.
#[derive(Debug, Default)]
struct Waiter {
    /// Slot 0 is the notifier; registration `slot` is at `slot + 1`.
    fds: Vec<libc::pollfd>,
    /// Where the next scan of the array starts, so that with more ready fds
    /// than room in `Events` every fd gets its turn.
    start: usize,
}

impl Shared {
    /// After a change: the waiter must see it. Returns whether a blocked
    /// waiter has to be woken.
    fn touch(&mut self) -> bool {
        self.dirty = true;
        self.blocked
    }
}

impl PollSelector {
    /// Creates an empty selector, with the eventfd (a pipe elsewhere) that
    /// wakes its waiter.
    ///
    /// # Errors
    ///
    /// The kernel's error from `eventfd`/`pipe`, e.g. `EMFILE`.
    pub fn new() -> Result<PollSelector> {
        Ok(PollSelector {
            shared: Mutex::new(Shared {
                dirty: true,
                ..Shared::default()
            }),
            waiter: Mutex::new(Waiter::default()),
            notifier: Notifier::new()?,
            meter: LoopMeter::new(),
        })
    }

    /// After a change to `fd`'s registration: updates the waiter's array in
    /// place when no thread waits, else marks it for a rebuild and wakes
    /// the waiter.
    fn sync(&self, shared: &mut Shared, fd: BorrowedFd<'_>) -> Result<()> {
        if !shared.dirty {
            if let Ok(mut waiter) = self.waiter.try_lock() {
                let raw = fd.as_raw_fd();
                if let Some(e) = shared.reg.get(raw) {
                    if let Some(p) = waiter.fds.get_mut(e.slot + 1) {
                        *p = pollfd(raw, e);
                        return Ok(());
                    }
                }
            }
        }
        self.notifier.wake_if(shared.touch())
    }

    /// `deregister` and `deregister_raw`: only the registry knows the
    /// number, so whatever file is there now (or none) does not matter.
    fn deregister_raw_as(&self, call: &'static str, fd: RawFd) -> Result<()> {
        let mut shared = lock(&self.shared);
        shared.reg.remove(call, fd)?;
        self.notifier.wake_if(shared.touch())
    }

    /// Rebuilds the array from the registry: the notifier, then one slot
    /// per registration in registry order.
    fn rebuild(&self, shared: &Shared, waiter: &mut Waiter) {
        waiter.fds.clear();
        waiter.fds.push(libc::pollfd {
            fd: self.notifier.fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for &fd in shared.reg.dense() {
            if let Some(e) = shared.reg.get(fd) {
                waiter.fds.push(pollfd(fd, e));
            }
        }
    }
}

impl PollSelector {
    /// After `ppoll` reported `ready` slots: the notifier, then the
    /// registrations' events into `events`, starting where the last scan
    /// stopped. The array may predate a change another thread made while
    /// this one was in `ppoll` (it is rebuilt at the next round); each slot
    /// is read against the registration as it is *now*, so a registration
    /// changed to `Interest::NONE`, or disarmed, meanwhile gets nothing.
    fn scan(
        &self,
        shared: &mut Shared,
        waiter: &mut Waiter,
        events: &mut Events,
        ready: usize,
    ) -> Result<Option<usize>> {
        let Waiter { fds, start } = waiter;
        let mut notified = false;
        let mut unseen = ready;
        if let Some(p) = fds.first_mut() {
            if p.revents != 0 {
                p.revents = 0;
                unseen -= 1;
                notified = self.notifier.take()?;
            }
        }
        let len = fds.len();
        let first = if *start < len && *start > 0 {
            *start
        } else {
            1
        };
        // poll counted the entries with revents set: stop once they are all
        // seen instead of scanning the whole array.
        for i in (first..len).chain(1..first) {
            if unseen == 0 {
                break;
            }
            let p = &mut fds[i];
            if p.revents == 0 {
                continue;
            }
            unseen -= 1;
            if p.fd < 0 {
                continue;
            }
            let Some(e) = shared.reg.get_mut(p.fd).filter(|e| e.armed) else {
                continue;
            };
            let f = to_flags(p.revents, e.interest);
            p.revents = 0;
            if f == 0 {
                continue;
            }
            if e.file.is_none() {
                // Its identity could not be read at `register`: the file
                // at the number now is taken for the one the caller named.
                e.file = crate::sys::fd::identity_of_number(p.fd);
            } else if f & flags::INVALID == 0 && !same_file(p.fd, e.file) {
                // The registered fd was closed and its number reused
                // before any wait saw it closed: this readiness is
                // another file's. Never the old token for it; stop
                // watching the number until it is registered again.
                e.armed = false;
                p.fd = -1;
                continue;
            }
            if !events.push(Event::new(e.token, f, p.fd, e.generation)) {
                break;
            }
            if e.mode.is_oneshot() || f & flags::INVALID != 0 {
                e.armed = false;
                p.fd = -1;
            }
            *start = i + 1;
        }
        Ok((notified || !events.is_empty()).then_some(events.len()))
    }
}

impl PollSelector {
    /// [`Selector::wait`] and [`Selector::wait_interruptible`]: they
    /// differ only in what a signal does (`on_signal`).
    fn wait_as(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        on_signal: OnSignal,
    ) -> Result<usize> {
        let mut waiter = lock(&self.waiter);
        // At most one event per registered fd.
        events.prepare(lock(&self.shared).reg.dense().len());
        wait_with_deadline(&self.meter, timeout, on_signal, |remaining| {
            {
                let mut shared = lock(&self.shared);
                if shared.dirty {
                    self.rebuild(&shared, &mut waiter);
                    shared.dirty = false;
                }
                shared.blocked = true;
            }
            let polled = crate::sys::poll::ppoll(&mut waiter.fds, remaining);
            let mut shared = lock(&self.shared);
            shared.blocked = false;
            let ready = polled?;
            if ready == 0 {
                return Ok(None);
            }
            self.scan(&mut shared, &mut waiter, events, ready)
        })
    }
}

impl Backend for PollSelector {
    type Extra = ();
    const NAME: &'static str = "poll";
    const EDGE: bool = false;
    const EXCLUSIVE: bool = false;

    fn with_registry<R>(&self, f: impl FnOnce(&Registry<()>) -> R) -> R {
        f(&lock(&self.shared).reg)
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn meter(&self) -> &LoopMeter {
        &self.meter
    }
}

impl Selector for PollSelector {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("register", mode, interest)?;
        let file = crate::sys::fd::identity(fd).ok();
        let mut shared = lock(&self.shared);
        // A stale registration of the number (its file closed, the number
        // now `fd`'s) is replaced; the array is rebuilt either way.
        shared
            .reg
            .insert("register", fd, file, token, interest, mode, ())?;
        self.notifier.wake_if(shared.touch())
    }

    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("reregister", mode, interest)?;
        let mut shared = lock(&self.shared);
        // No fstat here: this is oneshot's re-arm, once per event, and an
        // fstat would cost more than the rest of it. The recorded identity
        // is kept, and `wait` compares the file at the number with it at the
        // next event (the fstat it makes anyway, see `same_file`): a number
        // closed and reused since is never reported under this token, and
        // `register` of the new file replaces the registration.
        let file = shared.reg.require("reregister", fd.as_raw_fd())?.file;
        shared
            .reg
            .update("reregister", fd, file, token, interest, mode, ())?;
        self.sync(&mut shared, fd)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.deregister_raw_as("deregister", fd.as_raw_fd())
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        self.deregister_raw_as("deregister_raw", fd)
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        let mut shared = lock(&self.shared);
        let n = shared.reg.remove_token("deregister_token", token)?;
        self.notifier.wake_if(shared.touch())?;
        Ok(n)
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Restart)
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Return)
    }

    shared_selector_methods!();

    fn fd_limit(&self) -> Option<usize> {
        None
    }

    fn timeout_resolution(&self) -> Duration {
        crate::sys::poll::PPOLL_RESOLUTION
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;
    use crate::event::kit::POLLRDHUP;

    /// Another thread re-registers an fd to `Interest::NONE` while the
    /// waiter is in `ppoll` with the old array, and the peer hangs up in the
    /// same moment: the waiter's scan of that array must not hand the
    /// hang-up out (NONE delivers nothing). Staged by hand: this thread
    /// holds the waiter's lock (as a blocked waiter does), so the change
    /// only marks the array for a rebuild, and then the scan runs with the
    /// revents `ppoll` would have returned.
    #[test]
    fn a_registration_changed_to_none_during_a_wait_gets_nothing() {
        let sel = PollSelector::new().unwrap();
        let (a, _peer) = UnixStream::pair().unwrap();
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        let mut events = Events::with_capacity(4);
        assert_eq!(sel.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
        let mut waiter = lock(&sel.waiter);
        sel.reregister(a.as_fd(), Token(1), Interest::NONE, Mode::Level)
            .unwrap();
        let slot = lock(&sel.shared).reg.get(a.as_raw_fd()).unwrap().slot + 1;
        assert_eq!(
            waiter.fds[slot].fd,
            a.as_raw_fd(),
            "the array is the old one"
        );
        waiter.fds[slot].revents = libc::POLLIN | libc::POLLHUP | POLLRDHUP;
        events.prepare(2);
        let mut shared = lock(&sel.shared);
        let got = sel.scan(&mut shared, &mut waiter, &mut events, 1).unwrap();
        assert_eq!(got, None, "{events:?}");
        assert!(events.is_empty(), "{events:?}");
    }
}
